package plugins_test

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/plugins"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/bootstrap"
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

// A credential that never expires reads "never" in the human output of
// the plugins, not kubeadm's <forever>/<never> nor <none>; JSON keeps
// each format's own fields.
func TestACredentialThatNeverExpiresReadsNever(t *testing.T) {
	bootstrapToken := bootstrap.ToSecret(&bootstrap.Token{ID: "abcdef", Secret: "0123456789abcdef", Usages: []string{"signing"}})
	extToken := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ext.cattle.io/v1", "kind": "Token",
		"metadata": map[string]any{"name": "token-forever", "creationTimestamp": "2026-11-01T00:00:00Z"},
		"spec":     map[string]any{"userID": "u-1", "kind": "", "ttl": int64(-1)},
		"status":   map[string]any{"current": false},
	}}
	extKinds := map[schema.GroupVersionResource]string{{Group: "ext.cattle.io", Version: "v1", Resource: "tokens"}: "TokenList"}
	for _, tc := range []struct {
		plugin string
		args   []string
		opts   clitest.Options
		row    string // the first word of the row
		cells  int    // how many cells of the row say never
	}{
		{"bootstrap", []string{"list"}, clitest.Options{Core: []runtime.Object{bootstrapToken}}, "abcdef", 2},
		{"bootstrap", []string{"inspect", "abcdef"}, clitest.Options{Core: []runtime.Object{bootstrapToken}}, "Expires:", 1},
		{"exttoken", []string{"list", "--show-expiry"}, clitest.Options{Dynamic: []runtime.Object{extToken}, ListKinds: extKinds}, "token-forever", 2},
	} {
		e, _ := plugins.ByName(tc.plugin)
		f := clitest.NewFactory(tc.opts)
		f.ServeListsOverREST(t) // exttoken's --show-expiry decodes its own list pages
		res := clitest.Run(t, e.NewRoot, f, "", tc.args...)
		var row []string
		for _, line := range strings.Split(res.Stdout, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == tc.row {
				row = f
			}
		}
		if n := slices.Index(row, "never"); n < 0 || strings.Count(strings.Join(row, " "), "never") != tc.cells {
			t.Errorf("kubectl %s %v: row %q, want %d cells saying never\n%s", tc.plugin, tc.args, row, tc.cells, res)
		}
		for _, other := range []string{"<forever>", "<never>", "<none>"} {
			if slices.Contains(row, other) && !(tc.plugin == "bootstrap" && other == "<none>") { // <none>: no description
				t.Errorf("kubectl %s %v says %s: %q", tc.plugin, tc.args, other, row)
			}
		}
	}
}
