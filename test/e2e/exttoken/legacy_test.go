//go:build e2e

package exttoken

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// TestLegacyAudit seeds v3 tokens, some never expiring, each with a
// unique plaintext secret, and checks that the audit finds the ttl=0 ones
// by kind and prefix, computes expiry, deletes as asked, and never prints
// a secret in any output format.
func TestLegacyAudit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user := fmt.Sprintf("u-legacy%d", time.Now().UnixNano()%100000)
	secrets := map[string]string{}
	seed := []rancher.LegacyToken{
		{Name: "kubectl-shell-" + user, TTL: 0, Derived: true, Description: "kubectl shell (2.4)"},
		{Name: "kubectl-shell-" + user + "-2", TTL: 0, Derived: true},
		{Name: "agent-" + user, TTL: 0, Derived: true},
		{Name: "telemetry-" + user, TTL: 0, Derived: true},
		{Name: "compose-x" + user, Kind: "compose", TTL: 0, Derived: true},
		{Name: "helm-token-" + user, TTL: 0, Derived: true},
		{Name: "drain-node-" + user, TTL: 0, Derived: true},
		{Name: "kubeconfig-" + user, Kind: "kubeconfig", TTL: 30 * 24 * 3600 * 1000, Derived: true},
		{Name: "token-old" + user, TTL: 1, Derived: true, Description: "expired long ago"},
		{Name: "token-oidc" + user, TTL: 3600 * 1000, ProviderInfo: map[string]string{"access_token": ""}},
	}
	for i := range seed {
		seed[i].User = user
		seed[i].Value = "v3secret" + utilrand.String(40)
		secrets[seed[i].Name] = seed[i].Value
		if seed[i].ProviderInfo != nil {
			seed[i].ProviderInfo["access_token"] = "oidcsecret" + utilrand.String(30)
			secrets[seed[i].Name+"/providerInfo"] = seed[i].ProviderInfo["access_token"]
		}
		if err := rancher.SeedLegacyToken(ctx, env.Config, seed[i]); err != nil {
			t.Fatal(err)
		}
	}
	var outs []plugintest.Result
	run := func(args ...string) plugintest.Result {
		t.Helper()
		res := mustRun(t, env.Kubeconfig, append([]string{"exttoken", "legacy"}, args...)...)
		outs = append(outs, res)
		return res
	}
	sel := []string{"--user-id", user}
	table := run(append([]string{"list"}, sel...)...)
	for _, format := range []string{"wide", "json", "yaml", "name", "jsonpath={.items[*].token}", "jsonpath={..providerInfo}", "go-template={{range .items}}{{.token}}{{end}}"} {
		run(append([]string{"list", "-o", format}, sel...)...)
	}
	never := run(append([]string{"list", "--never-expiring"}, sel...)...)
	expired := run(append([]string{"list", "--expired", "-o", "name"}, sel...)...)
	run(append([]string{"list", "-v=9"}, sel...)...)
	run(append([]string{"list", "--never-expiring", "-o", "yaml", "-v=9"}, sel...)...)

	// Columns and computed fields.
	header := strings.Fields(strings.SplitN(table.Stdout, "\n", 2)[0])
	if strings.Join(header, " ") != "NAME USER KIND TTL EXPIRES EXPIRED LAST-USED DESCRIPTION" {
		t.Errorf("legacy list header %v", header)
	}
	rowOf := func(out, name string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, name+" ") {
				return l
			}
		}
		return ""
	}
	for name, want := range map[string]*regexp.Regexp{
		"kubectl-shell-" + user: regexp.MustCompile(`kubectl-shell\s+never\s+never\s+false`),
		"compose-x" + user:      regexp.MustCompile(`compose\s+never\s+never\s+false`),
		"helm-token-" + user:    regexp.MustCompile(`helm-token\s+never`),
		"kubeconfig-" + user:    regexp.MustCompile(`kubeconfig\s+30d\s+in 29d\s+false`),
		"token-old" + user:      regexp.MustCompile(`derived\s+0s\s+\S+ ago\s+true`),
	} {
		if row := rowOf(table.Stdout, name); !want.MatchString(row) {
			t.Errorf("row of %s = %q, want %s", name, row, want)
		}
	}
	// The never-expiring ones, found by kind/prefix and summarised.
	for _, n := range []string{"kubectl-shell-" + user, "agent-" + user, "telemetry-" + user, "compose-x" + user, "helm-token-" + user, "drain-node-" + user} {
		if rowOf(never.Stdout, n) == "" {
			t.Errorf("--never-expiring misses %s:\n%s", n, never.Stdout)
		}
	}
	if rowOf(never.Stdout, "kubeconfig-"+user) != "" || rowOf(never.Stdout, "token-old"+user) != "" {
		t.Errorf("--never-expiring lists expiring tokens:\n%s", never.Stdout)
	}
	for _, want := range []string{"Never-expiring tokens (ttl 0): 7", "kubectl-shell    2", "agent            1", "compose          1", "drain-node       1"} {
		if !strings.Contains(never.Stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, never.Stdout)
		}
	}
	if strings.TrimSpace(expired.Stdout) != "token.management.cattle.io/token-old"+user {
		t.Errorf("--expired: %q", expired.Stdout)
	}

	// Deletion: dry run first, then only kubectl-shell.
	dry := run(append([]string{"delete", "--never-expiring", "--dry-run"}, sel...)...)
	if !strings.Contains(dry.Stdout, "Would delete 7 tokens.management.cattle.io (dry run)") {
		t.Errorf("dry run: %s", dry)
	}
	del := run(append([]string{"delete", "--never-expiring", "--kind", "kubectl-shell"}, sel...)...)
	if !strings.Contains(del.Stdout, "deleted 2 of 2 listed") {
		t.Errorf("delete --kind kubectl-shell: %s", del)
	}
	after := run(append([]string{"list", "--never-expiring", "-o", "name"}, sel...)...)
	if strings.Contains(after.Stdout, "kubectl-shell") || strings.Count(after.Stdout, "\n") != 5 {
		t.Errorf("after delete:\n%s", after.Stdout)
	}
	run("delete", "agent-"+user)

	// A regular user may not list v3 tokens: one line.
	u := newUser(t, "legacyuser", rancher.UserOptions{})
	res := kubectl(u.Kubeconfig, "exttoken", "legacy", "list")
	wantOneErrorLine(t, res, "forbidden", "kubectl auth can-i list tokens.management.cattle.io")
	outs = append(outs, res)

	for _, o := range outs {
		for name, s := range secrets {
			if strings.Contains(o.Stdout+o.Stderr, s) {
				t.Errorf("the secret of %s was printed: %s", name, o)
			}
		}
	}
}

