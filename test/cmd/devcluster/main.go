// Command devcluster runs a throwaway control plane (the real
// kube-apiserver and etcd from bin/testbin) for make demo and make bench,
// until SIGINT or SIGTERM. It writes into --state-dir:
//
//	admin.kubeconfig         admin credentials, CA embedded
//	front-proxy-ca.crt       the requestheader CA for aggregated API emulators
//	front-proxy-client-name  the common name kube-apiserver presents to them
//
// and then writes "ready" to --ready-file (which may be a FIFO).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

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
