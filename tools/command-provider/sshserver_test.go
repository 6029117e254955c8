package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testSSHServer is a small in-process SSH server for the remote tests: exec (through /bin/sh),
// env requests (only names it accepts), signals, the sftp subsystem and direct-tcpip forwarding
// (so it can serve as its own bastion). It runs commands as the current user.
type testSSHServer struct {
	addr      string
	port      int
	hostKey   ssh.PublicKey
	clientKey string // PEM private key that the server accepts
	password  string
	acceptEnv func(name string) bool
	mu        sync.Mutex
	forwarded int // direct-tcpip channels opened (bastion use)
	logins    int
	listener  net.Listener
}

// startTestSSHServer starts a server whose host key (hostKey) is ed25519; extraHostKeys are
// offered too, as a real host offers several types.
func startTestSSHServer(t *testing.T, extraHostKeys ...ssh.Signer) *testSSHServer {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	authorized, _ := ssh.NewPublicKey(clientPub)

	s := &testSSHServer{
		hostKey:   hostSigner.PublicKey(),
		clientKey: string(pem.EncodeToMemory(block)),
		password:  "correct horse",
		acceptEnv: func(string) bool { return true },
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, io.EOF
		},
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.password {
				return nil, nil
			}
			return nil, io.EOF
		},
	}
	for _, k := range extraHostKeys {
		cfg.AddHostKey(k)
	}
	cfg.AddHostKey(hostSigner)

	s.listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = s.listener.Addr().String()
	s.port = s.listener.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { _ = s.listener.Close() })
	go func() {
		for {
			conn, err := s.listener.Accept()
			if err != nil {
				return
			}
			go s.serveConn(conn, cfg)
		}
	}()
	return s
}

func (s *testSSHServer) connection() map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": float64(s.port), "user": "tester", "privateKey": s.clientKey}
}

func (s *testSSHServer) serveConn(conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	s.logins++
	s.mu.Unlock()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, chReqs, err := nc.Accept()
			if err == nil {
				go s.serveSession(ch, chReqs)
			}
		case "direct-tcpip":
			s.forward(nc)
		default:
			_ = nc.Reject(ssh.UnknownChannelType, "unsupported")
		}
	}
}

func (s *testSSHServer) forward(nc ssh.NewChannel) {
	var target struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &target); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	upstream, err := net.Dial("tcp", net.JoinHostPort(target.Host, strconv.Itoa(int(target.Port))))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = upstream.Close()
		return
	}
	s.mu.Lock()
	s.forwarded++
	s.mu.Unlock()
	go ssh.DiscardRequests(reqs)
	go func() { _, _ = io.Copy(ch, upstream); _ = ch.Close() }()
	go func() { _, _ = io.Copy(upstream, ch); _ = upstream.Close() }()
}

func (s *testSSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	var cmd *exec.Cmd
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && s.acceptEnv(kv.Name)
			if ok {
				env = append(env, kv.Name+"="+kv.Value)
			}
			_ = req.Reply(ok, nil)
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			cmd = exec.Command("/bin/sh", "-c", payload.Command)
			cmd.Env = env
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			go func(cmd *exec.Cmd) {
				_ = cmd.Wait()
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, uint32(cmd.ProcessState.ExitCode()))
				_, _ = ch.SendRequest("exit-status", false, status)
				_ = ch.Close()
			}(cmd)
		case "signal":
			if cmd != nil && cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			}
		case "subsystem":
			var payload struct{ Name string }
			if ssh.Unmarshal(req.Payload, &payload) != nil || payload.Name != "sftp" {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			server, err := sftp.NewServer(ch)
			if err == nil {
				_ = server.Serve()
			}
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
	if cmd != nil && cmd.Process != nil {
		// The client went away: end what it started, like sshd hanging up a session.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGHUP)
	}
}
