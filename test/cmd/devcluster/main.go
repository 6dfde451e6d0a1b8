// Command devcluster runs a throwaway control plane (the real
// kube-apiserver and etcd from bin/testbin) for make demo and make bench,
// until SIGINT or SIGTERM. It writes into --state-dir:
//
//	admin.kubeconfig         admin credentials, CA embedded
//	front-proxy-ca.crt       the requestheader CA for aggregated API emulators
//	front-proxy-client-name  the common name kube-apiserver presents to them
//
// With --real-fleet it also runs the real Fleet v0.16.1 (test/realfleet:
// make fleet builds it) on that control plane, and --fleet-downstreams N
// downstream control planes whose fleet-agent Deployments run as
// processes; it writes --enroll-kubeconfig (admin.kubeconfig plus one
// context per downstream plane, <prefix>-1 … <prefix>-N).
//
// and then writes "ready" to --ready-file (which may be a FIFO).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
	"github.com/kubectl-tokens/kubectl-tokens/test/realfleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "devcluster: %v\n", err)
		os.Exit(1)
	}
}

type argFlags map[string][]string

func (a argFlags) String() string { return fmt.Sprint(map[string][]string(a)) }
func (a argFlags) Set(v string) error {
	k, val, ok := strings.Cut(strings.TrimPrefix(v, "--"), "=")
	if !ok {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	a[k] = append(a[k], val)
	return nil
}

func run() error {
	stateDir := flag.String("state-dir", "", "directory for the kubeconfig and front-proxy files (required)")
	readyFile := flag.String("ready-file", "", "file (or FIFO) that receives \"ready\" once the control plane serves")
	apiArgs := argFlags{}
	flag.Var(apiArgs, "apiserver-arg", "extra kube-apiserver flag NAME=VALUE (repeatable)")
	realFleet := flag.Bool("real-fleet", false, "run the real Fleet (make fleet) on the control plane")
	downstreams := flag.Int("fleet-downstreams", 0, "with --real-fleet: downstream control planes whose fleet-agent runs")
	prefix := flag.String("downstream-prefix", "edge", "context names of the downstream planes: PREFIX-1 … PREFIX-N")
	enrollKubeconfig := flag.String("enroll-kubeconfig", "", "with --fleet-downstreams: kubeconfig to write with every plane's context")
	flag.Parse()
	if *stateDir == "" {
		return fmt.Errorf("--state-dir is required")
	}
	env, err := testenv.Start(testenv.Options{FrontProxy: true, APIServerArgs: apiArgs})
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()

	kc, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"admin.kubeconfig":        kc,
		"front-proxy-ca.crt":      env.FrontProxy.CAPEM,
		"front-proxy-client-name": []byte(env.FrontProxy.ClientName),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*stateDir, name), data, 0o600); err != nil {
			return err
		}
	}
	if *realFleet {
		stop, err := startRealFleet(env, *downstreams, *prefix, *enrollKubeconfig)
		if err != nil {
			return err
		}
		defer stop()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, []byte("ready\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "devcluster: serving at %s\n", env.Config.Host)
	<-sigs
	fmt.Fprintln(os.Stderr, "devcluster: stopping")
	return nil
}

// startRealFleet runs the real Fleet on env and n downstream planes with
// a kubelet for their fleet-agent, and returns what stops them.
func startRealFleet(env *testenv.Env, n int, prefix, enrollKubeconfig string) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	var set *multicluster.Set
	if n > 0 {
		var err error
		if set, err = multicluster.Start(multicluster.Options{N: n, NamePrefix: prefix}); err != nil {
			return nil, err
		}
	}
	stopSet := func() {
		if set != nil {
			_ = set.Stop()
		}
	}
	f, err := realfleet.Start(ctx, env, realfleet.Options{})
	if err != nil {
		stopSet()
		return nil, err
	}
	stop := func() { f.Stop(); stopSet() }
	if set != nil {
		for _, c := range set.Clusters {
			if _, err := f.StartAgents(ctx, c.Name, c.Config); err != nil {
				stop()
				return nil, err
			}
		}
		kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
		if err != nil {
			stop()
			return nil, err
		}
		set.AddTo(kc)
		if err := clientcmd.WriteToFile(*kc, enrollKubeconfig); err != nil {
			stop()
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "devcluster: the real Fleet %s answered its first token %s after its start; %d downstream planes; ready %s after start (logs in %s)\n",
		realfleet.Version, f.Took.Round(time.Millisecond), n, time.Since(began).Round(time.Millisecond), f.Dir())
	return stop, nil
}
