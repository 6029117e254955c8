package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestCancelKillsTheWholeProcessGroup(t *testing.T) {
	p, _ := newTestProvider()
	pidFile := filepath.Join(t.TempDir(), "pid")
	inputs := checked(t, p, localCommand, props(map[string]any{
		"create": "sleep 300 & echo $! > " + pidFile + "; wait",
	}))

	errc := make(chan error, 1)
	go func() {
		_, err := p.Create(context.Background(), plugin.CreateRequest{URN: testURN, Type: localCommand.token, Properties: inputs})
		errc <- err
	}()

	var pid int
	for deadline := time.Now().Add(5 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if pid == 0 || !alive(pid) {
		t.Fatalf("the background sleep did not start (pid %d)", pid)
	}

	start := time.Now()
	if err := p.SignalCancellation(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("create after cancel = %v, want a cancellation error", err)
		}
	case <-time.After(killGrace + 5*time.Second):
		t.Fatal("create did not return after cancellation")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancellation took %s; SIGTERM should end a sleep at once", took)
	}
	for deadline := time.Now().Add(3 * time.Second); alive(pid) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if alive(pid) {
		t.Errorf("the command's background child %d survived the cancellation", pid)
	}
}

func TestBackgroundProcessHoldingOutputDoesNotHangTheRun(t *testing.T) {
	saved := killGrace
	killGrace = 300 * time.Millisecond
	defer func() { killGrace = saved }()

	p, sink := newTestProvider()
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	outs := mustCreate(t, p, localCommand, testURN, props(map[string]any{
		"create": "echo started; sleep 30 & echo $! > " + pidFile,
	}))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run waited %s for a background process", took)
	}
	if got := str(t, outs, keyStdout); got != "started" {
		t.Errorf("stdout = %q", got)
	}
	if !strings.Contains(sink.all(), "still holds its output open") {
		t.Errorf("no warning about the lingering process:\n%s", sink.all())
	}
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}
