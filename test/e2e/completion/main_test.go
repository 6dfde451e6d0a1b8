//go:build e2e

// Package completion checks shell completion of the plugins the way a
// shell gets it: the real kubectl (>= 1.26) runs kubectl_complete-<name>
// (hack/completion), which asks the plugin's Cobra completion, here against
// the real control plane.
package completion

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env *testenv.Env
	// withShims has the plugins and their kubectl_complete-<name> shims on
	// PATH; withoutShims only the plugins.
	withShims, withoutShims *plugintest.Runner
)

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	plain, err := plugintest.NewRunner()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "kubectl-tokens-completion-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, p := range plugintest.Plugins {
		links := map[string]string{
			"kubectl-" + p:          filepath.Join(plain.BinDir, "kubectl-"+p),
			"kubectl_complete-" + p: filepath.Join(root, "hack", "completion", "kubectl_complete-"+p),
		}
		for name, target := range links {
			if _, err := os.Stat(target); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	withoutShims = plain
	withShims = &plugintest.Runner{BinDir: dir, Home: plain.Home}

	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	return m.Run()
}
