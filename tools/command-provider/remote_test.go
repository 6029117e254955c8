package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// remoteInputs builds remote Command inputs with the connection marked secret, as the SDK sends it.
func remoteInputs(conn map[string]any, rest map[string]any) resource.PropertyMap {
	m := props(rest)
	m[keyConnection] = resource.MakeSecret(resource.NewPropertyValue(conn))
	return m
}

func TestRemoteCommandLifecycle(t *testing.T) {
	srv := startTestSSHServer(t)
	p, sink := newTestProvider()
	state := mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(srv.connection(), map[string]any{
		"create":      "echo hello $GREETING; echo warn >&2",
		"update":      "echo was=$PULUMI_COMMAND_STDOUT",
		"delete":      "echo bye",
		"environment": map[string]any{"GREETING": "world"},
	}))
	if got := str(t, state, keyStdout); got != "hello world" {
		t.Errorf("stdout = %q", got)
	}
	if got := str(t, state, keyStderr); got != "warn" {
		t.Errorf("stderr = %q", got)
	}
	if lines := strings.Join(sink.lines(testRemoteURN), "|"); !strings.Contains(lines, "hello world") {
		t.Errorf("remote output was not streamed: %q", lines)
	}

	resp, err := p.Update(context.Background(), plugin.UpdateRequest{
		URN: testRemoteURN, Type: remoteCommand.token, OldOutputs: state,
		NewInputs: checked(t, p, remoteCommand, remoteInputs(srv.connection(), map[string]any{
			"create": "echo hello", "update": "echo was=$PULUMI_COMMAND_STDOUT",
		})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, resp.Properties, keyStdout); got != "was=hello world" {
		t.Errorf("update stdout = %q", got)
	}
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{
		URN: testRemoteURN, Type: remoteCommand.token, Outputs: state,
	}); err != nil {
		t.Errorf("delete: %v", err)
	}
}

func TestRemoteOutputsAreSecretOnlyWhenTheCommandIs(t *testing.T) {
	srv := startTestSSHServer(t)
	p, _ := newTestProvider()
	// The connection is always secret and the environment may be; like the real provider,
	// neither makes stdout secret.
	in := remoteInputs(srv.connection(), map[string]any{"create": "echo $K"})
	in[keyEnvironment] = resource.NewObjectProperty(resource.PropertyMap{"K": secret("value-1")})
	outs := mustCreate(t, p, remoteCommand, testRemoteURN, in)
	if outs[keyStdout].IsSecret() {
		t.Errorf("stdout became secret through the connection or environment")
	}
	if !outs[keyConnection].IsSecret() || !outs[keyEnvironment].ContainsSecrets() {
		t.Errorf("secret inputs must stay secret in the state")
	}

	in = remoteInputs(srv.connection(), map[string]any{})
	in[keyCreate] = secret("echo classified")
	outs = mustCreate(t, p, remoteCommand, testRemoteURN, in)
	if !outs[keyStdout].IsSecret() {
		t.Errorf("stdout of a secret command must be secret")
	}
}

func TestRemoteRefusedEnvironment(t *testing.T) {
	srv := startTestSSHServer(t)
	srv.acceptEnv = func(name string) bool { return name == "LANG" }
	p, sink := newTestProvider()

	_, err := create(t, p, remoteCommand, testRemoteURN, remoteInputs(srv.connection(), map[string]any{
		"create": "echo run", "environment": map[string]any{"TOKEN": "x"},
	}))
	if err == nil || !strings.Contains(err.Error(), "AcceptEnv") || !strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("a refused variable must fail the run with advice, got %v", err)
	}

	// A refused PULUMI_COMMAND_STDOUT only warns.
	state := mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(srv.connection(), map[string]any{"create": "echo first"}))
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{
		URN: testRemoteURN, Type: remoteCommand.token,
		Outputs: withKey(state, keyDelete, resource.NewStringProperty("echo deleting")),
	}); err != nil {
		t.Errorf("delete failed over PULUMI_COMMAND_STDOUT: %v", err)
	}
	if !strings.Contains(sink.all(), "could not set PULUMI_COMMAND_STDOUT") {
		t.Errorf("no warning about PULUMI_COMMAND_STDOUT:\n%s", sink.all())
	}
}

func withKey(m resource.PropertyMap, k resource.PropertyKey, v resource.PropertyValue) resource.PropertyMap {
	c := m.Copy()
	c[k] = v
	return c
}

func TestRemoteFailureIncludesOutput(t *testing.T) {
	srv := startTestSSHServer(t)
	p, _ := newTestProvider()
	_, err := create(t, p, remoteCommand, testRemoteURN, remoteInputs(srv.connection(), map[string]any{
		"create": "echo 'kong: migrations pending' >&2; exit 5",
	}))
	if err == nil || !strings.Contains(err.Error(), "exited with status 5") || !strings.Contains(err.Error(), "migrations pending") {
		t.Errorf("error = %v", err)
	}
}

