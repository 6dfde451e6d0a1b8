//go:build e2e

// Package rancherimport tests kubectl regtoken import end to end: the
// built plugin through the real kubectl, against a real kube-apiserver
// standing for Rancher's local cluster (the Rancher CRDs, the import side
// of the Rancher emulator with its own HTTPS listener) and two real
// downstream control planes (test/multicluster), where the
// cattle-cluster-agent stand-in connects back with the token of the
// manifest the plugin applied.
package rancherimport

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env    *testenv.Env
	runner *plugintest.Runner

	downOnce   sync.Once
	downSet    *multicluster.Set
	downErr    error
	kubeconfig string // Rancher's local cluster (current context "rancher") and edge-1, edge-2
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{CRDDirs: []string{rancher.CRDDir}}, func(e *testenv.Env) (err error) {
		env = e
		env.OnStop(func() {
			if downSet != nil {
				_ = downSet.Stop()
			}
		})
		runner, err = plugintest.NewRunner()
		return err
	})
}

// downstreams starts the two downstream planes on first use and writes
// the kubeconfig with all contexts.
func downstreams(t *testing.T) *multicluster.Set {
	t.Helper()
	downOnce.Do(func() {
		if downSet, downErr = multicluster.Start(multicluster.Options{N: 2, NamePrefix: "edge"}); downErr != nil {
			return
		}
		kubeconfig = filepath.Join(env.Dir, "import.kubeconfig")
		downErr = downSet.WriteKubeconfig(kubeconfig, "rancher", env.Config)
	})
	if downErr != nil {
		t.Fatalf("starting the downstream control planes: %v", downErr)
	}
	return downSet
}

var wsCounter atomic.Int64

// startRancher runs the import side of release in a workspace of its own.
func startRancher(t *testing.T, opts rancher.ImportOptions) *rancher.Importer {
	t.Helper()
	opts.Workspace = fmt.Sprintf("ws-%d", wsCounter.Add(1))
	if os.Getenv("RANCHER_EMULATOR_LOG") != "" {
		opts.Log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	im, err := rancher.StartImport(ctx, env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.Stop)
	return im
}

// startAgents runs the cattle-cluster-agent stand-in on every downstream.
func startAgents(t *testing.T, im *rancher.Importer) []*rancher.Agent {
	t.Helper()
	var agents []*rancher.Agent
	for _, c := range downstreams(t).Clusters {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		a, err := rancher.StartAgent(ctx, c.Config, rancher.AgentOptions{RootCAs: im.CAPEM, RetryInterval: 500 * time.Millisecond})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Stop)
		agents = append(agents, a)
	}
	return agents
}

// regtoken runs kubectl regtoken with the test kubeconfig.
func regtoken(t *testing.T, args ...string) plugintest.Result {
	t.Helper()
	r := *runner
	r.Dir = t.TempDir()
	r.Timeout = 3 * time.Minute
	return r.Kubectl(append([]string{"regtoken", "--kubeconfig", kubeconfig}, args...)...)
}

// noSecrets fails when any of the tokens shows up in a result.
func noSecrets(t *testing.T, res plugintest.Result, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if tok != "" && (strings.Contains(res.Stdout, tok) || strings.Contains(res.Stderr, tok)) {
			t.Errorf("an import token shows in the output:\n%s", res)
		}
	}
}
