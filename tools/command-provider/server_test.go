package main

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// These tests go through the gRPC server the engine talks to, to check what crosses the wire.

func TestPluginInfoReportsTheBuildVersion(t *testing.T) {
	srv := plugin.NewProviderServer(newProvider(&recordingSink{}, "1.2.1"))
	info, err := srv.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.GetVersion() != "1.2.1" {
		t.Fatalf("GetPluginInfo = %v, %v; want 1.2.1", info, err)
	}
	hs, err := srv.Handshake(context.Background(), &pulumirpc.ProviderHandshakeRequest{})
	if err != nil || !hs.GetAcceptSecrets() {
		t.Fatalf("Handshake = %v, %v; want secrets accepted", hs, err)
	}
}

func TestSecretsSurviveTheWire(t *testing.T) {
	srv := plugin.NewProviderServer(newProvider(&recordingSink{}, "1.2.1"))
	ctx := context.Background()
	if _, err := srv.Handshake(ctx, &pulumirpc.ProviderHandshakeRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Configure(ctx, &pulumirpc.ConfigureRequest{AcceptSecrets: true}); err != nil {
		t.Fatal(err)
	}
	inputs := resource.PropertyMap{
		"create":      resource.NewStringProperty("echo $PASSWORD | wc -c"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"PASSWORD": secret("pa55word")}),
	}
	wire, err := plugin.MarshalProperties(inputs, plugin.MarshalOptions{KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	checkedResp, err := srv.Check(ctx, &pulumirpc.CheckRequest{Urn: string(testURN), Type: string(localCommand.token), News: wire})
	if err != nil || len(checkedResp.GetFailures()) > 0 {
		t.Fatalf("Check = %v, %v", checkedResp, err)
	}
	resp, err := srv.Create(ctx, &pulumirpc.CreateRequest{
		Urn: string(testURN), Type: string(localCommand.token), Properties: checkedResp.GetInputs(),
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := plugin.UnmarshalProperties(resp.GetProperties(), plugin.MarshalOptions{KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	env := outs[keyEnvironment]
	if !env.IsObject() || !env.ObjectValue()["PASSWORD"].IsSecret() {
		t.Errorf("environment.PASSWORD is not secret in the returned state: %v", env)
	}
	if !outs[keyStdout].IsSecret() || plain(outs[keyStdout]).StringValue() != "9" {
		t.Errorf("stdout = %v, want the secret \"9\"", outs[keyStdout])
	}

	diff, err := srv.Diff(ctx, &pulumirpc.DiffRequest{
		Urn: string(testURN), Type: string(localCommand.token), Id: resp.GetId(),
		Olds: resp.GetProperties(), OldInputs: checkedResp.GetInputs(), News: checkedResp.GetInputs(),
	})
	if err != nil || diff.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("a second run with the same inputs must be DIFF_NONE, got %v, %v", diff, err)
	}
}
