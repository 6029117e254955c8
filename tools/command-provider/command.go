package main

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// createCommand runs `create`. A failure records no state, so the next `pulumi up` creates (and
// runs the command) again.
func (p *provider) createCommand(ctx context.Context, kind *resourceKind, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	id := uniqueID(req.Name)
	if req.Preview {
		return plugin.CreateResponse{ID: id, Properties: previewOutputs(kind, req.Properties)}, nil
	}
	spec, err := decodeCommand(req.Properties, kind)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	var stdout, stderr string
	if spec.Create != "" {
		stdout, stderr, err = p.runCommand(ctx, req.URN, kind, spec, spec.Create, "", "", req.Properties)
		if err != nil {
			return plugin.CreateResponse{}, err
		}
	}
	outs := commandOutputs(kind, req.Properties, stdout, stderr)
	if err := addAssets(outs, spec); err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: id, Properties: outs, Status: resource.StatusOK}, nil
}

// updateCommand runs `update`, or `create` when there is no `update`, with the previous run's
// output in PULUMI_COMMAND_STDOUT/STDERR. A failure keeps the old state (old inputs included), so
// the next `pulumi up` sees the same change and runs the command again.
func (p *provider) updateCommand(ctx context.Context, kind *resourceKind, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	command := req.NewInputs[keyUpdate]
	if isAbsent(command) {
		command = req.NewInputs[keyCreate]
	}
	if isAbsent(command) {
		// Nothing to run: the outputs of the last run stay.
		outs := req.NewInputs.Copy()
		for _, k := range []resource.PropertyKey{keyStdout, keyStderr, keyAssets, keyArchive} {
			if v, ok := req.OldOutputs[k]; ok {
				outs[k] = v
			}
		}
		return plugin.UpdateResponse{Properties: outs, Status: resource.StatusOK}, nil
	}
	if req.Preview {
		return plugin.UpdateResponse{Properties: previewOutputs(kind, req.NewInputs)}, nil
	}

	spec, err := decodeCommand(req.NewInputs, kind)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	old, err := decodeCommand(req.OldOutputs, kind)
	if err != nil {
		return plugin.UpdateResponse{}, fmt.Errorf("reading the previous state: %w", err)
	}
	run := spec.Update
	if run == "" {
		run = spec.Create
	}
	stdout, stderr, err := p.runCommand(ctx, req.URN, kind, spec, run, old.Stdout, old.Stderr, req.NewInputs)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	outs := commandOutputs(kind, req.NewInputs, stdout, stderr)
	if err := addAssets(outs, spec); err != nil {
		return plugin.UpdateResponse{}, err
	}
	return plugin.UpdateResponse{Properties: outs, Status: resource.StatusOK}, nil
}

// deleteCommand runs `delete` from the recorded state, with the last run's output in
// PULUMI_COMMAND_STDOUT/STDERR. A failure keeps the resource in the state.
func (p *provider) deleteCommand(ctx context.Context, kind *resourceKind, req plugin.DeleteRequest) error {
	spec, err := decodeCommand(req.Outputs, kind)
	if err != nil {
		return fmt.Errorf("reading the recorded state: %w", err)
	}
	if spec.Delete == "" {
		return nil
	}
	_, _, err = p.runCommand(ctx, req.URN, kind, spec, spec.Delete, spec.Stdout, spec.Stderr, req.Outputs)
	return err
}

// runCommand runs one command string of a resource, streaming its output to the resource's
// status line, and wraps a failure with the command and the end of its output (secrets masked).
func (p *provider) runCommand(
	ctx context.Context, urn resource.URN, kind *resourceKind, spec commandSpec,
	command, prevStdout, prevStderr string, props resource.PropertyMap,
) (stdout, stderr string, err error) {
	ctx, done := p.begin(ctx)
	defer done()

	secrets := redactionList(props)
	inv := invocation{
		Command:     command,
		Environment: spec.Environment,
		Stdin:       spec.Stdin,
		Dir:         spec.Dir,
		Interpreter: spec.Interpreter,
	}
	if spec.AddPreviousOutputInEnv {
		inv.PrevStdout, inv.PrevStderr = prevStdout, prevStderr
	}
	status := func(line string) { p.sink.LogStatus(ctx, diag.Info, urn, line) }
	warn := func(msg string) { p.sink.Log(ctx, diag.Warning, urn, redact(msg, secrets)) }
	out := newCapture(spec.Logging, secrets, status)
	if kind.remote {
		err = runRemote(ctx, spec.Connection, inv, out, warn)
	} else {
		err = runLocal(ctx, inv, out, warn)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, redact(command, secrets), out.errorTail())
	}
	stdout, stderr = out.outputs()
	return stdout, stderr, nil
}

// redactionList is every secret string among a resource's properties, plus the connection's
// credentials. The rest of `connection` is left readable: the SDK marks the whole object secret,
// and masking every occurrence of "root" or a host name would make logs useless.
func redactionList(props resource.PropertyMap) []string {
	others := props.Copy()
	delete(others, keyConnection)
	creds := resource.PropertyMap{}
	if conn, ok := plain(props[keyConnection]).V.(resource.PropertyMap); ok {
		for _, hop := range []resource.PropertyMap{conn, proxyOf(conn)} {
			for _, k := range []resource.PropertyKey{"password", "privateKey", "privateKeyPassword"} {
				if v, ok := hop[k]; ok {
					creds[resource.PropertyKey(fmt.Sprintf("%d", len(creds)))] = resource.MakeSecret(v)
				}
			}
		}
	}
	return append(secretStrings(others), secretStrings(creds)...)
}

func proxyOf(conn resource.PropertyMap) resource.PropertyMap {
	if proxy, ok := conn["proxy"].V.(resource.PropertyMap); ok {
		return proxy
	}
	return nil
}

// commandOutputs is the state the engine records: every input as given (secret markers kept),
// plus stdout and stderr, which are secret when an input they derive from is secret.
func commandOutputs(kind *resourceKind, inputs resource.PropertyMap, stdout, stderr string) resource.PropertyMap {
	return withStdio(kind, inputs, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
}

// previewOutputs stands in for commandOutputs while nothing runs: stdout and stderr (and the
// assets, when asked for) are unknown until the command has run for real.
func previewOutputs(kind *resourceKind, inputs resource.PropertyMap) resource.PropertyMap {
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	outs := withStdio(kind, inputs, unknown, unknown)
	if !isAbsent(inputs[keyAssetPaths]) {
		outs[keyAssets] = unknown
	}
	if !isAbsent(inputs[keyArchivePaths]) {
		outs[keyArchive] = unknown
	}
	return outs
}

func withStdio(kind *resourceKind, inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	outs := inputs.Copy()
	for _, k := range kind.outputSecretSources {
		if v, ok := inputs[k]; ok && v.ContainsSecrets() {
			stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
			break
		}
	}
	outs[keyStdout], outs[keyStderr] = stdout, stderr
	return outs
}
