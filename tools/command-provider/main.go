// Command pulumi-resource-command is a stand-in for the `command` resource provider plugin
// (pulumi/pulumi-command 1.2.1), whose Go module our machines cannot download. The Pulumi
// engine starts it with the engine's gRPC address as the only positional argument; it serves
// the ResourceProvider protocol on a loopback port and prints that port on stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is what GetPluginInfo reports. The engine refuses a plugin whose version differs from
// the one the SDK asks for, so release builds pin it: -ldflags "-X main.version=1.2.1".
var version = "1.2.1"

// providerName is the package name the SDK's type tokens start with (`command:local:Command`).
const providerName = "command"

func main() {
	if err := serve(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", providerName, err)
		os.Exit(1)
	}
}

func serve() error {
	// The engine may pass --logtostderr, -v=N (registered by glog through the logging package)
	// and --tracing; we accept them so that verbose runs do not break the plugin.
	flag.String("tracing", "", "tracing endpoint (accepted for compatibility; ignored)")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	args := flag.Args()
	if len(args) != 1 {
		return errors.New("expected exactly one argument: the engine's gRPC address")
	}
	engineAddr := args[0]

	// SIGINT/SIGTERM (the engine interrupts plugins when it is done with them) and a dead engine
	// both end the process; running commands are killed on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := rpcutil.Healthcheck(ctx, engineAddr, 5*time.Minute, cancel); err != nil {
		return fmt.Errorf("starting engine health check: %w", err)
	}

	sink, err := dialEngine(engineAddr)
	if err != nil {
		return err
	}
	defer sink.Close()

	prov := newProvider(sink, version)
	context.AfterFunc(ctx, prov.cancelAll)

	stopServing := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stopServing)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, plugin.NewProviderServer(prov))
			return nil
		},
	})
	if err != nil {
		return err
	}
	// The plugin protocol: the first line on stdout is the port we listen on.
	fmt.Printf("%d\n", handle.Port)

	err = <-handle.Done
	prov.waitForRuns(10 * time.Second)
	return err
}
