//go:build e2e

package bootstrap

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// oneErrorLine asserts kubectl-style failure output: exactly one line on
// stderr, starting "error: ", and no Go panic or stack trace anywhere.
func oneErrorLine(t *testing.T, r plugintest.Result) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") {
		t.Errorf("want exactly one 'error: ' line on stderr, got %d:\n%s", len(lines), r.Stderr)
	}
	for _, bad := range []string{"panic", "goroutine", ".go:"} {
		if strings.Contains(r.Stdout+r.Stderr, bad) {
			t.Errorf("output contains %q:\n%s", bad, r)
		}
	}
}

// Every bad input fails with exit 1 and one line naming the cause and the
// fix, writes nothing (no Secret, no file, nothing on stdout) and never
// shows the token's secret.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	existingTok, existingID, existingSecret := newToken(t)
	mustOK(t, bs("create", existingTok), "create the existing token")

	junkCA := filepath.Join(dir, "junk.crt")
	existingFile := filepath.Join(dir, "existing.txt")
	broken := filepath.Join(dir, "broken.kubeconfig")
	empty := filepath.Join(dir, "empty.kubeconfig")
	for path, content := range map[string]string{junkCA: "not a certificate\n", existingFile: "keep me\n", broken: "apiVersion: v1\nclusters: [ {\n", empty: ""} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unreachable := filepath.Join(dir, "unreachable.kubeconfig")
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://127.0.0.1:1"
	}
	if err := clientcmd.WriteToFile(*kc, unreachable); err != nil {
		t.Fatal(err)
	}
	_, restricted, err := env.User("bootstrap-nobody")
	if err != nil {
		t.Fatal(err)
	}
	k3sServerToken := "K10" + strings.Repeat("ab", 32) + "::server:s3cr3tpassw0rdxyz"

	type tc struct {
		name       string
		kubeconfig string
		args       []string
		stdin      string
		want       []string // all must appear in the error line
		token      string   // a token whose secret must not appear
		file       string   // must not exist afterwards
	}
	tok := func() (string, string) { full, id, _ := newToken(t); return full, id }
	t1, _ := tok()
	t2, _ := tok()
	t3, _ := tok()
	t4, _ := tok()
	t5, _ := tok()
	t6, _ := tok()
	t7, _ := tok()
	t8, _ := tok()
	t9, _ := tok()
	t10, _ := tok()
	t11, _ := tok()
	t12, _ := tok()
	t13, _ := tok()
	t14, _ := tok()
	newFile := filepath.Join(dir, "new-token.txt")
	cases := []tc{
		{name: "malformed token", args: []string{"create", "abcdef.TOOSHORT"}, want: []string{"the TOKEN argument is not a bootstrap token", "kubectl bootstrap generate"}},
		{name: "malformed token on stdin", args: []string{"create", "-"}, stdin: "abcdef:0123456789abcdef\n", want: []string{"not a bootstrap token"}, token: "abcdef.0123456789abcdef"},
		{name: "uppercase token", args: []string{"create", strings.ToUpper(t1)}, want: []string{"not a bootstrap token"}, token: strings.ToUpper(t1)},
		{name: "k3s server token", args: []string{"inspect", k3sServerToken}, want: []string{"k3s server token (user:password), not a bootstrap token"}, token: "x.s3cr3tpassw0rdxyz"},
		{name: "bad group", args: []string{"create", t2, "--groups", "system:masters"}, want: []string{`bootstrap group "system:masters" is invalid`, "fix --groups"}, token: t2},
		{name: "unknown usage", args: []string{"create", t3, "--usages", "signing,bogus"}, want: []string{"invalid bootstrap token usage string: bogus, valid usage options: signing,authentication"}, token: t3},
		{name: "ttl syntax", args: []string{"create", t4, "--ttl", "1x"}, want: []string{`--ttl "1x" is not a duration`, "or never"}, token: t4},
		{name: "ttl without a unit", args: []string{"create", t4, "--ttl", "7"}, want: []string{`--ttl "7" has no unit`}, token: t4},
		{name: "negative ttl", args: []string{"create", t5, "--ttl", "-5m"}, want: []string{"is negative"}, token: t5},
		{name: "existing id", args: []string{"create", existingTok}, want: []string{`a token with id "` + existingID + `" already exists`, "kubectl bootstrap delete " + existingID}, token: existingTok},
		{name: "groups without authentication", args: []string{"create", t6, "--usages", "signing", "--groups", "system:bootstrappers:x"}, want: []string{`token groups cannot be specified unless --usages includes "authentication"`}, token: t6},
		{name: "missing CA file", args: []string{"create", t7, "-o", "secure", "--ca-file", filepath.Join(dir, "nope.crt")}, want: []string{"cannot read --ca-file", "no such file or directory"}, token: t7},
		{name: "CA file not PEM", args: []string{"create", t8, "--print-join-command", "--ca-file", junkCA}, want: []string{"holds no PEM certificate"}, token: t8},
		{name: "CA URL not https", args: []string{"create", t9, "-o", "secure", "--cacerts-url", "http://127.0.0.1:1/cacerts"}, want: []string{"is not https"}, token: t9},
		{name: "CA URL unreachable", args: []string{"create", t9, "-o", "secure", "--cacerts-url", "https://127.0.0.1:1"}, want: []string{"cannot fetch https://127.0.0.1:1/cacerts: connection refused"}, token: t9},
		{name: "unwritable output", args: []string{"create", t10, "--output-file", "/dev/null/token"}, want: []string{"cannot write --output-file /dev/null/token"}, token: t10},
		{name: "existing output", args: []string{"create", t11, "--output-file", existingFile}, want: []string{"refusing to overwrite", "--force"}, token: t11},
		{name: "generate into an existing file", args: []string{"generate", "--output-file", existingFile}, want: []string{"refusing to overwrite"}},
		{name: "broken kubeconfig", kubeconfig: broken, args: []string{"list"}, want: []string{broken}},
		{name: "empty kubeconfig", kubeconfig: empty, args: []string{"create", t12}, want: []string{"no cluster to talk to", "--kubeconfig"}, token: t12},
		{name: "unreachable server", kubeconfig: unreachable, args: []string{"list"}, want: []string{"cannot reach the API server https://127.0.0.1:1", "connection refused"}},
		{name: "unreachable server on create", kubeconfig: unreachable, args: []string{"create", t13}, want: []string{"cannot reach the API server"}, token: t13},
		{name: "forbidden list", kubeconfig: restricted, args: []string{"list"}, want: []string{"forbidden", "kubectl auth can-i list secrets -n kube-system"}},
		{name: "forbidden create", kubeconfig: restricted, args: []string{"create", t14, "--output-file", newFile}, want: []string{"forbidden", "kubectl auth can-i create secrets -n kube-system"}, token: t14, file: newFile},
		{name: "forbidden delete", kubeconfig: restricted, args: []string{"delete", existingID}, want: []string{"forbidden", "kubectl auth can-i delete secrets -n kube-system"}},
		{name: "delete malformed", args: []string{"delete", "abc.def"}, want: []string{"argument 1 is not a bootstrap token"}},
		{name: "delete unknown id", args: []string{"delete", "zzzzzz"}, want: []string{`bootstrap token "zzzzzz" not found`, "kubectl bootstrap list"}},
		{name: "delete nothing", args: []string{"delete"}, want: []string{"missing argument", "--expired"}},
		{name: "inspect bad hash", args: []string{"inspect", "K10abc::" + existingTok}, want: []string{"invalid CA hash"}, token: existingTok},
		{name: "verify malformed", args: []string{"verify", existingID + "." + existingSecret + "x"}, want: []string{"not a bootstrap token"}, token: existingTok},
		{name: "unknown flavor", args: []string{"create", "--flavor", "microk8s", "--print-join-command"}, want: []string{`unknown --flavor "microk8s"`, "kubeadm, k3s or rke2"}},
		{name: "unknown output", args: []string{"list", "-o", "bogus"}, want: []string{`unknown output format "bogus"`}},
		{name: "certificate key without join command", args: []string{"create", "--certificate-key", strings.Repeat("a", 64)}, want: []string{"cannot use --certificate-key without --print-join-command"}},
		{name: "other namespace", args: []string{"list", "-n", "default"}, want: []string{"bootstrap tokens live only in kube-system", "drop -n default"}},
		{name: "join server not a URL", args: []string{"create", "--print-join-command", "--join-server", "10.0.0.1:6443"}, want: []string{"--join-server", "https://HOST:6443"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := tokenSecretNames(t)
			kcfg := c.kubeconfig
			if kcfg == "" {
				kcfg = env.Kubeconfig
			}
			r2 := *runner
			r2.Stdin = c.stdin
			r := r2.Kubectl(append([]string{"bootstrap", "--kubeconfig", kcfg}, c.args...)...)
			if r.Code != 1 {
				t.Fatalf("want exit 1: %s", r)
			}
			oneErrorLine(t, r)
			for _, w := range c.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("error does not say %q: %s", w, r.Stderr)
				}
			}
			if r.Stdout != "" {
				t.Errorf("something was printed on stdout: %q", r.Stdout)
			}
			if c.token != "" {
				if _, secret, _ := strings.Cut(c.token, "."); secret != "" && strings.Contains(r.Stderr, secret) {
					t.Errorf("the token secret is on stderr: %s", r.Stderr)
				}
			}
			if after := tokenSecretNames(t); !slices.Equal(before, after) {
				t.Errorf("token Secrets changed: %v -> %v", before, after)
			}
			if c.file != "" {
				if _, err := os.Stat(c.file); err == nil {
					t.Errorf("%s was written", c.file)
				}
			}
			if b, _ := os.ReadFile(existingFile); string(b) != "keep me\n" {
				t.Errorf("the existing file was changed")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 5 {
				t.Errorf("stray files in %s: %v", dir, entries)
			}
		})
	}
	if len(cases) < 15 {
		t.Fatalf("only %d bad-input cases", len(cases))
	}
	t.Logf("%d bad-input cases", len(cases))
}
