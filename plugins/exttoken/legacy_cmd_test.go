package exttoken

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// someV3Tokens: never-expiring system tokens, an expired one, a live one,
// one applied with kubectl apply (its value in last-applied too) and one
// whose description would drive a terminal.
func someV3Tokens() []runtime.Object {
	return []runtime.Object{
		v3Tok("kubectl-shell-u-1", "u-alice", 900*day, 0),
		v3Tok("agent-u-2", "u-bob", 800*day, 0),
		v3Tok("token-expired", "u-alice", 10*day, msPerDay),
		v3Tok("token-live", "u-alice", time.Hour, 30*msPerDay, set("2026-11-22T11:30:00Z", "lastUsedAt")),
		v3Tok("token-applied", "u-bob", 2*day, 0, set(map[string]any{
			lastApplied: `{"apiVersion":"management.cattle.io/v3","kind":"Token","metadata":{"name":"token-applied"},"token":"plaintext-token-applied","userId":"u-bob","ttl":0}`,
		}, "metadata", "annotations"), set("ci\x1b]0;owned\x07\nx", "description")),
	}
}

func TestLegacyList(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "table with computed expiry and the never-expiring summary", args: []string{"legacy", "list"}, objs: someV3Tokens(),
			golden: "legacy-list", requests: []string{"list tokens.management.cattle.io"}},
		{name: "--never-expiring", args: []string{"legacy", "list", "--never-expiring", "-o", "name"}, objs: someV3Tokens(),
			stdout: []string{"kubectl-shell-u-1", "agent-u-2", "token-applied"}, check: absent("token-live", "token-expired")},
		{name: "--user-id is sent as the v3 owner label", args: []string{"legacy", "list", "--user-id", "u-bob", "-o", "name"}, objs: someV3Tokens(),
			stdout: []string{"agent-u-2"}, check: absent("token-live")},
		{name: "json carries no token, providerInfo or last-applied copy", args: []string{"legacy", "list", "-o", "json"}, objs: someV3Tokens(),
			stdout: []string{lastApplied, "token-applied"}},
		{name: "yaml too", args: []string{"legacy", "list", "-o", "yaml"}, objs: someV3Tokens(), stdout: []string{"token-applied"}},
		{name: "go-template of the annotations too", args: []string{"legacy", "list", "-o", "go-template={{range .items}}{{.metadata.annotations}}{{end}}"}, objs: someV3Tokens(),
			stdout: []string{"userId"}},
		{name: "none", args: []string{"legacy", "list"}, stderr: []string{"No v3 tokens found."}},
		{name: "an empty selection says matching", args: []string{"legacy", "list", "--kind", "helm"}, objs: someV3Tokens(), stderr: []string{"No matching v3 tokens found."}},
		{name: `--kind "" is the empty kind, which no v3 token has`, args: []string{"legacy", "list", "--kind", ""}, objs: someV3Tokens(), exit: 1,
			stderr: []string{`--kind "" selects v3 tokens without a kind, and there are none`}, requests: none},
		{name: "exclusive", args: []string{"legacy", "list", "--expired", "--never-expiring"}, exit: 1, stderr: []string{"--never-expiring excludes"}, requests: none},
		{name: "--unused-for counts never-used tokens from creation", args: []string{"legacy", "list", "--unused-for", "365d", "-o", "name"}, objs: someV3Tokens(),
			stdout: []string{"kubectl-shell-u-1", "agent-u-2"}, check: absent("token-live", "token-applied", "token-expired")},
		{name: "-l is sent to the server", args: []string{"legacy", "list", "-l", labelV3UserID + "=u-alice", "--older-than", "1d", "-o", "name"}, objs: someV3Tokens(),
			stdout: []string{"kubectl-shell-u-1", "token-expired"}, check: absent("agent-u-2", "token-live", "token-applied")},
		{name: "--expiring-within --fail-if-any exits 3", args: []string{"legacy", "list", "--expiring-within", "30d", "--fail-if-any"}, objs: someV3Tokens(), exit: 3,
			golden: "legacy-list-fail-if-any"},
		{name: "--fail-if-any exits 0 when none is shown", args: []string{"legacy", "list", "--expiring-within", "30d", "--user-id", "u-bob", "--fail-if-any"}, objs: someV3Tokens(),
			stderr: []string{"No matching v3 tokens found."}},
	})
}

func TestLegacyListEscapesServerText(t *testing.T) {
	res := run(t, newRancher(t, someV3Tokens()...), "legacy", "list", "--kind", "derived")
	if res.Exit != 0 || strings.ContainsAny(res.Stdout, "\x1b\x07") || !strings.Contains(res.Stdout, `ci^[]0;owned\x07\nx`) {
		t.Errorf("%q", res.Stdout)
	}
}

