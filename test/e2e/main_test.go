//go:build e2e

// Package e2e runs the built plugins through the real kubectl against the
// real control plane.
package e2e

import (
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env    *testenv.Env
	runner *plugintest.Runner
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, func(e *testenv.Env) (err error) {
		env = e
		runner, err = plugintest.NewRunner()
		return err
	})
}
