package exttoken

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Every command with --kind completes its values: the ext kinds on ext
// tokens (create, list, delete, prune, ...), the v3 kinds on legacy ones.
// The commands are found by walking the tree, so a new --kind is covered.
func TestKindFlagCompletesKinds(t *testing.T) {
	f := newRancher(t)
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Flags().Lookup("kind") != nil {
			paths = append(paths, path)
		}
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(NewRoot(genericiooptions.NewTestIOStreamsDiscard(), f.Factory), nil)
	if len(paths) < 4 {
		t.Fatalf("found --kind on only %q", paths)
	}
	for _, path := range paths {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			want := "session\nkubeconfig\n:4\n"
			if path[0] == "legacy" {
				want = "session\n" + strings.Join(legacyPrefixes, "\n") + "\n:4\n"
			}
			res := run(t, f, append(append([]string{"__complete"}, path...), "--kind", "")...)
			if res.Exit != 0 || !strings.HasPrefix(res.Stdout, want) {
				t.Errorf("want %q, got %s", want, res)
			}
		})
	}
}
