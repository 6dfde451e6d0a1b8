// Command rancher-emulator runs the Rancher ext token API emulator
// (test/emulators/rancher) as a background process, for make demo and
// benchmarks. It installs the management.cattle.io CRDs when missing,
// seeds the token settings with Rancher's defaults, registers APIService
// v1.ext.cattle.io, writes "ready" to --ready-file once kube-apiserver
// reports it Available, logs one line per request (never a body), and on
// SIGINT or SIGTERM deletes its APIService and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rancher-emulator: error:", err)
		os.Exit(1)
	}
}

func run() error {
	// A flag set of our own: controller-runtime (linked in through
	// testenv) registers --kubeconfig on the global one.
	fs := flag.NewFlagSet("rancher-emulator", flag.ExitOnError)
	var (
		kubeconfig = fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to serve (admin rights)")
		caFile     = fs.String("front-proxy-ca-file", "", "the requestheader CA kube-apiserver's front-proxy client certificate chains to (required)")
		clientName = fs.String("front-proxy-client-name", "front-proxy-client", "the common name of kube-apiserver's front-proxy client certificate")
		version    = fs.String("version", string(rancher.Main), "Rancher release to behave like: 2.12, 2.13, 2.14, 2.15 or main")
		readyFile  = fs.String("ready-file", "", `write "ready" to this file (or FIFO) once the APIService is Available`)
		quiet      = fs.Bool("quiet", false, "do not log requests")
		importRel  = fs.String("import-release", "", "also run the cluster-import side as this Rancher patch release (e.g. 2.15.0): provisioning clusters in fleet-default, import tokens, the HTTPS /v3/import route")
		importDown = fs.String("import-downstreams", "", "with --import-release: a kubeconfig whose contexts other than the current one are downstream clusters; each gets the cattle-cluster-agent stand-in")
		importWait = fs.Duration("import-delay", 500*time.Millisecond, "with --import-release: how long Rancher's controllers take at each import step")
	)
	_ = fs.Parse(os.Args[1:])
	if *kubeconfig == "" {
		return fmt.Errorf("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
	}
	if *caFile == "" {
		return fmt.Errorf("no --front-proxy-ca-file: the emulator trusts caller identities only from kube-apiserver's front proxy")
	}
	v, err := rancher.ParseVersion(*version)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	setup, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := rancher.InstallCRDs(setup, cfg); err != nil {
		return err
	}
	opts := rancher.Options{Version: v}
	if !*quiet {
		opts.Log = os.Stderr
	}
	em, err := rancher.Start(setup, cfg, &testenv.FrontProxy{CAPEM: ca, ClientName: *clientName}, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "rancher-emulator %s serving ext.cattle.io/v1 as Rancher %s on 127.0.0.1:%d\n", time.Now().UTC().Format(time.RFC3339Nano), v, em.Port)
	if *importRel != "" {
		stopImport, err := startImport(setup, cfg, *importRel, *importDown, *importWait, opts.Log)
		if err != nil {
			_ = em.Stop()
			return err
		}
		defer stopImport()
	}
	if *readyFile != "" {
		// O_CREATE without O_TRUNC|O_EXCL: the demo hands us a FIFO.
		f, err := os.OpenFile(*readyFile, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			_ = em.Stop()
			return err
		}
		_, err = fmt.Fprintf(f, "ready pid=%d port=%d\n", os.Getpid(), em.Port)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = em.Stop()
			return err
		}
	}
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "rancher-emulator %s stopping: deleting APIService %s\n", time.Now().UTC().Format(time.RFC3339Nano), rancher.APIServiceName)
	return em.Stop()
}

// startImport runs the import side and, on every downstream context of
// downstreams, the cattle-cluster-agent stand-in that connects back with
// the token of the manifest applied there.
func startImport(ctx context.Context, cfg *rest.Config, release, downstreams string, delay time.Duration, log io.Writer) (stop func(), err error) {
	rel, err := rancher.ParseRelease(release)
	if err != nil {
		return nil, err
	}
	im, err := rancher.StartImport(ctx, cfg, rancher.ImportOptions{Release: rel, Delay: delay, Log: log})
	if err != nil {
		return nil, err
	}
	var agents []*rancher.Agent
	stop = func() {
		for _, a := range agents {
			a.Stop()
		}
		im.Stop()
	}
	fmt.Fprintf(os.Stderr, "rancher-emulator: import side of Rancher %s at %s\n", rel, im.URL)
	if downstreams == "" {
		return stop, nil
	}
	kc, err := clientcmd.LoadFromFile(downstreams)
	if err != nil {
		stop()
		return nil, err
	}
	for name := range kc.Contexts {
		if name == kc.CurrentContext {
			continue
		}
		dc, err := clientcmd.NewNonInteractiveClientConfig(*kc, name, nil, nil).ClientConfig()
		if err != nil {
			stop()
			return nil, fmt.Errorf("context %s of %s: %w", name, downstreams, err)
		}
		a, err := rancher.StartAgent(ctx, dc, rancher.AgentOptions{RootCAs: im.CAPEM, RetryInterval: 500 * time.Millisecond})
		if err != nil {
			stop()
			return nil, fmt.Errorf("the cattle-cluster-agent stand-in on %s: %w", name, err)
		}
		agents = append(agents, a)
		fmt.Fprintf(os.Stderr, "rancher-emulator: cattle-cluster-agent stand-in watching %s\n", name)
	}
	return stop, nil
}
