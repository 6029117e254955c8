package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// killGrace is how long a cancelled command gets between SIGTERM and SIGKILL, and how long we
// wait for its output pipes to close after it exits. (A variable only so tests can shorten it.)
var killGrace = 10 * time.Second

// invocation is one run of one command string, on this machine or a remote one.
type invocation struct {
	Command     string
	Environment map[string]string
	// PrevStdout and PrevStderr are the outputs of the previous create/update, exported as
	// PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR when non-empty.
	PrevStdout, PrevStderr string
	Stdin                  string
	// Dir and Interpreter apply to local commands only.
	Dir         string
	Interpreter []string
}

// runLocal runs the command through the interpreter (default `/bin/sh -c`) in its own process
// group, so that cancelling it stops everything it started, not just the shell.
func runLocal(ctx context.Context, inv invocation, out *capture, warn func(string)) error {
	argv := inv.Interpreter
	if len(argv) == 0 {
		argv = []string{"/bin/sh", "-c"}
	}
	argv = append(append([]string(nil), argv...), inv.Command)

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = inv.Dir
	cmd.Env = localEnviron(inv)
	if inv.Stdin != "" {
		cmd.Stdin = strings.NewReader(inv.Stdin)
	}
	cmd.Stdout = out.Stdout()
	cmd.Stderr = out.Stderr()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return terminateGroup(cmd.Process.Pid) }
	cmd.WaitDelay = killGrace

	err := cmd.Run()
	out.flush()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The command succeeded but left a background process holding its stdout or stderr
		// open (a daemon that did not detach its output). That is not a failure.
		warn("the command exited successfully, but a process it started still holds its " +
			"output open; output written after that point is not captured")
		return nil
	}
	if err != nil && ctx.Err() != nil {
		return errors.Join(errors.New("the command was cancelled"), err)
	}
	return err
}

// localEnviron is the provider's own environment plus the command's variables.
func localEnviron(inv invocation) []string {
	env := os.Environ()
	for k, v := range inv.Environment {
		env = append(env, k+"="+v)
	}
	if inv.PrevStdout != "" {
		env = append(env, envPreviousOut+"="+inv.PrevStdout)
	}
	if inv.PrevStderr != "" {
		env = append(env, envPreviousErr+"="+inv.PrevStderr)
	}
	return env
}

// terminateGroup asks a process group to stop, and forces it after killGrace.
func terminateGroup(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGTERM)
	time.AfterFunc(killGrace, func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // the group may well be gone by now
	})
	return err
}
