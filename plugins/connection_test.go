package plugins_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/plugins"
)

// kubeconfigFile writes a kubeconfig with one context, ctx, on a server
// nothing listens on (the checks under test come before any request).
func kubeconfigFile(t *testing.T, dir, ctx string) string {
	t.Helper()
	path := filepath.Join(dir, ctx+".kubeconfig")
	body := strings.ReplaceAll(`apiVersion: v1
kind: Config
clusters:
- name: CTX
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: CTX
  user: {token: not-a-secret}
contexts:
- name: CTX
  context: {cluster: CTX, user: CTX}
current-context: CTX
`, "CTX", ctx)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runReal runs a plugin as its binary does, on the real Factory.
func runReal(t *testing.T, e plugins.Entry, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := cli.NewFactory(e.Binary())
	code := cli.Run(e.NewRoot(streams, f), f, streams, args)
	return out.String(), errOut.String(), code
}

// --context naming no context of the merged kubeconfig is said as that,
// naming the files merged (not "cannot load kubeconfig", not a literal
// $KUBECONFIG), in all three plugins.
func TestAContextMissingFromTheMergedKubeconfigIsNamedAsSuch(t *testing.T) {
	dir := t.TempDir()
	one := kubeconfigFile(t, dir, "one")
	two := kubeconfigFile(t, dir, "two")
	for _, e := range plugins.All {
		t.Run(e.Name+" --kubeconfig", func(t *testing.T) {
			t.Setenv("KUBECONFIG", "")
			_, stderr, exit := runReal(t, e, "list", "--kubeconfig", one, "--context", "nosuch")
			want := `error: context "nosuch" does not exist in the merged kubeconfig ` + one + ": pass a context it names (kubectl config get-contexts --kubeconfig=" + one + " lists them)\n"
			if exit != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q\nwant %q", exit, stderr, want)
			}
		})
		t.Run(e.Name+" $KUBECONFIG", func(t *testing.T) {
			t.Setenv("KUBECONFIG", one+string(filepath.ListSeparator)+two)
			_, stderr, exit := runReal(t, e, "list", "--context", "nosuch")
			want := `error: context "nosuch" does not exist in the merged kubeconfig ` + one + string(filepath.ListSeparator) + two + ": pass a context it names (kubectl config get-contexts lists them)\n"
			if exit != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q\nwant %q", exit, stderr, want)
			}
		})
	}
}
