package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// maxDialBackoff caps the wait between two dial attempts.
const maxDialBackoff = 10 * time.Second

// sshClientConfig builds the authentication for one hop. Like the real provider it offers the
// private key, then the password (also as keyboard-interactive answers), then the SSH agent.
//
// Host keys: when the connection names a hostKey, the server must present exactly that key, and
// only that key's algorithms are offered in the handshake (a host with several keys would
// otherwise show whichever type the client prefers, and a correctly pinned key would be refused);
// otherwise any host key is accepted, as the real provider does. Hosts we create moments before
// connecting have no known key yet, so pin `hostKey` wherever the key is known in advance.
func sshClientConfig(c *connectionSpec) (*ssh.ClientConfig, func(), error) {
	cfg := &ssh.ClientConfig{User: c.User, HostKeyCallback: ssh.InsecureIgnoreHostKey()} //nolint:gosec // documented above
	cleanup := func() {}
	if c.HostKey != "" {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.HostKey))
		if err != nil {
			return nil, cleanup, fmt.Errorf("connection hostKey is not an authorized_keys line "+
				"(like \"ssh-ed25519 AAAA...\"): %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(key)
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(key.Type())
	}
	if c.PrivateKey != "" {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("reading the connection's privateKey: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if c.Password != "" {
		password := c.Password
		cfg.Auth = append(cfg.Auth,
			ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	// An explicit agentSocketPath must work; SSH_AUTH_SOCK is used only if it does.
	socket, explicit := c.AgentSocketPath, c.AgentSocketPath != ""
	if !explicit {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		switch {
		case err == nil:
			cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
			cleanup = func() { _ = conn.Close() }
		case explicit:
			return nil, cleanup, fmt.Errorf("connecting to the SSH agent at %s: %w", socket, err)
		}
	}
	return cfg, cleanup, nil
}

// hostKeyAlgorithms are the handshake algorithms that make a server present a key of keyType.
func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// sshClient is an open connection to the target host, and to the bastion if there is one.
type sshClient struct {
	*ssh.Client
	closers []func()
}

// Close closes the target connection, the bastion connection and the agent sockets.
func (c *sshClient) Close() error {
	err := c.Client.Close()
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	return err
}

// dialSSH connects to the target host, through its proxy if one is set, retrying failed dials
// with backoff up to the connection's dialErrorLimit (hosts that are still booting refuse
// connections for a while).
func dialSSH(ctx context.Context, c *connectionSpec, note func(string)) (*sshClient, error) {
	cfg, cleanup, err := sshClientConfig(c)
	if err != nil {
		return nil, err
	}
	closers := []func(){cleanup}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}

	var hop func(ctx context.Context, network, addr string) (net.Conn, error)
	if c.Proxy != nil {
		bastion, err := dialSSH(ctx, c.Proxy, note)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("connecting to the proxy %s: %w", c.Proxy.Host, err)
		}
		closers = append(closers, func() { _ = bastion.Close() })
		hop = bastion.DialContext
	} else {
		var d net.Dialer
		hop = d.DialContext
	}

	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	backoff := time.Second
	for dials := 1; ; dials++ {
		client, err := dialOnce(ctx, hop, addr, cfg, time.Duration(c.PerDialTimeoutSeconds)*time.Second)
		if err == nil {
			return &sshClient{Client: client, closers: closers}, nil
		}
		// A host presenting another key than the pinned one will not change its mind: no retry.
		if ctx.Err() != nil || (c.DialErrorLimit >= 0 && dials > c.DialErrorLimit) ||
			strings.Contains(err.Error(), "host key mismatch") {
			closeAll()
			return nil, fmt.Errorf("dialing %s as %s failed %d time(s); last error: %w", addr, c.User, dials, err)
		}
		note(fmt.Sprintf("dialing %s failed (%v); retrying in %s", addr, err, backoff))
		select {
		case <-ctx.Done():
			closeAll()
			return nil, errors.Join(fmt.Errorf("dialing %s was cancelled", addr), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxDialBackoff)
	}
}

// dialOnce makes one TCP connection and SSH handshake, bounded by timeout when it is non-zero.
func dialOnce(
	ctx context.Context,
	hop func(ctx context.Context, network, addr string) (net.Conn, error),
	addr string, cfg *ssh.ClientConfig, timeout time.Duration,
) (*ssh.Client, error) {
	dialCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	conn, err := hop(dialCtx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake has no context of its own: a deadline on the socket bounds it instead.
	if deadline, ok := dialCtx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(dialCtx, func() { _ = conn.Close() })
	clientConn, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stop()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(clientConn, chans, reqs), nil
}
