//go:build e2e

package multicluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(m.Run())
}

// N clusters (MULTICLUSTER_N, default 2) are N distinct clusters: each has
// its own kube-system UID and objects, reachable through its own context
// of the written kubeconfig, the first of them also standing in as the
// "upstream" current context here.
func TestDistinctClusters(t *testing.T) {
	n := 2
	if v := os.Getenv("MULTICLUSTER_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	set, err := Start(Options{N: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set.Stop(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("started %d downstream control planes in %s", n, set.Took)

	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := set.WriteKubeconfig(path, "upstream", set.Clusters[0].Config); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if kc.CurrentContext != "upstream" || len(kc.Contexts) != n+1 {
		t.Fatalf("kubeconfig: current %q, %d contexts", kc.CurrentContext, len(kc.Contexts))
	}
	ctx := context.Background()
	uids := map[string]string{}
	for _, name := range set.Names() {
		cfg, err := clientcmd.NewNonInteractiveClientConfig(*kc, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		ns, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("context %s: %v", name, err)
		}
		if other, dup := uids[string(ns.UID)]; dup {
			t.Errorf("contexts %s and %s share kube-system UID %s", other, name, ns.UID)
		}
		uids[string(ns.UID)] = name
	}
}
