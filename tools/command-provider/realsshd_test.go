package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

const sshdPath = "/usr/sbin/sshd"

// startRealSSHD runs OpenSSH's sshd as root on a free loopback port with its own config, host
// key and authorized key, all in a temp dir. It skips the test where sshd is not installed or
// we are not root (sshd needs root to switch to the logged-in user).
func startRealSSHD(t *testing.T) (conn map[string]any) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil || os.Geteuid() != 0 {
		t.Skipf("needs %s and root", sshdPath)
	}
	dir := t.TempDir()
	writeKey := func(name string) (ssh.PublicKey, string) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(block)
		if err := os.WriteFile(filepath.Join(dir, name), pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		sshPub, _ := ssh.NewPublicKey(pub)
		return sshPub, string(pemBytes)
	}
	hostPub, _ := writeKey("host_key")
	clientPub, clientKey := writeKey("client_key")
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()

	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
AcceptEnv KONG_TEST_*
Subsystem sftp internal-sftp
`, port, dir, dir, dir)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd's privilege-separation directory; packages create it at boot, containers may not.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshdPath, "-f", cfgPath, "-D", "-e")
	var log strings.Builder
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s:\n%s", addr, log.String())
		}
	}
	return map[string]any{
		"host": "127.0.0.1", "port": float64(port), "user": "root", "privateKey": clientKey,
		"hostKey": string(ssh.MarshalAuthorizedKey(hostPub)), "dialErrorLimit": 3.0,
	}
}

func TestAgainstOpenSSH(t *testing.T) {
	conn := startRealSSHD(t)
	p, sink := newTestProvider()

	state := mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{
		"create":      `echo "user=$(id -un) token=$KONG_TEST_TOKEN"`,
		"update":      `echo "previous=$PULUMI_COMMAND_STDOUT"`,
		"environment": map[string]any{"KONG_TEST_TOKEN": "abc"},
	}))
	if got := str(t, state, keyStdout); got != "user=root token=abc" {
		t.Errorf("stdout = %q", got)
	}

	// This sshd only accepts KONG_TEST_*: PULUMI_COMMAND_STDOUT is refused with a warning.
	resp, err := p.Update(context.Background(), plugin.UpdateRequest{
		URN: testRemoteURN, Type: remoteCommand.token, OldOutputs: state,
		NewInputs: checked(t, p, remoteCommand, remoteInputs(conn, map[string]any{
			"create": "true", "update": `echo "previous=$PULUMI_COMMAND_STDOUT"`,
		})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, resp.Properties, keyStdout); got != "previous=" {
		t.Errorf("update stdout = %q (sshd should have refused the variable)", got)
	}
	if !strings.Contains(sink.all(), "could not set PULUMI_COMMAND_STDOUT") {
		t.Errorf("no warning about the refused variable:\n%s", sink.all())
	}

	_, err = create(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{
		"create": "true", "environment": map[string]any{"OTHER": "x"},
	}))
	if err == nil || !strings.Contains(err.Error(), "AcceptEnv") {
		t.Errorf("a refused variable must fail, got %v", err)
	}

	remoteDir := t.TempDir()
	text, _ := resource.NewTextAsset("admin_listen = 127.0.0.1:8001\n")
	in := remoteInputs(conn, map[string]any{"remotePath": filepath.Join(remoteDir, "kong.conf")})
	in[keySource] = resource.NewAssetProperty(text)
	if _, err := create(t, p, copyToRemote, testRemoteURN, in); err != nil {
		t.Fatalf("CopyToRemote over OpenSSH's sftp: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(remoteDir, "kong.conf")); string(got) != "admin_listen = 127.0.0.1:8001\n" {
		t.Errorf("copied file = %q", got)
	}
}
