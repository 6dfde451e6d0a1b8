//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

func TestKubectlFindsThePlugins(t *testing.T) {
	res := runner.Kubectl("plugin", "list", "--name-only")
	if res.Code != 0 {
		t.Fatalf("kubectl plugin list: %s", res)
	}
	for _, p := range plugintest.Plugins {
		if !strings.Contains(res.Stdout, "kubectl-"+p+"\n") {
			t.Errorf("kubectl plugin list does not show kubectl-%s:\n%s", p, res.Stdout)
		}
	}
}

func TestVersionThroughKubectl(t *testing.T) {
	for _, p := range plugintest.Plugins {
		res := runner.Kubectl(p, "version", "-o", "json")
		if res.Code != 0 {
			t.Fatalf("kubectl %s version: %s", p, res)
		}
		var info struct{ Version, Commit, Platform string }
		if err := json.Unmarshal([]byte(res.Stdout), &info); err != nil {
			t.Fatalf("kubectl %s version -o json is not JSON: %v\n%s", p, err, res.Stdout)
		}
		if info.Version == "" || info.Platform == "" {
			t.Errorf("kubectl %s version -o json lacks fields: %+v", p, info)
		}
	}
}

func TestHelpReadsKubectlPlugin(t *testing.T) {
	for _, p := range plugintest.Plugins {
		res := runner.Kubectl(p, "--help")
		if res.Code != 0 {
			t.Fatalf("kubectl %s --help: %s", p, res)
		}
		for _, want := range []string{"kubectl " + p + " [command]", "Examples:", "--kubeconfig", "--context", "--namespace", "--as"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("kubectl %s --help lacks %q:\n%s", p, want, res.Stdout)
			}
		}
	}
}

func TestUnknownCommandIsOneLineExitOne(t *testing.T) {
	for _, p := range plugintest.Plugins {
		res := runner.Kubectl(p, "no-such-command")
		if res.Code != 1 {
			t.Errorf("kubectl %s no-such-command: want exit 1: %s", p, res)
		}
		if lines := strings.Count(strings.TrimSpace(res.Stderr), "\n"); lines != 0 || !strings.HasPrefix(res.Stderr, "error: ") {
			t.Errorf("kubectl %s no-such-command: want one error line: %s", p, res)
		}
	}
}
