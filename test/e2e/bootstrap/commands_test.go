//go:build e2e

package bootstrap

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every command has help with examples, through the real kubectl.
func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range []string{"create", "list", "delete", "generate", "inspect", "verify"} {
		r := mustOK(t, runner.Kubectl("bootstrap", c, "--help"), c+" --help")
		for _, want := range []string{"Usage:", "kubectl bootstrap " + c, "Examples:", "  kubectl bootstrap " + c} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("%s --help lacks %q", c, want)
			}
		}
	}
}

// generate needs no cluster: it works with an unreachable server, also
// for the secure form from a CA file.
func TestGenerateIsOffline(t *testing.T) {
	nowhere := []string{"bootstrap", "--server", "https://127.0.0.1:1", "--kubeconfig", filepath.Join(t.TempDir(), "none")}
	r := mustOK(t, runner.Kubectl(append(nowhere, "generate")...), "generate")
	if !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}\n$`).MatchString(r.Stdout) {
		t.Errorf("generate: %q", r.Stdout)
	}
	ca := filepath.Join(env.Root, "plugins", "bootstrap", "testdata", "root.pem")
	s := mustOK(t, runner.Kubectl(append(nowhere, "generate", "-o", "secure", "--ca-file", ca)...), "generate -o secure")
	// The hash of testdata/root.pem, computed with sha256sum.
	if !regexp.MustCompile(`^K1066c9f83966db7f6ae4318ad9749425d6e1e0bc6734b87452c1210da7640b4b61::[a-z0-9]{6}\.[a-z0-9]{16}\n$`).MatchString(s.Stdout) {
		t.Errorf("generate -o secure: %q", s.Stdout)
	}
	if a, b := mustOK(t, runner.Kubectl(append(nowhere, "generate")...), "generate").Stdout, r.Stdout; a == b {
		t.Errorf("two generated tokens are equal: %s", a)
	}
}

// TAB completes token IDs from the cluster.
func TestCompletionOfTokenIDs(t *testing.T) {
	tok, id, _ := newToken(t)
	mustOK(t, bs("create", tok), "create")
	for _, c := range []string{"delete", "inspect"} {
		r := mustOK(t, bs("__complete", c, ""), "__complete "+c)
		if !strings.Contains(r.Stdout, id+"\n") {
			t.Errorf("completion of %s lacks %s:\n%s", c, id, r.Stdout)
		}
	}
}
