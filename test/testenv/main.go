package testenv

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Main is the TestMain of a package that runs on a control plane: it
// starts one with opts, hands it to setup (which keeps it and prepares
// fixtures), runs the tests, stops the control plane and exits. Under
// go test -short the package is skipped whole (the fast path needs
// nothing built); otherwise a failed start or setup fails the package:
// nothing is skipped.
func Main(m *testing.M, opts Options, setup func(*Env) error) {
	ExitUnderShort()
	os.Exit(run(m, opts, setup))
}

// ExitUnderShort ends a TestMain successfully under go test -short,
// before it builds or starts anything: the fast path needs nothing built.
// Call it first in a TestMain that needs a control plane or built tools.
func ExitUnderShort() {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipped under -short: these tests need a control plane or built tools (make test)")
		os.Exit(0)
	}
}

func run(m *testing.M, opts Options, setup func(*Env) error) int {
	// envtest logs through controller-runtime; unset, it warns on stderr.
	ctrllog.SetLogger(logr.Discard())
	env, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if setup != nil {
		if err := setup(env); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}
