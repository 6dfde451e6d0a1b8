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

// Main runs plugin p and exits: 0 on success, 1 on error, 130/143 when
// SIGINT/SIGTERM stopped it. newRoot builds the command tree on clients
// from the kubeconfig.
func Main(p Plugin, newRoot func(genericiooptions.IOStreams, Clients) *cobra.Command) {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	f := NewFactory(p.Binary())
	os.Exit(Run(newRoot(streams, f), f, streams, os.Args[1:]))
}

// Run executes root with args. The context handed to commands is cancelled
// by the first SIGINT or SIGTERM, so a wait or a write can clean up and
// say what was left behind; a second signal exits at once.
func Run(root *cobra.Command, f Clients, streams genericiooptions.IOStreams, args []string) int {
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

	explainArgErrors(root)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if s, ok := got.Load().(os.Signal); ok {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(streams.ErrOut, "error: %s\n", Explain(err, f))
		}
		return exitCode(s)
	}
	if code, ok := exitFor(err, streams.ErrOut); ok {
		return code
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

// Explain renders err as the one line printed after "error: ". A
// connection error names the server and context f was asked to reach; a
// command the line suggests (kubectl auth can-i ...) gets the user's
// connection flags, so it asks the same cluster.
func Explain(err error, f Clients) string {
	if f == nil {
		return apierror.OneLine(err.Error())
	}
	server, contextName := f.Endpoint()
	if line := apierror.Connection(err, server, contextName); line != "" {
		return line
	}
	if apierror.IsNotServedError(err) {
		if cfg, cerr := f.RESTConfig(); cerr == nil {
			if line := notKubernetes(cfg, contextName); line != "" {
				return line
			}
		}
	}
	line := apierror.OneLine(err.Error())
	if text, argv, ok := apierror.Command(err); ok {
		line = strings.ReplaceAll(line, text, HintCommand(f, argv...))
	}
	return line
}
