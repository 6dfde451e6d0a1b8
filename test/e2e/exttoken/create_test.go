//go:build e2e

package exttoken

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// TestCreateShowsTheValueOnce creates tokens as a regular user and as an
// admin and checks the value is printed by create only: never by get,
// list (every format), describe, kubectl get -o yaml or a watch.
func TestCreateShowsTheValueOnce(t *testing.T) {
	emulator(t)
	for _, admin := range []bool{false, true} {
		u := newUser(t, "once", rancher.UserOptions{Admin: admin})
		res := mustRun(t, u.Kubeconfig, "exttoken", "create", "--description", "value once", "--ttl", "2h")
		m := bearerRE.FindStringSubmatch(strings.TrimSpace(res.Stdout))
		if m == nil || strings.Count(res.Stdout, "\n") != 1 {
			t.Fatalf("create stdout is not one bearer token line: %s", res)
		}
		name, value := m[1], m[2]
		if strings.Contains(res.Stderr, value) {
			t.Errorf("create stderr shows the value: %s", res)
		}
		if !strings.Contains(res.Stderr, "cannot show it again") || !strings.Contains(res.Stderr, name) {
			t.Errorf("create stderr lacks the shown-once note: %s", res)
		}
		var outs []plugintest.Result
		for _, args := range [][]string{
			{"exttoken", "get", name}, {"exttoken", "get", name, "-o", "yaml"}, {"exttoken", "get", name, "-o", "json"},
			{"exttoken", "list"}, {"exttoken", "list", "-o", "wide"}, {"exttoken", "list", "-o", "yaml"}, {"exttoken", "list", "-o", "json"},
			{"exttoken", "list", "--show-expiry", "-o", "wide"}, {"exttoken", "describe", name},
			{"get", "tokens.ext.cattle.io", name, "-o", "yaml"}, {"get", "tokens.ext.cattle.io", "-o", "json"},
		} {
			outs = append(outs, mustRun(t, u.Kubeconfig, args...))
		}
		// A watch: kubectl prints the listed state, then ends at the
		// request timeout.
		outs = append(outs, kubectl(u.Kubeconfig, "get", "tokens.ext.cattle.io", "--watch", "-o", "json", "--request-timeout=3s"))
		if !strings.Contains(outs[len(outs)-1].Stdout, name) {
			t.Errorf("the watch did not show %s: %s", name, outs[len(outs)-1])
		}
		for _, o := range outs {
			if strings.Contains(o.Stdout+o.Stderr, value) {
				t.Errorf("the value of %s shows up again: %s", name, o)
			}
		}
		if !strings.Contains(outs[1].Stdout, "name: "+name) || strings.Contains(outs[1].Stdout, "bearerToken") {
			t.Errorf("get -o yaml: %s", outs[1])
		}
		// The backing Secret holds a hash, not the value (§2).
		sec, err := env.Clientset().CoreV1().Secrets("cattle-tokens").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range sec.Data {
			if strings.Contains(string(v), value) {
				t.Errorf("Secret key %s holds the value", k)
			}
		}
	}
}

func TestCreateOutputs(t *testing.T) {
	emulator(t)
	u := newUser(t, "out", rancher.UserOptions{})
	// -o value: only the 54-character secret.
	res := mustRun(t, u.Kubeconfig, "exttoken", "create", "-o", "value", "--ttl", "1h")
	if !regexp.MustCompile(`^[bcdfghjklmnpqrstvwxz2456789]{54}\n$`).MatchString(res.Stdout) {
		t.Errorf("-o value: %s", res)
	}
	// -o json: the create response, with value and bearerToken.
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "-o", "json", "--description", "json out", "--kind", "kubeconfig", "--ttl", "90m")
	var tok struct {
		Metadata struct{ Name string }
		Spec     struct {
			TTL         int64
			Kind        string
			Description string
			UserID      string
		}
		Status struct{ Value, BearerToken string }
	}
	if err := json.Unmarshal([]byte(res.Stdout), &tok); err != nil {
		t.Fatalf("-o json: %v\n%s", err, res)
	}
	if tok.Spec.TTL != 90*60*1000 || tok.Spec.Kind != "kubeconfig" || tok.Spec.UserID != u.Name || tok.Status.BearerToken != "ext/"+tok.Metadata.Name+":"+tok.Status.Value {
		t.Errorf("-o json: %+v", tok)
	}
	// A TTL beyond auth-token-max-ttl-minutes: the command says what the
	// server will store, and the server stores that.
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "--ttl", "365d")
	if !strings.Contains(res.Stderr, "clamped to 90d") {
		t.Errorf("no clamp note: %s", res)
	}
	name := bearerRE.FindStringSubmatch(strings.TrimSpace(res.Stdout))[1]
	res = mustRun(t, u.Kubeconfig, "exttoken", "get", name, "-o", "jsonpath={.spec.ttl}")
	if res.Stdout != "7776000000" {
		t.Errorf("stored ttl %q, want 90 days in ms", res.Stdout)
	}
	// --dry-run=client sends nothing; =server stores nothing.
	before := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "--dry-run=client", "--ttl", "7d", "-o", "yaml")
	if !strings.Contains(res.Stdout, "ttl: 604800000") || strings.Contains(res.Stdout, "value:") {
		t.Errorf("client dry run: %s", res)
	}
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "--dry-run=server", "--ttl", "7d")
	if !regexp.MustCompile(`^token\.ext\.cattle\.io/token-[a-z0-9]{5} created \(server dry run\)\n$`).MatchString(res.Stdout) {
		t.Errorf("server dry run: %s", res)
	}
	if after := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout; after != before {
		t.Errorf("a dry run created a token:\n%s\nthen\n%s", before, after)
	}
}

