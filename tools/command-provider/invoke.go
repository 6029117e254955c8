package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// Invoke implements `local.run` / `local.runOutput`: the command runs every time the program
// calls it, previews included, as documented for the real provider.
func (p *provider) Invoke(ctx context.Context, req plugin.InvokeRequest) (plugin.InvokeResponse, error) {
	if req.Tok != localRunFunction {
		return plugin.InvokeResponse{}, fmt.Errorf("unknown function %q: this provider implements %s", req.Tok, localRunFunction)
	}
	args, failures := checkInputs(localRunFields, req.Args)
	if len(failures) > 0 {
		return plugin.InvokeResponse{Failures: failures}, nil
	}
	if args.ContainsUnknowns() {
		return plugin.InvokeResponse{}, errors.New("local.run needs known arguments; its inputs are not known yet")
	}
	spec, err := decodeCommand(args, localCommand)
	if err != nil {
		return plugin.InvokeResponse{}, err
	}
	command := (&propReader{props: args}).str(keyCommand)

	// Functions belong to no resource, so their output goes to the update's own status line.
	stdout, stderr, err := p.runCommand(ctx, "", localCommand, spec, command, "", "", args)
	if err != nil {
		return plugin.InvokeResponse{}, err
	}
	outs := args.Copy()
	stdoutV, stderrV := resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)
	if args.ContainsSecrets() {
		stdoutV, stderrV = resource.MakeSecret(stdoutV), resource.MakeSecret(stderrV)
	}
	outs[keyStdout], outs[keyStderr] = stdoutV, stderrV
	if err := addAssets(outs, spec); err != nil {
		return plugin.InvokeResponse{}, err
	}
	return plugin.InvokeResponse{Properties: outs}, nil
}
