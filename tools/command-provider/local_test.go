package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

func TestCreateRunsCommandAndStreamsOutput(t *testing.T) {
	p, sink := newTestProvider()
	resp, err := create(t, p, localCommand, testURN, props(map[string]any{
		"create": "echo one; echo two; echo oops >&2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(resp.ID), "cmd") || len(resp.ID) != len("cmd")+8 {
		t.Errorf("ID = %q, want the name and 8 hex digits", resp.ID)
	}
	if got := str(t, resp.Properties, keyStdout); got != "one\ntwo" {
		t.Errorf("stdout = %q, want %q (one trailing newline cut)", got, "one\ntwo")
	}
	if got := str(t, resp.Properties, keyStderr); got != "oops" {
		t.Errorf("stderr = %q", got)
	}
	if got := str(t, resp.Properties, keyCreate); got != "echo one; echo two; echo oops >&2" {
		t.Errorf("inputs are not echoed into the state: create = %q", got)
	}
	lines := sink.lines(testURN)
	for _, want := range []string{"one", "two", "oops"} {
		if !slices.Contains(lines, want) {
			t.Errorf("line %q was not streamed; streamed %q", want, lines)
		}
	}
	if i, j := slices.Index(lines, "one"), slices.Index(lines, "two"); i > j {
		t.Errorf("stdout lines streamed out of order: %q", lines)
	}
}

func TestPreviewRunsNothingAndLeavesOutputsUnknown(t *testing.T) {
	p, _ := newTestProvider()
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := checked(t, p, localCommand, props(map[string]any{"create": "touch " + marker, "update": "touch " + marker}))
	created, err := p.Create(context.Background(), plugin.CreateRequest{
		URN: testURN, Type: localCommand.token, Properties: inputs, Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	updated, err := p.Update(context.Background(), plugin.UpdateRequest{
		URN: testURN, Type: localCommand.token, OldOutputs: inputs, NewInputs: inputs, Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("a preview ran the command (stat: %v)", err)
	}
	for _, outs := range []resource.PropertyMap{created.Properties, updated.Properties} {
		if !outs[keyStdout].IsComputed() || !outs[keyStderr].IsComputed() {
			t.Errorf("stdout/stderr should be unknown in a preview, got %v / %v", outs[keyStdout], outs[keyStderr])
		}
	}
}

func TestUpdateRunsUpdateOrCreateWithPreviousOutput(t *testing.T) {
	tests := []struct {
		name   string
		news   map[string]any
		stdout string
	}{
		{"update command wins", map[string]any{"create": "echo second", "update": "echo prev=$PULUMI_COMMAND_STDOUT"}, "prev=first"},
		{"create runs again without update", map[string]any{"create": "echo again; echo prev=$PULUMI_COMMAND_STDOUT"}, "again\nprev=first"},
		{"previous output can be left out", map[string]any{
			"update": "echo prev=${PULUMI_COMMAND_STDOUT:-none}", "addPreviousOutputInEnv": false,
		}, "prev=none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestProvider()
			old := mustCreate(t, p, localCommand, testURN, props(map[string]any{"create": "echo first"}))
			resp, err := p.Update(context.Background(), plugin.UpdateRequest{
				URN: testURN, Type: localCommand.token, OldOutputs: old,
				NewInputs: checked(t, p, localCommand, props(tc.news)),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := str(t, resp.Properties, keyStdout); got != tc.stdout {
				t.Errorf("stdout = %q, want %q", got, tc.stdout)
			}
		})
	}
}

func TestDeleteRunsDeleteWithPreviousOutput(t *testing.T) {
	p, _ := newTestProvider()
	out := filepath.Join(t.TempDir(), "deleted")
	state := mustCreate(t, p, localCommand, testURN, props(map[string]any{
		"create": "echo created-it",
		"delete": `echo "gone after $PULUMI_COMMAND_STDOUT" > ` + out,
	}))
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{
		URN: testURN, Type: localCommand.token, Outputs: state,
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != "gone after created-it\n" {
		t.Fatalf("delete command output = %q, %v", got, err)
	}
}

func TestFailedCreateReportsOutputAndRecordsNothing(t *testing.T) {
	p, _ := newTestProvider()
	resp, err := create(t, p, localCommand, testURN, props(map[string]any{
		"create": "echo progress; echo 'disk full' >&2; exit 3",
	}))
	if err == nil {
		t.Fatal("a failing command did not fail the create")
	}
	for _, want := range []string{"exit status 3", "progress", "disk full", "running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if resp.ID != "" || resp.Properties != nil {
		t.Errorf("a failed create returned state %q %v; the engine must record nothing", resp.ID, resp.Properties)
	}
}

func TestFailedUpdateReturnsNoNewState(t *testing.T) {
	p, _ := newTestProvider()
	old := mustCreate(t, p, localCommand, testURN, props(map[string]any{"create": "echo ok"}))
	resp, err := p.Update(context.Background(), plugin.UpdateRequest{
		URN: testURN, Type: localCommand.token, OldOutputs: old,
		NewInputs: checked(t, p, localCommand, props(map[string]any{"create": "exit 1"})),
	})
	if err == nil || resp.Properties != nil {
		t.Fatalf("update = %v, %v; want an error and no properties (the engine keeps the old state)", resp.Properties, err)
	}
}

func TestLoggingModesChooseStreamsButNotOutputs(t *testing.T) {
	tests := []struct {
		mode             string
		logsOut, logsErr bool
	}{
		{"", true, true},
		{"stdoutAndStderr", true, true},
		{"stdout", true, false},
		{"stderr", false, true},
		{"none", false, false},
	}
	for _, tc := range tests {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			p, sink := newTestProvider()
			in := map[string]any{"create": "echo to-out; echo to-err >&2"}
			if tc.mode != "" {
				in["logging"] = tc.mode
			}
			outs := mustCreate(t, p, localCommand, testURN, props(in))
			lines := sink.lines(testURN)
			if slices.Contains(lines, "to-out") != tc.logsOut || slices.Contains(lines, "to-err") != tc.logsErr {
				t.Errorf("logged %q; want stdout logged=%v, stderr logged=%v", lines, tc.logsOut, tc.logsErr)
			}
			if str(t, outs, keyStdout) != "to-out" || str(t, outs, keyStderr) != "to-err" {
				t.Errorf("outputs must be captured whatever the logging mode: %v", outs)
			}
		})
	}
}

func TestSecretInputsMakeOutputsSecretAndAreMaskedInLogs(t *testing.T) {
	p, sink := newTestProvider()
	inputs := props(map[string]any{"create": "echo token=$TOKEN; echo plain"})
	inputs[keyEnvironment] = resource.NewObjectProperty(resource.PropertyMap{"TOKEN": secret("hunter2-abc")})
	outs := mustCreate(t, p, localCommand, testURN, inputs)

	if !outs[keyStdout].IsSecret() || !outs[keyStderr].IsSecret() {
		t.Errorf("stdout/stderr of a command with a secret input must be secret: %v", outs[keyStdout])
	}
	if got := str(t, outs, keyStdout); got != "token=hunter2-abc\nplain" {
		t.Errorf("the recorded (secret) stdout must be exact, got %q", got)
	}
	if !outs[keyEnvironment].ContainsSecrets() {
		t.Errorf("environment lost its secret marker")
	}
	if logs := sink.all(); strings.Contains(logs, "hunter2") || !strings.Contains(logs, "token=[secret]") {
		t.Errorf("secret leaked into (or masking missing from) the logs:\n%s", logs)
	}

	_, err := create(t, p, localCommand, testURN, resource.PropertyMap{
		"create":      resource.NewStringProperty("echo $TOKEN >&2; exit 1"),
		"environment": inputs[keyEnvironment],
	})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error must not reveal the secret: %v", err)
	}
}

func TestPlainInputsKeepOutputsPlain(t *testing.T) {
	p, _ := newTestProvider()
	outs := mustCreate(t, p, localCommand, testURN, props(map[string]any{"create": "echo hi"}))
	if outs[keyStdout].IsSecret() {
		t.Errorf("stdout is secret without any secret input")
	}
}

func TestInterpreterDirAndStdin(t *testing.T) {
	p, _ := newTestProvider()
	dir := t.TempDir()
	outs := mustCreate(t, p, localCommand, testURN, props(map[string]any{
		"create":      `pwd; read line; echo "got $line"; echo "$0"`,
		"interpreter": []any{"/bin/bash", "-c"},
		"dir":         dir,
		"stdin":       "hello\n",
	}))
	want := dir + "\ngot hello\n/bin/bash"
	if got := str(t, outs, keyStdout); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	_, err := create(t, p, localCommand, testURN, props(map[string]any{"create": "true", "dir": filepath.Join(dir, "missing")}))
	if err == nil {
		t.Errorf("a missing dir must fail the command")
	}
}

func TestAssetAndArchivePaths(t *testing.T) {
	p, _ := newTestProvider()
	dir := t.TempDir()
	outs := mustCreate(t, p, localCommand, testURN, props(map[string]any{
		"create":       "mkdir -p sub && echo a > a.txt && echo b > b.txt && echo c > sub/c.txt && echo d > d.log",
		"dir":          dir,
		"assetPaths":   []any{"**.txt", "!b.txt"},
		"archivePaths": []any{"*.txt"},
	}))
	var keys []string
	for k := range outs[keyAssets].ObjectValue() {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a.txt,sub/c.txt" {
		t.Errorf("assets = %v, want a.txt and sub/c.txt", keys)
	}
	archive := outs[keyArchive].ArchiveValue()
	if len(archive.Assets) != 2 || archive.Assets["a.txt"] == nil || archive.Assets["b.txt"] == nil {
		t.Errorf("archive members = %v, want a.txt and b.txt", archive.Assets)
	}
}

func TestInvokeLocalRun(t *testing.T) {
	p, _ := newTestProvider()
	resp, err := p.Invoke(context.Background(), plugin.InvokeRequest{
		Tok: localRunFunction, Args: props(map[string]any{"command": "echo ran-$X", "environment": map[string]any{"X": "1"}}),
	})
	if err != nil || len(resp.Failures) > 0 {
		t.Fatalf("invoke: %v %v", err, resp.Failures)
	}
	if got := str(t, resp.Properties, keyStdout); got != "ran-1" {
		t.Errorf("stdout = %q", got)
	}
	resp, err = p.Invoke(context.Background(), plugin.InvokeRequest{Tok: localRunFunction, Args: props(map[string]any{})})
	if err != nil || len(resp.Failures) != 1 || resp.Failures[0].Property != keyCommand {
		t.Errorf("a missing command must be a check failure, got %v %v", resp.Failures, err)
	}
}
