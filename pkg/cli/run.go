package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// Interrupted is returned (wrapped) by commands stopped by SIGINT/SIGTERM.
var Interrupted = errors.New("interrupted")

// Main runs a plugin and exits: 0 on success, 1 on error, 130/143 when
// SIGINT/SIGTERM stopped it. newRoot builds the command tree.
func Main(newRoot func(genericiooptions.IOStreams) (*cobra.Command, *Factory)) {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root, f := newRoot(streams)
	os.Exit(Run(root, f, streams, os.Args[1:]))
}

// Run executes root with args. The context handed to commands is cancelled
// by the first SIGINT or SIGTERM, so a wait or a write can clean up and
// say what was left behind; a second signal exits at once.
func Run(root *cobra.Command, f *Factory, streams genericiooptions.IOStreams, args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Value
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		got.Store(s)
		cancel()
		if s2, ok := <-sigs; ok {
			os.Exit(exitCode(s2))
		}
	}()

	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if s, ok := got.Load().(os.Signal); ok {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(streams.ErrOut, "error: %s\n", Explain(err, f))
		}
		return exitCode(s)
	}
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", Explain(err, f))
		return 1
	}
	return 0
}

func exitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// Explain renders err as the one line printed after "error: ".
func Explain(err error, f *Factory) string {
	if f != nil {
		server, contextName := f.Endpoint()
		if line := apierror.Connection(err, server, contextName); line != "" {
			return line
		}
	}
	return oneLine(err.Error())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
