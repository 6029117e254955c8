package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// provider implements the `command` package's resources on top of the SDK's generic provider
// server, which does the gRPC marshalling (secrets and unknowns included).
type provider struct {
	plugin.UnimplementedProvider

	sink    logSink
	version string

	// ctx is cancelled when the engine asks us to cancel, or when the process is shutting down;
	// every running command is killed then.
	ctx    context.Context
	cancel context.CancelFunc
	runs   sync.WaitGroup
}

func newProvider(sink logSink, version string) *provider {
	ctx, cancel := context.WithCancel(context.Background())
	return &provider{sink: sink, version: version, ctx: ctx, cancel: cancel}
}

// begin scopes one operation: it is cancelled with the request or with the whole provider.
func (p *provider) begin(ctx context.Context) (context.Context, func()) {
	p.runs.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
		p.runs.Done()
	}
}

// cancelAll kills every running command and fails the operations waiting on them.
func (p *provider) cancelAll() { p.cancel() }

// waitForRuns gives cancelled commands a bounded time to finish reporting.
func (p *provider) waitForRuns(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		p.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// Handshake tells the engine we take secrets and resource references as typed values.
func (p *provider) Handshake(context.Context, plugin.ProviderHandshakeRequest) (*plugin.ProviderHandshakeResponse, error) {
	return &plugin.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// Close releases nothing: commands are owned by the operations that started them.
func (p *provider) Close() error { return nil }

// SignalCancellation is the engine's Cancel: the user interrupted the update.
func (p *provider) SignalCancellation(context.Context) error {
	p.cancelAll()
	return nil
}

// GetPluginInfo reports the version the engine matches against the SDK's required 1.2.1.
func (p *provider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v, err := semver.ParseTolerant(p.version)
	if err != nil {
		return plugin.PluginInfo{}, fmt.Errorf("provider version %q: %w", p.version, err)
	}
	return plugin.PluginInfo{Version: &v}, nil
}

// GetSchema returns a minimal schema: deployments never need more, only SDK generation does.
func (p *provider) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	schema := fmt.Sprintf(`{"name":%q,"version":%q,"description":"Local and remote commands (compatible stand-in)"}`,
		providerName, strings.TrimPrefix(p.version, "v"))
	return plugin.GetSchemaResponse{Schema: []byte(schema)}, nil
}

// CheckConfig accepts any provider configuration: the real provider has no required settings.
func (p *provider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

// DiffConfig never asks to replace the provider, whose configuration changes nothing.
func (p *provider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffResult{Changes: plugin.DiffNone}, nil
}

// Configure has nothing to configure.
func (p *provider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

// Check validates inputs; see checkInputs.
func (p *provider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	kind, err := lookupKind(req.Type)
	if err != nil {
		return plugin.CheckResponse{}, err
	}
	props, failures := checkInputs(kind.fields, req.News)
	return plugin.CheckResponse{Properties: props, Failures: failures}, nil
}

// Diff compares the previous inputs with the new ones; see diffInputs.
func (p *provider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	kind, err := lookupKind(req.Type)
	if err != nil {
		return plugin.DiffResult{}, err
	}
	olds := req.OldInputs
	if len(olds) == 0 {
		olds = req.OldOutputs // state written before the engine recorded inputs separately
	}
	return diffInputs(kind, olds, req.NewInputs, req.IgnoreChanges), nil
}

// Create runs the create command (not during previews).
func (p *provider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	kind, err := lookupKind(req.Type)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	if kind.runsCommands {
		return p.createCommand(ctx, kind, req)
	}
	return p.createCopy(ctx, kind, req)
}

// Update runs the update command, or the create command again (not during previews).
func (p *provider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	kind, err := lookupKind(req.Type)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	if kind.runsCommands {
		return p.updateCommand(ctx, kind, req)
	}
	return p.updateCopy(ctx, kind, req)
}

// Delete runs the delete command, if any. Copied files are left in place, as in the real provider.
func (p *provider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	kind, err := lookupKind(req.Type)
	if err != nil {
		return plugin.DeleteResponse{}, err
	}
	if kind.runsCommands {
		return plugin.DeleteResponse{}, p.deleteCommand(ctx, kind, req)
	}
	return plugin.DeleteResponse{}, nil
}

// Read (refresh, import) keeps the recorded state: a command's effects cannot be read back.
func (p *provider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	if _, err := lookupKind(req.Type); err != nil {
		return plugin.ReadResponse{}, err
	}
	return plugin.ReadResponse{
		ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State},
		Status:     resource.StatusOK,
	}, nil
}

func lookupKind(token tokens.Type) (*resourceKind, error) {
	if kind, ok := kindsByToken[token]; ok {
		return kind, nil
	}
	return nil, fmt.Errorf("unknown resource type %q: this provider implements %s", token, knownTokens())
}

func knownTokens() string {
	names := make([]string, 0, len(kindsByToken))
	for _, kind := range []*resourceKind{localCommand, remoteCommand, copyToRemote, copyFile} {
		names = append(names, string(kind.token))
	}
	return strings.Join(names, ", ")
}

// uniqueID mirrors the real provider's IDs: the resource name and 8 random hex digits.
func uniqueID(name string) resource.ID {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return resource.ID(name + hex.EncodeToString(b))
}
