//go:build e2e

package exttoken

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// TestBadInput is issue 8's table for kubectl exttoken: each case exits 1
// with exactly one "error: " line naming the cause and the fix, writes
// nothing (no file, no token), prints no token value and no stack trace.
func TestBadInput(t *testing.T) {
	emulator(t)
	u := newUser(t, "bad", rancher.UserOptions{})
	tok, value := create(t, u, "--ttl", "1h")
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.kubeconfig")
	if err := os.WriteFile(existing, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	readonly := filepath.Join(dir, "readonly")
	if err := os.Mkdir(readonly, 0o500); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.kubeconfig")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	kcArgs := func(extra ...string) []string {
		return append([]string{"create", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com"}, extra...)
	}
	cases := []struct {
		name       string
		kubeconfig string // "" = the user's
		args       []string
		want       []string
	}{
		{"ttl not a duration", "", []string{"create", "--ttl", "abc"}, []string{`--ttl "abc" is not a duration`, "90m, 12h, 30d"}},
		{"negative ttl", "", []string{"create", "--ttl", "-5m"}, []string{"is negative", "never"}},
		{"ttl without unit", "", []string{"create", "--ttl", "90"}, []string{"has no unit", "90m"}},
		{"sub-millisecond ttl", "", []string{"create", "--ttl", "0.1ms"}, []string{"whole milliseconds"}},
		{"unknown output", "", []string{"create", "-o", "bogus"}, []string{"unknown output format", "bearer"}},
		{"bad dry-run", "", []string{"create", "--dry-run=maybe"}, []string{"invalid --dry-run", "client"}},
		{"bad cluster name", "", []string{"create", "--cluster-name", "Bad_Name"}, []string{"invalid --cluster-name", "c-m-abc12"}},
		{"bad kind", "", []string{"create", "--kind", "has space"}, []string{"invalid --kind"}},
		{"kubeconfig without rancher url", "", []string{"create", "-o", "kubeconfig"}, []string{"not a Rancher cluster URL", "--rancher-url"}},
		{"http rancher url", "", []string{"create", "-o", "kubeconfig", "--rancher-url", "http://rancher.example.com"}, []string{"invalid --rancher-url", "https"}},
		{"existing kubeconfig file", "", kcArgs("--kubeconfig-file", existing), []string{"refusing to overwrite", "--force"}},
		{"missing directory", "", kcArgs("--kubeconfig-file", filepath.Join(dir, "nope", "kc")), []string{"no such file or directory", "choose another path"}},
		{"unwritable directory", "", kcArgs("--kubeconfig-file", "/sys/kc"), []string{"cannot write --kubeconfig-file /sys/kc", "permission denied", "choose another path"}},
		{"directory as file", "", kcArgs("--kubeconfig-file", readonly), []string{"is a directory"}},
		{"kubeconfig-file without -o kubeconfig", "", []string{"create", "--kubeconfig-file", filepath.Join(dir, "kc")}, []string{"needs -o kubeconfig"}},
		{"invalid token name", "", []string{"get", "Bad_Name!"}, []string{"invalid token name", "kubectl exttoken list"}},
		{"unknown token", "", []string{"describe", "token-zzzzz"}, []string{`"token-zzzzz" not found`, "check the name"}},
		{"negative chunk size", "", []string{"list", "--chunk-size", "-1"}, []string{"--chunk-size -1 is negative: pass 0 for one request, or a page size"}},
		{"broken selector", "", []string{"list", "-l", "a=("}, []string{"invalid label selector"}},
		{"user-id selector", "", []string{"list", "-l", "cattle.io/user-id=u-other"}, []string{"--user-id"}},
		{"bad expiring-within", "", []string{"list", "--expiring-within", "xyz"}, []string{"invalid --expiring-within", "7d"}},
		{"never-expiring and expiring", "", []string{"list", "--never-expiring", "--expiring-within", "1d"}, []string{"--never-expiring excludes"}},
		{"show-expiry with yaml", "", []string{"list", "--show-expiry", "-o", "yaml"}, []string{"--show-expiry is a table"}},
		{"delete nothing", "", []string{"delete"}, []string{"nothing to delete", "--expired"}},
		{"delete names and expired", "", []string{"delete", tok, "--expired"}, []string{"not both"}},
		{"extend ttl", "", []string{"set-ttl", tok, "2h"}, []string{"cannot extend", "create a new token"}},
		{"set-ttl bad duration", "", []string{"set-ttl", tok, "soon"}, []string{`"soon" is not a duration`}},
		{"set-ttl zero", "", []string{"set-ttl", tok, "0"}, []string{"needs a duration"}},
		{"setting not a number", "", []string{"settings", "set", "auth-token-max-ttl-minutes", "abc"}, []string{"whole minutes"}},
		{"legacy nothing selected", env.Kubeconfig, []string{"legacy", "delete"}, []string{"nothing to delete", "--never-expiring"}},
		{"legacy never and expired", env.Kubeconfig, []string{"legacy", "list", "--never-expiring", "--expired"}, []string{"--never-expiring excludes"}},
		{"empty kubeconfig", empty, []string{"list"}, []string{"no cluster to talk to", "--kubeconfig"}},
		{"unreachable server", "", []string{"list", "--server", "https://127.0.0.1:1"}, []string{"cannot reach the API server", "connection refused"}},
		{"not a Rancher user", env.Kubeconfig, []string{"create"}, []string{"is not a Rancher user", "kubeconfig Rancher issued"}},
		{"no Rancher token", u.NoTokenKubeconfig, []string{"create"}, []string{"missing authentication token ID"}},
		{"forbidden legacy list", "", []string{"legacy", "list"}, []string{"forbidden", "kubectl auth can-i list tokens.management.cattle.io"}},
	}
	if len(cases) < 12 {
		t.Fatalf("issue 8 asks for at least 12 cases, have %d", len(cases))
	}
	before := mustRun(t, env.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kc := c.kubeconfig
			if kc == "" {
				kc = u.Kubeconfig
			}
			res := kubectl(kc, append([]string{"exttoken"}, c.args...)...)
			wantOneErrorLine(t, res, c.want...)
			if strings.Contains(res.Stdout+res.Stderr, value) {
				t.Errorf("a token value was printed: %s", res)
			}
		})
	}
	after := mustRun(t, env.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	if after != before {
		t.Errorf("bad input created or deleted tokens:\n%s\nthen\n%s", before, after)
	}
	assertDirHolds(t, dir, "empty.kubeconfig", "existing.kubeconfig", "readonly")
	if b, _ := os.ReadFile(existing); string(b) != "keep me\n" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(readonly); len(entries) != 0 {
		t.Errorf("files in the read-only directory: %v", entries)
	}
}

// assertDirHolds fails when dir holds anything but the named entries
// (e.g. a temporary file left by an interrupted write).
func assertDirHolds(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	for _, e := range entries {
		if !allowed[e.Name()] {
			t.Errorf("unexpected file %s in %s", e.Name(), dir)
		}
	}
}
