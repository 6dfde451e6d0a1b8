// Package e2e runs the built plugins through the real kubectl against the
// real control plane.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env    *testenv.Env
	runner *plugintest.Runner
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if runner, err = plugintest.NewRunner(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	return m.Run()
}
