//go:build e2e

package exttoken

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// addCluster creates a Rancher (management) cluster; aceFQDN gives it an
// authorized cluster endpoint, for which a kubeconfig gets a
// cluster-scoped token.
func addCluster(t *testing.T, name, aceFQDN string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{"displayName": name}
	if aceFQDN != "" {
		spec["localClusterAuthEndpoint"] = map[string]any{"enabled": true, "fqdn": aceFQDN}
	}
	_, err = dyn.Resource(rancher.ClustersGVR).Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Cluster", "metadata": map[string]any{"name": name}, "spec": spec}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// whoamiVia runs kubectl auth whoami with kubeconfig's context ctx and
// returns the user and the cluster the emulator's proxy routed it for.
func whoamiVia(t *testing.T, kubeconfig, ctx string) (user, cluster string, res string, code int) {
	t.Helper()
	r := runner.Kubectl("auth", "whoami", "-o", "json", "--kubeconfig", kubeconfig, "--context", ctx)
	if r.Code != 0 {
		return "", "", r.String(), r.Code
	}
	var ssr struct {
		Status struct {
			UserInfo struct {
				Username string              `json:"username"`
				Extra    map[string][]string `json:"extra"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &ssr); err != nil {
		t.Fatalf("whoami: %v\n%s", err, r)
	}
	return ssr.Status.UserInfo.Username, strings.Join(ssr.Status.UserInfo.Extra[rancher.ProxiedClusterExtra], ","), r.String(), 0
}

// TestKubeconfigPipeline is the README's three commands: mint a Rancher
// kubeconfig for two clusters, use it against each (through the
// emulator's cluster proxy, as the user), revoke it; the revoked
// kubeconfig no longer works anywhere.
func TestKubeconfigPipeline(t *testing.T) {
	emulator(t)
	addCluster(t, "c-m-pipea", "")
	addCluster(t, "c-m-pipeb", "pipeb.example.com")
	u := newUser(t, "pipe", rancher.UserOptions{Clusters: []string{"c-m-pipea", "c-m-pipeb"}})
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")

	res := mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "create", "c-m-pipea", "c-m-pipeb", "--ttl", "2h", "--description", "CI run",
		"--kubeconfig-file", path, "-o", "name")
	name := strings.TrimSpace(res.Stdout)
	if !strings.HasPrefix(name, "kubeconfig.ext.cattle.io/kubeconfig-") || !strings.Contains(res.Stderr, "written to "+path+" (mode 0600)") {
		t.Fatalf("create: %s", res)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig file: %v %v", st, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if kc.CurrentContext != "c-m-pipea" {
		t.Errorf("current context %q", kc.CurrentContext)
	}
	for _, cl := range []string{"c-m-pipea", "c-m-pipeb"} {
		user, routed, out, code := whoamiVia(t, path, cl)
		if code != 0 || user != u.Name || routed != cl {
			t.Errorf("context %s: user %q routed to %q: %s", cl, user, routed, out)
		}
	}

	// The list, the describe and the expiry view see it and its tokens.
	short := strings.TrimPrefix(name, "kubeconfig.ext.cattle.io/")
	rows := tableRows(t, mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "list", "-o", "wide").Stdout)
	if len(rows) != 2 || strings.Join(rows[1], " ") != short+" 120m 2/2 Complete "+u.Name+" c-m-pipea,c-m-pipeb CI run" {
		t.Errorf("list rows %q", rows)
	}
	desc := mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "describe", short).Stdout
	if !strings.Contains(desc, "kind kubeconfig, all clusters") || !strings.Contains(desc, "kind kubeconfig, cluster c-m-pipeb") {
		t.Errorf("describe:\n%s", desc)
	}
	exp := kubectl(u.Kubeconfig, "exttoken", "expiring", "--within", "3h", "--fail-if-any", "-o", "name")
	if exp.Code != 3 || strings.TrimSpace(exp.Stdout) != name {
		t.Errorf("expiring: %s", exp)
	}
	if exp := kubectl(u.Kubeconfig, "exttoken", "expiring", "--within", "1h", "--fail-if-any"); exp.Code != 0 {
		t.Errorf("expiring within 1h: %s", exp)
	}

	// Revoke: the tokens go with it, and the kubeconfig stops working.
	res = mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "delete", name)
	if !strings.Contains(res.Stdout, `kubeconfig.ext.cattle.io "`+short+`" and its tokens (`) {
		t.Errorf("delete: %s", res)
	}
	if left := mustRun(t, u.Kubeconfig, "exttoken", "list", "--kind", "kubeconfig", "-o", "name").Stdout; left != "" {
		t.Errorf("tokens outlived their kubeconfig: %s", left)
	}
	for _, cl := range []string{"c-m-pipea", "c-m-pipeb"} {
		if _, _, out, code := whoamiVia(t, path, cl); code == 0 || !strings.Contains(out, "Unauthorized") && !strings.Contains(out, "must be logged in") {
			t.Errorf("context %s works after delete: %s", cl, out)
		}
	}
}

// TestKubeconfigRefusals: what the server would refuse is one line, and
// nothing is left behind.
func TestKubeconfigRefusals(t *testing.T) {
	emulator(t)
	addCluster(t, "c-m-refa", "")
	addCluster(t, "c-m-refb", "")
	u := newUser(t, "kcrefuse", rancher.UserOptions{Clusters: []string{"c-m-refa"}})
	path := filepath.Join(t.TempDir(), "k")
	create := func(args ...string) []string {
		return append(append([]string{"exttoken", "kubeconfig", "create"}, args...), "--kubeconfig-file", path)
	}
	// Above the maximum (kubeconfig-max-token-ttl-minutes on main: 90d),
	// refused with the server's numbers before anything is created.
	wantOneErrorLine(t, kubectl(u.Kubeconfig, create("c-m-refa", "--ttl", "91d")...), "--ttl 91d (7862400 s) exceeds this Rancher's maximum for kubeconfigs, 90d (7776000 s")
	wantOneErrorLine(t, kubectl(env.Kubeconfig, create("c-m-refa")...), "is not a Rancher user")
	wantOneErrorLine(t, kubectl(u.NoTokenKubeconfig, create("c-m-refa")...), "error getting request token", "Rancher token")
	wantOneErrorLine(t, kubectl(u.Kubeconfig, create("c-m-nope")...), `Rancher has no cluster "c-m-nope"`)
	wantOneErrorLine(t, kubectl(u.Kubeconfig, create("c-m-refb")...), "is not allowed to access cluster c-m-refb")
	wantOneErrorLine(t, kubectl(u.Kubeconfig, create("c-m-refa", "--current-context", "c-m-refb")...), "invalid currentContext c-m-refb")
	if _, err := os.Stat(path); err == nil {
		t.Error("a refused create wrote the file")
	}
	if left := mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "list", "-o", "name").Stdout; left != "" {
		t.Errorf("refused creates left kubeconfigs: %s", left)
	}
}

// TestExpiringAcrossKinds: one view over ext tokens, kubeconfigs and v3
// tokens on the real aggregated API; an administrator sees v3 tokens, a
// user gets a warning that they were skipped and still the exit code.
func TestExpiringAcrossKinds(t *testing.T) {
	emulator(t)
	addCluster(t, "c-m-expa", "")
	admin := newUser(t, "expadmin", rancher.UserOptions{Admin: true, Clusters: []string{"c-m-expa"}})
	user := newUser(t, "expuser", rancher.UserOptions{Clusters: []string{"c-m-expa"}})
	v3 := "token-v3exp-" + admin.Name
	if err := rancher.SeedLegacyToken(context.Background(), env.Config, rancher.LegacyToken{Name: v3, User: user.Name, TTL: 60 * 60 * 1000, Value: "v3secret", Kind: "kubeconfig"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := create(t, user, "--ttl", "90m", "--description", "soon")
	kcPath := filepath.Join(t.TempDir(), "k")
	kc := strings.TrimSpace(mustRun(t, user.Kubeconfig, "exttoken", "kubeconfig", "create", "c-m-expa", "--ttl", "100m", "--kubeconfig-file", kcPath, "-o", "name").Stdout)
	mustRun(t, user.Kubeconfig, "exttoken", "create", "--ttl", "30d") // not within the window

	res := kubectl(user.Kubeconfig, "exttoken", "expiring", "--within", "2h", "--fail-if-any", "-o", "name")
	if res.Code != 3 || res.Stdout != "token.ext.cattle.io/"+tok+"\n"+kc+"\n" ||
		!strings.Contains(res.Stderr, "warning: skipped legacy v3 tokens (tokens.management.cattle.io): you may not list them") {
		t.Errorf("user: %s", res)
	}
	res = kubectl(admin.Kubeconfig, "exttoken", "expiring", "--within", "2h", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("admin: %s", res)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Credential, Owner string
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, it := range list.Items {
		seen[it.Metadata.Name] = it.Credential + "/" + it.Owner
	}
	for name, want := range map[string]string{v3: "v3-token/" + user.Name, tok: "ext-token/" + user.Name, strings.TrimPrefix(kc, "kubeconfig.ext.cattle.io/"): "kubeconfig/" + user.Name} {
		if seen[name] != want {
			t.Errorf("admin view: %s is %q, want %q (all: %v)", name, seen[name], want, seen)
		}
	}
	if strings.Contains(res.Stdout+res.Stderr, "v3secret") {
		t.Errorf("the v3 token's secret was printed")
	}
}

// TestKubeconfigSecretHygiene: the kubeconfig's tokens appear in its
// file only, whatever the command, output format or -v.
func TestKubeconfigSecretHygiene(t *testing.T) {
	emulator(t)
	addCluster(t, "c-m-hyg", "hyg.example.com")
	u := newUser(t, "kchyg", rancher.UserOptions{Clusters: []string{"c-m-hyg"}})
	path := filepath.Join(t.TempDir(), "k")
	res := mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "create", "c-m-hyg", "--kubeconfig-file", path, "-o", "yaml", "-v=9")
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, a := range kc.AuthInfos {
		if _, v, ok := strings.Cut(a.Token, ":"); ok && v != "" {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) < 2 { // the shared token and the ACE cluster's
		t.Fatalf("tokens in the kubeconfig: %d", len(secrets))
	}
	var created unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(res.Stdout), &created.Object); err != nil {
		t.Fatalf("create -o yaml: %v\n%s", err, res)
	}
	name := created.GetName()
	outputs := []string{res.Stdout + res.Stderr}
	for _, args := range [][]string{
		{"kubeconfig", "get", name, "-o", "yaml", "-v=9"},
		{"kubeconfig", "list", "-o", "json"},
		{"kubeconfig", "list", "-o", "wide"},
		{"kubeconfig", "describe", name},
		{"expiring", "-o", "yaml"},
		{"list", "-o", "json"},
	} {
		r := mustRun(t, u.Kubeconfig, append([]string{"exttoken"}, args...)...)
		outputs = append(outputs, r.Stdout+r.Stderr)
	}
	for i, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output %d holds a token value:\n%s", i, out)
			}
		}
	}
	mustRun(t, u.Kubeconfig, "exttoken", "kubeconfig", "delete", name)
}
