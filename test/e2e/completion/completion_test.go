//go:build e2e

package completion

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/plugins"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// newRoot is the command tree the binary of plugin is built from, to
// compare what comes back through kubectl with what the plugin itself
// completes.
func newRoot(t *testing.T, plugin string, streams genericiooptions.IOStreams) *cobra.Command {
	t.Helper()
	e, ok := plugins.ByName(plugin)
	if !ok {
		t.Fatalf("no plugin %q", plugin)
	}
	root, _ := e.NewCommand(streams)
	return root
}

// candidates splits `__complete` output into the candidate values (the
// text before a tab; after it is the description) and the directive line.
func candidates(out string) (values []string, directive string) {
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		if line != "" {
			values = append(values, strings.SplitN(line, "\t", 2)[0])
		}
	}
	return values, directive
}

// inProcess runs the plugin's own `__complete args...` in this process.
func inProcess(t *testing.T, plugin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(t, plugin, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("%s __complete %q in process: %v\n%s", plugin, args, err, errOut.String())
	}
	return out.String()
}

// kubectlComplete runs `kubectl __complete <plugin> args...` through the
// real kubectl, which hands the words to kubectl_complete-<plugin>.
func kubectlComplete(t *testing.T, r *plugintest.Runner, plugin string, args ...string) plugintest.Result {
	t.Helper()
	res := r.Kubectl(append([]string{"__complete", plugin}, args...)...)
	if res.Code != 0 {
		t.Fatalf("kubectl __complete %s %q: %s", plugin, args, res)
	}
	return res
}

func TestSubcommandsCompleteThroughKubectl(t *testing.T) {
	for _, p := range plugintest.Plugins {
		t.Run(p, func(t *testing.T) {
			res := kubectlComplete(t, withShims, p, "")
			got, directive := candidates(res.Stdout)
			// Every subcommand a user can run, as the plugin's tree has them.
			root := newRoot(t, p, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
			// Cobra adds these two when a command runs.
			root.InitDefaultHelpCmd()
			root.InitDefaultCompletionCmd()
			var want []string
			for _, c := range root.Commands() {
				if c.IsAvailableCommand() || c.Name() == "help" {
					want = append(want, c.Name())
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("kubectl __complete %s \"\": got %v, want the subcommands %v\n%s", p, got, want, res)
			}
			for _, must := range []string{"version", "completion"} {
				if !slices.Contains(got, must) {
					t.Errorf("kubectl __complete %s \"\" lacks %q: %s", p, must, res)
				}
			}
			if directive != ":4" {
				t.Errorf("directive %q, want :4 (no file completion)", directive)
			}
			// The descriptions come through too, byte for byte.
			if want := inProcess(t, p, ""); res.Stdout != want {
				t.Errorf("through kubectl:\n%s\nthe plugin itself:\n%s", res.Stdout, want)
			}

			// Without the shim kubectl has nothing to ask: this is what the
			// caveats tell krew users to install.
			bare := kubectlComplete(t, withoutShims, p, "")
			if got, _ := candidates(bare.Stdout); slices.Contains(got, "version") {
				t.Errorf("without kubectl_complete-%s kubectl still completed %v: the test does not exercise the shim", p, got)
			}
		})
	}
}

func TestFlagValuesCompleteThroughKubectl(t *testing.T) {
	for _, p := range plugintest.Plugins {
		t.Run(p, func(t *testing.T) {
			res := kubectlComplete(t, withShims, p, "version", "-o", "")
			got, _ := candidates(res.Stdout)
			if !slices.Contains(got, "json") || !slices.Contains(got, "yaml") {
				t.Errorf("kubectl __complete %s version -o \"\": want json and yaml: %s", p, res)
			}
			if want := inProcess(t, p, "version", "-o", ""); res.Stdout != want {
				t.Errorf("through kubectl:\n%s\nthe plugin itself:\n%s", res.Stdout, want)
			}
		})
	}
}

// Namespaces come from the real apiserver, with the kubeconfig given as a
// flag after the plugin name (kubectl forwards no global flag) or through
// $KUBECONFIG.
func TestNamespacesCompleteFromTheCluster(t *testing.T) {
	ctx := context.Background()
	cs := env.Clientset()
	for _, name := range []string{"completion-alpha", "completion-beta"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ns := range list.Items {
		want = append(want, ns.Name)
	}
	slices.Sort(want)

	viaEnv := *withShims
	viaEnv.Env = append(slices.Clone(withShims.Env), "KUBECONFIG="+env.Kubeconfig)
	cases := []struct {
		name   string
		runner *plugintest.Runner
		args   []string
	}{
		{"--kubeconfig --namespace", withShims, []string{"--kubeconfig", env.Kubeconfig, "version", "--namespace", ""}},
		{"-n after the subcommand", withShims, []string{"version", "--kubeconfig", env.Kubeconfig, "-n", ""}},
		{"$KUBECONFIG", &viaEnv, []string{"version", "--namespace", ""}},
	}
	for _, p := range plugintest.Plugins {
		for _, tc := range cases {
			t.Run(p+" "+tc.name, func(t *testing.T) {
				res := kubectlComplete(t, tc.runner, p, tc.args...)
				got, directive := candidates(res.Stdout)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("namespaces: got %v, want the cluster's %v\n%s", got, want, res)
				}
				if directive != ":4" {
					t.Errorf("directive %q, want :4", directive)
				}
			})
		}
	}
}

func TestContextsCompleteFromTheKubeconfig(t *testing.T) {
	cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for name := range cfg.Contexts {
		want = append(want, name)
	}
	slices.Sort(want)
	for _, p := range plugintest.Plugins {
		res := kubectlComplete(t, withShims, p, "version", "--kubeconfig", env.Kubeconfig, "--context", "")
		got, _ := candidates(res.Stdout)
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("kubectl __complete %s --context: got %v, want %v", p, got, want)
		}
	}
}

// `kubectl <plugin> completion <shell>` prints a script that asks the
// plugin's __complete.
func TestCompletionScripts(t *testing.T) {
	for _, p := range plugintest.Plugins {
		for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
			res := withShims.Kubectl(p, "completion", shell)
			if res.Code != 0 || !strings.Contains(res.Stdout, "__complete") || res.Stderr != "" {
				t.Errorf("kubectl %s completion %s: %s", p, shell, res)
			}
		}
	}
}