// TestCreateKubeconfig: -o kubeconfig writes a 0600 file atomically and
// never over an existing one; the user carries the bearer token for the
// Rancher cluster URL. (Rancher itself is not here to authenticate it.)
func TestCreateKubeconfig(t *testing.T) {
	emulator(t)
	u := newUser(t, "kc", rancher.UserOptions{Clusters: []string{"local"}})
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")
	res := mustRun(t, u.Kubeconfig, "exttoken", "create", "--ttl", "90m", "--cluster-name", "local", "-o", "kubeconfig",
		"--rancher-url", "https://rancher.example.com", "--kubeconfig-file", path)
	if res.Stdout != "" {
		t.Errorf("stdout should be empty when writing a file: %s", res)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig file: %v %v", st, err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil || kc.Clusters[ctx.Cluster] == nil || kc.AuthInfos[ctx.AuthInfo] == nil {
		t.Fatalf("kubeconfig structure: %+v", kc)
	}
	if got := kc.Clusters[ctx.Cluster].Server; got != "https://rancher.example.com/k8s/clusters/local" {
		t.Errorf("server %q", got)
	}
	m := bearerRE.FindStringSubmatch(kc.AuthInfos[ctx.AuthInfo].Token)
	if m == nil {
		t.Fatalf("user token %q is not a bearer token", kc.AuthInfos[ctx.AuthInfo].Token)
	}
	res = mustRun(t, u.Kubeconfig, "exttoken", "get", m[1], "-o", "jsonpath={.spec.clusterName}")
	if res.Stdout != "local" {
		t.Errorf("token not scoped to local: %q", res.Stdout)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// No clobbering, and no token is created for a file that cannot be written.
	before := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	orig, _ := os.ReadFile(path)
	res = kubectl(u.Kubeconfig, "exttoken", "create", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com", "--kubeconfig-file", path)
	wantOneErrorLine(t, res, "refusing to overwrite", "--force")
	if now, _ := os.ReadFile(path); string(now) != string(orig) {
		t.Error("the existing kubeconfig was changed")
	}
	if after := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout; after != before {
		t.Errorf("a refused kubeconfig write left a token behind")
	}
	// To stdout, with the Rancher address taken from nothing: refused,
	// since this server is not a Rancher cluster URL.
	res = kubectl(u.Kubeconfig, "exttoken", "create", "-o", "kubeconfig")
	wantOneErrorLine(t, res, "--rancher-url")
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com/")
	kc2, err := clientcmd.Load([]byte(res.Stdout))
	if err != nil || kc2.Clusters[kc2.Contexts[kc2.CurrentContext].Cluster].Server != "https://rancher.example.com/k8s/clusters/local" {
		t.Errorf("kubeconfig on stdout: %v %s", err, res)
	}
	// --force replaces the file.
	mustRun(t, u.Kubeconfig, "exttoken", "create", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com", "--kubeconfig-file", path, "--force")
	if now, _ := os.ReadFile(path); string(now) == string(orig) {
		t.Error("--force did not replace the file")
	}
}

// TestCreateRefusals: the server's refusals come out as one line that
// says what to do.
func TestCreateRefusals(t *testing.T) {
	emulator(t)
	u := newUser(t, "refuse", rancher.UserOptions{})
	wantOneErrorLine(t, kubectl(env.Kubeconfig, "exttoken", "create"), "is not a Rancher user", "kubeconfig Rancher issued")
	wantOneErrorLine(t, kubectl(u.NoTokenKubeconfig, "exttoken", "create"), "missing authentication token ID", "Rancher token")
	wantOneErrorLine(t, kubectl(u.Kubeconfig, "exttoken", "create", "--cluster-name", "c-m-nope"), "Rancher has no cluster \"c-m-nope\"")
	wantOneErrorLine(t, kubectl(u.Kubeconfig, "exttoken", "create", "--cluster-name", "local"), "is not allowed to access cluster local")
	disabled := newUser(t, "disabled", rancher.UserOptions{Disabled: true})
	wantOneErrorLine(t, kubectl(disabled.Kubeconfig, "exttoken", "create"), "disabled user")
}