func TestRemoteHostKeyPinning(t *testing.T) {
	srv := startTestSSHServer(t)
	p, _ := newTestProvider()
	conn := srv.connection()
	conn["hostKey"] = string(ssh.MarshalAuthorizedKey(srv.hostKey))
	mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{"create": "true"}))

	// A wrong key fails at once, although the default dialErrorLimit would retry other errors.
	other := startTestSSHServer(t)
	conn["hostKey"] = string(ssh.MarshalAuthorizedKey(other.hostKey))
	_, err := create(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{"create": "true"}))
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") || !strings.Contains(err.Error(), "failed 1 time(s)") {
		t.Errorf("a wrong host key must fail the first dial without retries, got %v", err)
	}
}

// A host offering an RSA key besides the pinned ed25519 one (OpenSSH records ed25519, Go's client
// prefers RSA): the pinned type is negotiated, so the correct pin is accepted.
func TestRemoteHostKeyPinningWithSeveralHostKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := startTestSSHServer(t, rsaSigner)
	p, _ := newTestProvider()
	conn := srv.connection()
	conn["dialErrorLimit"] = 0.0
	conn["hostKey"] = string(ssh.MarshalAuthorizedKey(srv.hostKey))
	mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{"create": "true"}))
	conn["hostKey"] = string(ssh.MarshalAuthorizedKey(rsaSigner.PublicKey()))
	mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{"create": "true"}))
}

func TestRemoteDialRetriesAreBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now

	p, _ := newTestProvider()
	start := time.Now()
	_, err = create(t, p, remoteCommand, testRemoteURN, remoteInputs(map[string]any{
		"host": "127.0.0.1", "port": float64(port), "user": "u", "password": "p",
		"dialErrorLimit": 1.0, "perDialTimeout": 1.0,
	}, map[string]any{"create": "true"}))
	if err == nil || !strings.Contains(err.Error(), "failed 2 time(s)") {
		t.Errorf("error = %v, want two failed dials", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("bounded retries took %s", took)
	}
}

func TestRemoteThroughBastion(t *testing.T) {
	bastion := startTestSSHServer(t)
	target := startTestSSHServer(t)
	p, _ := newTestProvider()
	conn := target.connection()
	delete(conn, "privateKey")
	conn["password"] = target.password // password auth, with keyboard-interactive as a fallback
	conn["proxy"] = bastion.connection()
	outs := mustCreate(t, p, remoteCommand, testRemoteURN, remoteInputs(conn, map[string]any{"create": "echo via-bastion"}))
	if got := str(t, outs, keyStdout); got != "via-bastion" {
		t.Errorf("stdout = %q", got)
	}
	if bastion.forwarded != 1 || target.logins != 1 {
		t.Errorf("bastion forwarded %d connections, target saw %d logins; want 1 and 1", bastion.forwarded, target.logins)
	}
}

func TestRemoteCancel(t *testing.T) {
	srv := startTestSSHServer(t)
	p, _ := newTestProvider()
	inputs := checked(t, p, remoteCommand, remoteInputs(srv.connection(), map[string]any{"create": "echo started; sleep 120"}))
	errc := make(chan error, 1)
	go func() {
		_, err := p.Create(context.Background(), plugin.CreateRequest{URN: testRemoteURN, Type: remoteCommand.token, Properties: inputs})
		errc <- err
	}()
	time.Sleep(500 * time.Millisecond)
	_ = p.SignalCancellation(context.Background())
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled remote command did not return")
	}
}

func TestCopyToRemote(t *testing.T) {
	srv := startTestSSHServer(t)
	p, _ := newTestProvider()
	local, remote := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "conf", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"conf/kong.conf": "a", "conf/sub/x": "b", "single.txt": "c"} {
		if err := os.WriteFile(filepath.Join(local, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, _ := resource.NewTextAsset("from text")
	file, _ := resource.NewPathAsset(filepath.Join(local, "single.txt"))
	dir, _ := resource.NewPathArchive(filepath.Join(local, "conf"))
	cases := []struct {
		source resource.PropertyValue
		to     string
		check  map[string]string
	}{
		{resource.NewAssetProperty(text), filepath.Join(remote, "t.txt"), map[string]string{"t.txt": "from text"}},
		{resource.NewAssetProperty(file), remote, map[string]string{"single.txt": "c"}},
		{resource.NewArchiveProperty(dir), filepath.Join(remote, "etc"), map[string]string{"etc/conf/kong.conf": "a", "etc/conf/sub/x": "b"}},
	}
	for _, c := range cases {
		in := remoteInputs(srv.connection(), map[string]any{"remotePath": c.to})
		in[keySource] = c.source
		if _, err := create(t, p, copyToRemote, testRemoteURN, in); err != nil {
			t.Fatalf("copy to %s: %v", c.to, err)
		}
		for rel, want := range c.check {
			got, err := os.ReadFile(filepath.Join(remote, rel))
			if err != nil || string(got) != want {
				t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
			}
		}
	}
}
