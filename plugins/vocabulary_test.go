package plugins_test

import (
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/plugins"
)

// A negative --chunk-size is refused in the same words by every command
// that lists.
func TestANegativeChunkSizeIsRefusedInOneWording(t *testing.T) {
	const want = "error: --chunk-size -1 is negative: pass 0 for one request, or a page size\n"
	for _, args := range [][]string{
		{"regtoken", "list"}, {"regtoken", "delete", "--expired"},
		{"exttoken", "list"}, {"exttoken", "delete", "--expired"}, {"exttoken", "legacy", "list"}, {"exttoken", "legacy", "delete", "--expired"},
		{"bootstrap", "list"},
	} {
		e, ok := plugins.ByName(args[0])
		if !ok {
			t.Fatalf("no plugin %s", args[0])
		}
		res := clitest.Run(t, e.NewRoot, clitest.NewFactory(clitest.Options{REST: &rest.Config{Host: "https://127.0.0.1:1"}}), "", append(args[1:], "--chunk-size", "-1")...)
		if res.Exit != 1 || res.Stderr != want {
			t.Errorf("kubectl %v --chunk-size -1: %s\nwant stderr %q", args, res, want)
		}
	}
}
