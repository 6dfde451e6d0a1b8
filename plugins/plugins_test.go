package plugins

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// walk calls fn for every command of the tree below c.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// Every help text reads well: no line with a stray leading space, and
// every example names a command the plugin has.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, e := range All {
		root := e.NewRoot(genericiooptions.NewTestIOStreamsDiscard(), clitest.NewFactory(clitest.Options{}))
		walk(root, func(c *cobra.Command) {
			path := strings.Fields(c.CommandPath())[2:] // drop "kubectl <plugin>"
			res := clitest.Run(t, e.NewRoot, clitest.NewFactory(clitest.Options{}), "", append(path, "--help")...)
			if res.Exit != 0 {
				t.Errorf("%s --help: %s", c.CommandPath(), res)
				return
			}
			for _, line := range strings.Split(res.Stdout, "\n") {
				if strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "  ") {
					t.Errorf("%s --help: stray leading space in %q", c.CommandPath(), line)
				}
			}
			for _, line := range strings.Split(c.Example, "\n") {
				words := strings.Fields(line)
				i := indexOf(words, "kubectl")
				if i < 0 || i+1 >= len(words) || words[i+1] != e.Name {
					continue
				}
				args := words[i+2:]
				found, _, err := root.Find(args)
				if err != nil || (found == root && len(args) > 0 && !strings.HasPrefix(args[0], "-")) {
					t.Errorf("%s: example %q names no command of kubectl %s", c.CommandPath(), strings.TrimSpace(line), e.Name)
				}
			}
		})
	}
}

func indexOf(words []string, w string) int {
	for i, x := range words {
		if x == w {
			return i
		}
	}
	return -1
}
