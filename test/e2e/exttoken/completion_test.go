//go:build e2e

package exttoken

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// TestCompletionNamesTokens: TAB after a command that takes a token name
// offers the caller's tokens, from the cluster.
func TestCompletionNamesTokens(t *testing.T) {
	emulator(t)
	u := newUser(t, "complete", rancher.UserOptions{})
	other := newUser(t, "notmine", rancher.UserOptions{})
	mine, _ := create(t, u)
	theirs, _ := create(t, other)
	for _, cmd := range []string{"get", "describe", "delete", "disable", "set-ttl"} {
		res := runner.Run(filepath.Join(runner.BinDir, "kubectl-exttoken"), "__complete", "--kubeconfig", u.Kubeconfig, cmd, "")
		if res.Code != 0 || !strings.Contains(res.Stdout, mine+"\n") || strings.Contains(res.Stdout, theirs) {
			t.Errorf("__complete %s: %s", cmd, res)
		}
	}
	res := runner.Run(filepath.Join(runner.BinDir, "kubectl-exttoken"), "__complete", "--kubeconfig", u.Kubeconfig, "settings", "set", "")
	if !strings.Contains(res.Stdout, "auth-token-max-ttl-minutes\n") {
		t.Errorf("__complete settings set: %s", res)
	}
}
