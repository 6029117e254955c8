package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// setenvAdvice is appended to Setenv failures: most sshd configurations only accept LANG/LC_*.
const setenvAdvice = "This only works if the SSH server accepts the variable (sshd_config AcceptEnv). " +
	"Alternatively, prefix the command itself with 'VAR=value' when a POSIX shell runs it."

// runRemote runs the command in a new SSH session on the connection's host.
//
// Environment variables travel as SSH "env" requests, as in the real provider: a refused
// variable of the user's fails the run (it would otherwise run without it), while a refused
// PULUMI_COMMAND_STDOUT/STDERR only warns.
func runRemote(ctx context.Context, conn *connectionSpec, inv invocation, out *capture, warn func(string)) error {
	if conn == nil {
		return errors.New("the connection is missing")
	}
	client, err := dialSSH(ctx, conn, warn)
	if err != nil {
		return err
	}
	defer client.Close()

	session, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("opening an SSH session on %s: %w", conn.Host, err)
	}
	defer session.Close()

	for _, name := range slices.Sorted(maps.Keys(inv.Environment)) {
		if err := session.Setenv(name, inv.Environment[name]); err != nil {
			return fmt.Errorf("could not set environment variable %q on %s: %w. %s", name, conn.Host, err, setenvAdvice)
		}
	}
	for name, value := range map[string]string{envPreviousOut: inv.PrevStdout, envPreviousErr: inv.PrevStderr} {
		if value == "" {
			continue
		}
		if err := session.Setenv(name, value); err != nil {
			warn(fmt.Sprintf("could not set %s on %s: %v. %s", name, conn.Host, err, setenvAdvice))
		}
	}

	if inv.Stdin != "" {
		session.Stdin = strings.NewReader(inv.Stdin)
	}
	session.Stdout = out.Stdout()
	session.Stderr = out.Stderr()
	if err := session.Start(inv.Command); err != nil {
		return fmt.Errorf("starting the command on %s: %w", conn.Host, err)
	}

	done := make(chan error, 1)
	go func() { done <- session.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ask the remote process to stop; closing the connection ends the session either way
		// (sshd hangs up the remote shell, which usually takes its children with it).
		_ = session.Signal(ssh.SIGTERM)
		_ = client.Close()
		<-done
		err = errors.New("the command was cancelled")
	}
	out.flush()
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return fmt.Errorf("the connection to %s closed before the command reported its exit status", conn.Host)
	}
	return err
}
