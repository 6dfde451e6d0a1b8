// Command fleet-downstreams runs N downstream control planes
// (test/multicluster) with a Fleet agent stand-in on each
// (test/emulators/fleetagent), for make demo and manual runs of kubectl
// regtoken enroll, until SIGINT or SIGTERM. It writes --out-kubeconfig:
// the management cluster's kubeconfig (--kubeconfig, its current context
// kept current) plus one context per downstream cluster
// (<prefix>-1 … <prefix>-N); then "ready pid=N" to --ready-file (which may
// be a FIFO). The agents log one line per step to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleetagent"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-downstreams: error:", err)
		os.Exit(1)
	}
}

func run() error {
	// A FlagSet of its own: controller-runtime (through envtest) registers
	// --kubeconfig on flag.CommandLine at init, and a second one panics.
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	var (
		kubeconfig = fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the Fleet management cluster (copied into --out-kubeconfig)")
		out        = fs.String("out-kubeconfig", "", "kubeconfig to write: the management cluster's plus one context per downstream cluster (required)")
		n          = fs.Int("clusters", 2, "number of downstream control planes")
		prefix     = fs.String("prefix", "downstream", "context names: PREFIX-1 … PREFIX-N")
		startDelay = fs.Duration("agent-delay", 0, "time from the fleet-agent Deployment's appearance to the agent's registration")
		poll       = fs.Duration("poll-interval", 2*time.Second, "the agent's credential Secret poll (Fleet: 2s)")
		retry      = fs.Duration("retry-interval", 10*time.Second, "wait after a failed registration (Fleet: 60s)")
		readyFile  = fs.String("ready-file", "", "write \"ready pid=N\" to this file (or FIFO) once every agent is watching")
	)
	_ = fs.Parse(os.Args[1:]) // ExitOnError: never returns an error
	if *kubeconfig == "" || *out == "" {
		return fmt.Errorf("--kubeconfig (or KUBECONFIG) and --out-kubeconfig are required")
	}
	kc, err := clientcmd.LoadFromFile(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	set, err := multicluster.Start(multicluster.Options{N: *n, NamePrefix: *prefix})
	if err != nil {
		return err
	}
	defer func() { _ = set.Stop() }()
	logf := func(name string) func(string, ...any) {
		return func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s %s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339Nano), name}, args...)...)
		}
	}
	for _, c := range set.Clusters {
		a, err := fleetagent.Start(ctx, c.Config, fleetagent.Options{StartDelay: *startDelay, PollInterval: *poll, RetryInterval: *retry, Logf: logf(c.Name)})
		if err != nil {
			return err
		}
		defer a.Stop()
	}
	set.AddTo(kc)
	if err := clientcmd.WriteToFile(*kc, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fleet-downstreams: %d control planes (%v) up in %s; kubeconfig %s\n", *n, set.Names(), set.Took.Round(time.Millisecond), *out)
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, []byte(fmt.Sprintf("ready pid=%d\n", os.Getpid())), 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "fleet-downstreams: stopping")
	return nil
}
