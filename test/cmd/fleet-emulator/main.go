// Command fleet-emulator runs the Fleet ClusterRegistrationToken controller
// emulator (test/emulators/fleet) as a background process, for make demo
// and benchmarks. It installs the CRDs and the fleet-controller ConfigMap
// when they are missing, writes --ready-file once it is watching, logs one
// line per action (the values Secret writes with an RFC3339Nano time) and
// exits cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-emulator: error:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig  = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to act on (admin rights)")
		delay       = flag.Duration("delay", 2*time.Second, "time from a token's first reconcile to its values Secret")
		ttlRequired = flag.Bool("ttl-required", false, "delete tokens without a positive TTL at once (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true)")
		legacy      = flag.Bool("legacy", false, "behave as Fleet <= v0.15 (no tokenName, -creds Role/RoleBinding, CRD without CEL)")
		url         = flag.String("api-server-url", "", "apiServerURL in the fleet-controller config (may be empty)")
		caFile      = flag.String("api-server-ca-file", "", "PEM file for apiServerCA in the fleet-controller config (may be empty)")
		systemNS    = flag.String("system-namespace", fleet.DefaultSystemNamespace, "the controller's namespace")
		namespace   = flag.String("namespace", "", "only handle tokens in this namespace (default all)")
		crdDir      = flag.String("crd-dir", defaultCRDDir(), "directory of the CRD YAML (legacy/ holds the <= v0.15 one)")
		grantDelay  = flag.Duration("grant-delay", 2*time.Second, "time from a ClusterRegistration's first reconcile to its grant")
		image       = flag.String("controller-image", "", "create the fleet-controller Deployment with this image (e.g. rancher/fleet:v0.16.1); empty: no Deployment")
		readyFile   = flag.String("ready-file", "", "write \"ready pid=N\" to this file (or FIFO) once the emulator is watching")
	)
	flag.Parse()
	if *kubeconfig == "" {
		return fmt.Errorf("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	var ca []byte
	if *caFile != "" {
		if ca, err = os.ReadFile(*caFile); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	created, err := fleet.InstallCRDs(ctx, cfg, *crdDir, *legacy)
	if err != nil {
		return err
	}
	for _, file := range created {
		fmt.Fprintf(os.Stderr, "fleet-emulator %s installed the CRD in %s\n", time.Now().UTC().Format(time.RFC3339Nano), file)
	}
	em, err := fleet.Start(ctx, cfg, fleet.Options{
		Delay:           *delay,
		TTLRequired:     *ttlRequired,
		Legacy:          *legacy,
		APIServerURL:    *url,
		APIServerCA:     string(ca),
		SystemNamespace: *systemNS,
		Namespace:       *namespace,
		GrantDelay:      *grantDelay,
		ControllerImage: *image,
		Log:             os.Stderr,
	})
	if err != nil {
		return err
	}
	defer em.Stop()
	if *readyFile != "" {
		// "ready" first: make demo reads the line from a FIFO.
		if err := os.WriteFile(*readyFile, []byte(fmt.Sprintf("ready pid=%d\n", os.Getpid())), 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "fleet-emulator %s stopping\n", time.Now().UTC().Format(time.RFC3339Nano))
	return nil
}

// defaultCRDDir is the repository's crds directory, found from the working
// directory (make runs from the root).
func defaultCRDDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("test", "emulators", "fleet", "crds")
	}
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "test", "emulators", "fleet", "crds")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(d) == d {
			return filepath.Join("test", "emulators", "fleet", "crds")
		}
	}
}
