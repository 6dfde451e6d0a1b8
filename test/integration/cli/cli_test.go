//go:build e2e

package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, func(e *testenv.Env) error { env = e; return nil })
}

// newTestRoot is a plugin with one command, "secrets", that lists the
// Secrets of the namespace the flags select, the way real commands use
// the Factory.
func newTestRoot(streams genericiooptions.IOStreams) (*cobra.Command, cli.Clients) {
	p := cli.Plugin{Name: "testplugin", Short: "test", Example: "kubectl testplugin secrets"}
	f := cli.NewFactory(p.Binary())
	root := cli.NewRoot(p, streams, f)
	root.AddCommand(&cobra.Command{
		Use: "secrets",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, _, err := f.Namespace()
			if err != nil {
				return err
			}
			core, err := f.CoreV1()
			if err != nil {
				return err
			}
			list, err := core.Secrets(ns).List(cmd.Context(), metav1.ListOptions{})
			if err != nil {
				return apierror.Wrap(err, apierror.Op{Verb: "list", Resource: schema.GroupResource{Resource: "secrets"}, Namespace: ns})
			}
			fmt.Fprintf(streams.Out, "namespace=%s\n", ns)
			for _, s := range list.Items {
				fmt.Fprintln(streams.Out, s.Name)
			}
			return nil
		},
	})
	return root, f
}

func run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root, f := newTestRoot(streams)
	code = cli.Run(root, f, streams, args)
	return out.String(), errOut.String(), code
}

func mustSecret(t *testing.T, ns, name string) {
	t.Helper()
	cs := env.Clientset()
	ctx := context.Background()
	_, _ = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A kubeconfig with a broken current context and a good one, whose
// namespace is "from-kubeconfig".
func twoContextKubeconfig(t *testing.T) string {
	t.Helper()
	good := testenv.KubeconfigFor(env.Config, "good", "from-kubeconfig")
	bad := good.DeepCopy()
	bad.Clusters["envtest"].Server = "https://127.0.0.1:1" // nothing listens there
	good.Clusters["broken"] = bad.Clusters["envtest"]
	good.Contexts["broken"] = bad.Contexts["good"].DeepCopy()
	good.Contexts["broken"].Cluster = "broken"
	good.CurrentContext = "broken"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*good, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConnectionFlagsReachTheAPIServer(t *testing.T) {
	mustSecret(t, "from-kubeconfig", "in-kubeconfig-namespace")
	mustSecret(t, "from-flag", "in-flag-namespace")
	kc := twoContextKubeconfig(t)

	// Current context is broken: the error names server and context.
	_, stderr, code := run("secrets", "--kubeconfig", kc)
	if code != 1 || !strings.Contains(stderr, `https://127.0.0.1:1 (context "broken")`) || !strings.Contains(stderr, "connection refused") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("broken context: want one line naming server and context, got exit %d: %q", code, stderr)
	}

	// --context picks the good one; its namespace applies without -n.
	out, stderr, code := run("secrets", "--kubeconfig", kc, "--context", "good")
	if code != 0 || !strings.Contains(out, "namespace=from-kubeconfig\nin-kubeconfig-namespace\n") {
		t.Errorf("--context good: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// -n wins over the kubeconfig namespace.
	out, stderr, code = run("secrets", "--kubeconfig", kc, "--context", "good", "-n", "from-flag")
	if code != 0 || !strings.Contains(out, "namespace=from-flag\nin-flag-namespace\n") {
		t.Errorf("-n from-flag: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// --server overrides the broken cluster's address.
	out, stderr, code = run("secrets", "--kubeconfig", kc, "--server", env.Config.Host, "-n", "from-flag")
	if code != 0 || !strings.Contains(out, "in-flag-namespace") {
		t.Errorf("--server: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestImpersonatedRestrictedUserGetsOneForbiddenLine(t *testing.T) {
	mustSecret(t, "restricted", "hidden")
	kc := twoContextKubeconfig(t)
	_, stderr, code := run("secrets", "--kubeconfig", kc, "--context", "good", "-n", "restricted", "--as", "jane", "--as-group", "devs")
	if code != 1 {
		t.Fatalf("want exit 1, got %d: %s", code, stderr)
	}
	for _, want := range []string{`User "jane"`, `cannot list resource "secrets"`, `namespace "restricted"`, "kubectl auth can-i list secrets -n restricted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("Forbidden line lacks %q: %q", want, stderr)
		}
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "error: ") {
		t.Errorf("want exactly one error line: %q", stderr)
	}

	// The same user with a Role can list: --as really reaches RBAC.
	cs := env.Clientset()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}}
	if _, err := cs.RbacV1().Roles("restricted").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "devs"}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "secret-reader"}, Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "devs"}}}
	if _, err := cs.RbacV1().RoleBindings("restricted").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitForAccess(ctx, env.Config, authorizationv1.SubjectAccessReviewSpec{User: "jane", Groups: []string{"devs"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "restricted", Verb: "list", Resource: "secrets"}}); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run("secrets", "--kubeconfig", kc, "--context", "good", "-n", "restricted", "--as", "jane", "--as-group", "devs")
	if code != 0 || !strings.Contains(out, "hidden") {
		t.Errorf("with a RoleBinding for group devs: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestRestrictedUserKubeconfig(t *testing.T) {
	_, kc, err := env.User("nobody")
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run("secrets", "--kubeconfig", kc, "-n", "kube-system")
	if code != 1 || !strings.Contains(stderr, `User "nobody" cannot list resource "secrets"`) {
		t.Errorf("restricted kubeconfig user: exit %d, stderr %q", code, stderr)
	}
}

func TestEmptyKubeconfigIsExplained(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run("secrets", "--kubeconfig", empty)
	if code != 1 || !strings.Contains(stderr, "empty or missing") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("empty kubeconfig: exit %d, stderr %q", code, stderr)
	}
}

func TestVerbosityIsCapped(t *testing.T) {
	_, stderr, code := run("secrets", "--kubeconfig", env.Kubeconfig, "-n", "default", "-v=9")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "capped at -v=7") {
		t.Errorf("-v=9 should say it is capped: %q", stderr)
	}
	// klog writes to the process's stderr, not to these streams: that no
	// body is logged at -v=9 is checked on the built binaries
	// (test/e2e/*/ hygiene tests), where stderr can be read.
	if klog.V(8).Enabled() || !klog.V(7).Enabled() {
		t.Errorf("after -v=9 klog should log at 7 but not at 8 (bodies): V(7)=%v V(8)=%v", bool(klog.V(7).Enabled()), bool(klog.V(8).Enabled()))
	}
}

func TestHelpUsesKubectlPrefix(t *testing.T) {
	out, _, code := run("--help")
	if code != 0 || !strings.Contains(out, "kubectl testplugin [command]") || !strings.Contains(out, "Examples:") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}
