//go:build e2e

package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// At -v=9 (capped to 7 by the plugin: client-go logs bodies from 8 on) no
// command shows a token's secret except on the stdout of the command
// whose job is to print it; and the logging really was on.
func TestNoSecretInVerboseOutput(t *testing.T) {
	tok, id, secret := newToken(t)
	file := filepath.Join(t.TempDir(), "token")
	type run struct {
		args        []string
		stdin       string
		stdoutMayBe bool // the command prints the token by design
	}
	runs := []run{
		{args: []string{"create", tok}, stdoutMayBe: true},
		{args: []string{"list"}},
		{args: []string{"list", "-o", "json"}},
		{args: []string{"list", "-o", "wide"}},
		{args: []string{"inspect", tok}},
		{args: []string{"inspect", "-"}, stdin: tok + "\n"},
		{args: []string{"verify", tok}},
		{args: []string{"verify", "-", "-o", "yaml"}, stdin: tok + "\n"},
		{args: []string{"delete", tok}},
	}
	for _, r := range runs {
		res := bsIn(r.stdin, append(r.args, "-v=9")...)
		if res.Code != 0 {
			t.Fatalf("%v: %s", r.args, res)
		}
		if !strings.Contains(res.Stderr, "capped at -v=7") || !strings.Contains(res.Stderr, "https://") {
			t.Errorf("%v: verbose logging was not on:\n%s", r.args, res.Stderr)
		}
		if strings.Contains(res.Stderr, secret) {
			t.Errorf("%v: the secret is in the log:\n%s", r.args, res.Stderr)
		}
		if strings.Contains(res.Stdout, secret) != r.stdoutMayBe {
			t.Errorf("%v: secret on stdout = %v:\n%s", r.args, !r.stdoutMayBe, res.Stdout)
		}
	}

	// Secure token and join commands into a file: 0600, nothing on the
	// terminal but where it went.
	for i, args := range [][]string{
		{"create", "-o", "secure"},
		{"create", "--print-join-command", "--flavor", "k3s"},
		{"create", "--print-join-command"},
	} {
		f := file + string(rune('a'+i))
		res := bs(append(args, "--output-file", f, "-v=9")...)
		if res.Code != 0 {
			t.Fatalf("%v: %s", args, res)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(f)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", f, fi.Mode().Perm())
		}
		i := strings.LastIndex(string(b), "::")
		if i < 0 {
			i = strings.Index(string(b), "--token ") + len("--token ") - 2
		}
		written := strings.Fields(string(b)[i+2:])[0]
		wid, wsecret, _ := strings.Cut(written, ".")
		t.Cleanup(func() { deleteSecret(wid) })
		if len(wsecret) != 16 || res.Stdout != "" || strings.Contains(res.Stderr, wsecret) {
			t.Errorf("%v: file %q, stdout %q, stderr has secret %v", args, b, res.Stdout, strings.Contains(res.Stderr, wsecret))
		}
	}
	_ = id
}
