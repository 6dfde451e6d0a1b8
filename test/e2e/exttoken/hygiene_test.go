//go:build e2e

package exttoken

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// TestSecretHygieneAtHighVerbosity runs every command that handles a
// token with -v=9 (which client-go would answer by logging bodies) and
// scans everything printed for the token values: only create's stdout may
// hold one, and only its own.
func TestSecretHygieneAtHighVerbosity(t *testing.T) {
	emulator(t)
	u := newUser(t, "hygiene", rancher.UserOptions{Admin: true})
	dir := t.TempDir()
	var values []string
	var creates []plugintest.Result
	for _, args := range [][]string{
		{"--ttl", "1h"},
		{"--ttl", "1h", "-o", "value"},
		{"--ttl", "1h", "-o", "json"},
		{"--ttl", "1h", "-o", "yaml"},
		{"--ttl", "1h", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com"},
		{"--ttl", "1h", "-o", "kubeconfig", "--rancher-url", "https://rancher.example.com", "--kubeconfig-file", filepath.Join(dir, "kc")},
	} {
		res := mustRun(t, u.Kubeconfig, append([]string{"exttoken", "create", "-v=9"}, args...)...)
		creates = append(creates, res)
	}
	kcFile, err := os.ReadFile(filepath.Join(dir, "kc"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "kc")); st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v", st.Mode())
	}
	// Every value, from whatever create printed it in.
	for _, text := range append(stdouts(creates), string(kcFile)) {
		for _, f := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(" \n\t\":,", r) }) {
			if m := bearerRE.FindStringSubmatch(f); m != nil {
				values = append(values, m[2])
			} else if len(f) == 54 && strings.Trim(f, "bcdfghjklmnpqrstvwxz2456789") == "" {
				values = append(values, f)
			}
		}
	}
	if len(values) < 6 {
		t.Fatalf("found %d values in the create outputs, want 6 or more:\n%v", len(values), creates)
	}
	for i, res := range creates {
		if !strings.Contains(res.Stderr, "capped at -v=7") {
			t.Errorf("create %d: -v=9 was not capped: %s", i, res.Stderr)
		}
		if !strings.Contains(res.Stderr, "/apis/ext.cattle.io/v1/tokens") {
			t.Errorf("create %d: no request log at -v=7, so the scan proves nothing: %s", i, res.Stderr)
		}
	}
	name := strings.TrimPrefix(strings.TrimSpace(mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout), "token.ext.cattle.io/")
	name = strings.SplitN(name, "\n", 2)[0]
	var others []plugintest.Result
	for _, args := range [][]string{
		{"list"}, {"list", "-o", "wide"}, {"list", "-o", "yaml"}, {"list", "-o", "json"}, {"list", "--show-expiry"},
		{"get", name}, {"get", name, "-o", "yaml"}, {"describe", name},
		{"set-description", name, "hygiene"}, {"disable", name}, {"enable", name}, {"set-ttl", name, "30m"},
		{"delete", "--expired", "--dry-run"}, {"delete", name},
		{"legacy", "list", "-o", "yaml"}, {"settings"},
	} {
		others = append(others, mustRun(t, u.Kubeconfig, append(append([]string{"exttoken"}, args...), "-v=9")...))
	}
	for _, v := range values {
		for i, res := range creates {
			if strings.Contains(res.Stderr, v) {
				t.Errorf("create %d printed a value on stderr", i)
			}
		}
		for _, res := range others {
			if strings.Contains(res.Stdout+res.Stderr, v) {
				t.Errorf("a token value was printed by a command other than create:\n%s", res)
			}
		}
	}
	// Each create printed only its own value: no value twice.
	seen := map[string]int{}
	for _, v := range values {
		seen[v]++
	}
	for v, n := range seen {
		if n > 2 { // a -o json/yaml create shows value and bearerToken
			t.Errorf("value %.6s... printed %d times", v, n)
		}
	}
}

func stdouts(rs []plugintest.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Stdout)
	}
	return out
}
