package exttoken

import (
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// TestHelpGolden pins every command's help: flags, wording, examples.
func TestHelpGolden(t *testing.T) {
	for _, path := range []string{"", "create", "list", "get", "describe", "delete", "disable", "enable", "set-ttl", "set-description",
		"legacy", "legacy list", "legacy delete", "settings", "settings set"} {
		args := append(strings.Fields(path), "--help")
		res := run(t, newRancher(t), args...)
		if res.Exit != 0 || res.Stderr != "" {
			t.Errorf("%s --help: %s", path, res)
		}
		name := "help-" + strings.ReplaceAll(path, " ", "-")
		if path == "" {
			name = "help"
		}
		clitest.Golden(t, name, res.Stdout)
	}
}