func TestLegacyDelete(t *testing.T) {
	v3stored := func(want map[string]bool) func(*testing.T, *fakeRancher, clitest.Result) {
		return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
			t.Helper()
			for name, w := range want {
				_, err := f.Dyn.Tracker().Get(legacyGVR, "", name)
				if got := err == nil; got != w {
					t.Errorf("%s stored = %v, want %v", name, got, w)
				}
			}
		}
	}
	runCases(t, []cmdCase{
		{name: "--never-expiring --kind", args: []string{"legacy", "delete", "--never-expiring", "--kind", "kubectl-shell"}, objs: someV3Tokens(),
			golden: "legacy-delete", requests: []string{"list tokens.management.cattle.io", "delete tokens.management.cattle.io kubectl-shell-u-1"},
			check: v3stored(map[string]bool{"kubectl-shell-u-1": false, "agent-u-2": true})},
		{name: "--expired --dry-run", args: []string{"legacy", "delete", "--expired", "--dry-run"}, objs: someV3Tokens(),
			stdout: []string{"Would delete 1 token.management.cattle.io (dry run)", "first:   token-expired\n"}, requests: []string{"list tokens.management.cattle.io"}},
		{name: "by name, one missing", args: []string{"legacy", "delete", "agent-u-2", "nope", "--context", "rancher"}, objs: someV3Tokens(), exit: 1,
			golden: "legacy-delete-partial", check: v3stored(map[string]bool{"agent-u-2": false})},
		{name: "--kind alone is a selection, -o name lists it", args: []string{"legacy", "delete", "--kind", "agent", "--dry-run", "-o", "name"}, objs: someV3Tokens(),
			stdout: []string{"token.management.cattle.io/agent-u-2\n"}, check: absent("kubectl-shell-u-1", "token-live")},
		{name: "--older-than and --user-id combine", args: []string{"legacy", "delete", "--older-than", "100d", "--user-id", "u-bob"}, objs: someV3Tokens(),
			stdout: []string{"deleted 1 of 1 listed"}, check: v3stored(map[string]bool{"agent-u-2": false, "token-applied": true, "kubectl-shell-u-1": true})},
		{name: "nothing selected", args: []string{"legacy", "delete"}, exit: 1, stderr: []string{"nothing to delete"}, requests: none},
	})
}

func TestSettings(t *testing.T) {
	settings := func(extra ...runtime.Object) []runtime.Object {
		return append([]runtime.Object{
			settingObj("auth-token-max-ttl-minutes", "", "129600"),
			settingObj("kubeconfig-default-token-ttl-minutes", "", "43200"),
			settingObj("auth-user-session-ttl-minutes", "", "960"),
			settingObj("auth-user-session-idle-ttl-minutes", "", "960"),
			settingObj("kubeconfig-generate-token", "", "true"),
			&unstructured.Unstructured{Object: map[string]any{"apiVersion": "management.cattle.io/v3", "kind": "Feature",
				"metadata": map[string]any{"name": "token-hashing"}, "spec": map[string]any{"value": nil}, "status": map[string]any{"default": false}}},
		}, extra...)
	}
	main := func() []runtime.Object {
		return settings(settingObj("auth-token-default-ttl-minutes", "43200", "129600"), settingObj("kubeconfig-max-token-ttl-minutes", "", "129600"))
	}
	patched := func(name, want string) func(*testing.T, *fakeRancher, clitest.Result) {
		return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
			t.Helper()
			obj, err := f.Dyn.Tracker().Get(settingsGVR, "", name)
			if err != nil {
				t.Fatal(err)
			}
			if v := toUnstructured(obj).Object["value"]; v != want {
				t.Errorf("%s value %v, want %q", name, v, want)
			}
		}
	}
	runCases(t, []cmdCase{
		{name: "table", args: []string{"settings"}, objs: settings(), golden: "settings"},
		{name: "table on rancher main", args: []string{"settings"}, objs: main(), golden: "settings-main"},
		{name: "objects", args: []string{"settings", "-o", "name"}, objs: settings(), stdout: []string{"setting.management.cattle.io/auth-token-max-ttl-minutes", "feature.management.cattle.io/token-hashing"}},
		{name: "set a duration as minutes", args: []string{"settings", "set", "auth-token-max-ttl-minutes", "30d"}, objs: settings(),
			stdout: []string{"setting.management.cattle.io/auth-token-max-ttl-minutes set to 43200 (30d)"}, check: patched("auth-token-max-ttl-minutes", "43200")},
		{name: "a default above the maximum is refused", args: []string{"settings", "set", "auth-token-default-ttl-minutes", "100d"}, objs: main(), exit: 1,
			stderr: []string{"auth-token-default-ttl-minutes (144000 = 100d) would exceed auth-token-max-ttl-minutes"}, check: patched("auth-token-default-ttl-minutes", "43200")},
		{name: "a maximum below the default is refused", args: []string{"settings", "set", "auth-token-max-ttl-minutes", "1d"}, objs: main(), exit: 1,
			stderr: []string{"would exceed auth-token-max-ttl-minutes (1440 = 1d)"}},
		{name: "a kubeconfig default above its maximum is refused", args: []string{"settings", "set", "kubeconfig-default-token-ttl-minutes", "never"}, objs: settings(), exit: 1,
			stderr: []string{"invalid value"}},
		{name: "a bool", args: []string{"settings", "set", "kubeconfig-generate-token", "FALSE"}, objs: settings(), check: patched("kubeconfig-generate-token", "false")},
		{name: "unknown setting", args: []string{"settings", "set", "server-url", "x"}, exit: 1, stderr: []string{"unknown setting"}},
	})
}
