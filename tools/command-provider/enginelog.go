package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// logSink delivers messages to the user's `pulumi` display. Status messages are ephemeral: the
// engine shows the latest one beside the resource while it is being worked on (that is how a
// running command's output scrolls by) and does not keep them in the final diagnostics.
type logSink interface {
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string)
	LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string)
}

// engineSink is the logSink backed by the engine's Engine gRPC service.
type engineSink struct {
	conn   *grpc.ClientConn
	client pulumirpc.EngineClient
}

func dialEngine(addr string) (*engineSink, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		rpcutil.GrpcChannelOptions(),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to the engine at %s: %w", addr, err)
	}
	return &engineSink{conn: conn, client: pulumirpc.NewEngineClient(conn)}, nil
}

// Close drops the connection to the engine.
func (s *engineSink) Close() error { return s.conn.Close() }

// Log sends a message that stays in the update's diagnostics.
func (s *engineSink) Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) {
	s.send(ctx, sev, urn, msg, false)
}

// LogStatus sends an ephemeral progress message.
func (s *engineSink) LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) {
	s.send(ctx, sev, urn, msg, true)
}

func (s *engineSink) send(ctx context.Context, sev diag.Severity, urn resource.URN, msg string, ephemeral bool) {
	// Logging must never hold up or fail an operation, and must still get through while the
	// operation's own context is being cancelled (the "killed" message is worth seeing).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	//nolint:errcheck // best effort: a lost log line is not worth failing a deployment for
	s.client.Log(ctx, &pulumirpc.LogRequest{
		Severity:  severityToRPC(sev),
		Message:   msg,
		Urn:       string(urn),
		Ephemeral: ephemeral,
	})
}

func severityToRPC(sev diag.Severity) pulumirpc.LogSeverity {
	switch sev {
	case diag.Debug:
		return pulumirpc.LogSeverity_DEBUG
	case diag.Warning:
		return pulumirpc.LogSeverity_WARNING
	case diag.Error:
		return pulumirpc.LogSeverity_ERROR
	default:
		return pulumirpc.LogSeverity_INFO
	}
}