// TestLegacyListRedactsTheValueKubectlApplyKept: a v3 token created with
// the real kubectl apply keeps its plaintext value in the
// last-applied-configuration annotation too; no output format prints it.
func TestLegacyListRedactsTheValueKubectlApplyKept(t *testing.T) {
	user := fmt.Sprintf("u-applied%d", time.Now().UnixNano()%100000)
	name := "token-applied-" + user
	secret := "v3applied" + utilrand.String(40)
	manifest := fmt.Sprintf("apiVersion: management.cattle.io/v3\nkind: Token\nmetadata:\n  name: %s\n  labels:\n    authn.management.cattle.io/token-userId: %s\ntoken: %s\nuserId: %s\nttl: 0\n", name, user, secret, user)
	path := filepath.Join(t.TempDir(), "token.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env.Kubeconfig, "apply", "-f", path)
	t.Cleanup(func() { kubectl(env.Kubeconfig, "delete", "-f", path) })
	if raw := mustRun(t, env.Kubeconfig, "get", "tokens.management.cattle.io", name, "-o", "yaml").Stdout; !strings.Contains(raw, "last-applied-configuration") || strings.Count(raw, secret) < 2 {
		t.Fatalf("kubectl apply kept no second copy; the test proves nothing:\n%s", raw)
	}
	for _, format := range []string{"json", "yaml", "jsonpath={..annotations}", "go-template={{range .items}}{{.metadata.annotations}}{{end}}", "wide", "name"} {
		res := mustRun(t, env.Kubeconfig, "exttoken", "legacy", "list", "--user-id", user, "-o", format)
		if strings.Contains(res.Stdout+res.Stderr, secret) {
			t.Errorf("legacy list -o %s prints the applied value: %s", format, res)
		}
		if !strings.Contains(res.Stdout, name) && format != "jsonpath={..annotations}" && !strings.HasPrefix(format, "go-template") {
			t.Errorf("legacy list -o %s lost the token: %s", format, res)
		}
	}
	if res := mustRun(t, env.Kubeconfig, "exttoken", "legacy", "list", "--user-id", user, "-o", "json"); !strings.Contains(res.Stdout, "last-applied-configuration") {
		t.Errorf("the annotation itself went missing: %s", res)
	}
}
