package exttoken

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// withCurrent marks name as the token that authenticates the request.
func withCurrent(name string, objs []runtime.Object) []runtime.Object {
	for _, o := range objs {
		if u := o.(interface{ GetName() string }); u.GetName() == name {
			set(true, "status", "current")(toUnstructured(o).Object)
		}
	}
	return objs
}

func failDelete(name string) func(*fakeRancher) {
	return func(f *fakeRancher) {
		f.react("delete", "tokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.(k8stesting.DeleteAction).GetName() == name {
				return true, nil, statusErr(500, "InternalError", "etcd is down")
			}
			return false, nil, nil
		})
	}
}

func stored(want map[string]bool) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
		t.Helper()
		for name, w := range want {
			_, err := f.Dyn.Tracker().Get(tokensGVR, "", name)
			if got := err == nil; got != w {
				t.Errorf("%s stored = %v, want %v", name, got, w)
			}
		}
	}
}

func TestDelete(t *testing.T) {
	get := func(n string) string { return "get tokens.ext.cattle.io " + n }
	del := func(n string) string { return "delete tokens.ext.cattle.io " + n }
	runCases(t, []cmdCase{
		{name: "by name", args: []string{"delete", "token-live", "token-old"}, objs: someTokens(), golden: "delete-names",
			requests: []string{get("token-live"), get("token-old"), del("token-live"), del("token-old")}, unordered: true,
			check: stored(map[string]bool{"token-live": false, "token-old": false, "token-bob": true})},
		{name: "carries on past a failure and counts", args: []string{"delete", "token-live", "token-nope", "token-old"}, objs: someTokens(), exit: 1,
			setup: failDelete("token-old"), golden: "delete-partial",
			check: stored(map[string]bool{"token-live": false, "token-old": true})},
		{name: "a single failure is its own line with a hint", args: []string{"delete", "token-nope", "--kubeconfig", "/tmp/kc"}, objs: someTokens(), exit: 1,
			golden: "delete-not-found"},
		{name: "warns before deleting the token of this request", args: []string{"delete", "token-live"}, objs: withCurrent("token-live", someTokens()),
			stderr: []string{"warning: token-live authenticates this request: deleting it logs this kubeconfig out"}, check: stored(map[string]bool{"token-live": false})},
		{name: "--expired prunes with a UID precondition", args: []string{"delete", "--expired"}, objs: someTokens(), golden: "delete-expired",
			requests: []string{"list tokens.ext.cattle.io", del("token-old")}, check: stored(map[string]bool{"token-old": false, "token-live": true})},
		{name: "--expired --dry-run sends no delete", args: []string{"delete", "--expired", "--dry-run"}, objs: someTokens(),
			stdout: []string{"Would delete 1 token.ext.cattle.io (dry run)", "first:   token-old\n"}, requests: []string{"list tokens.ext.cattle.io"}, check: stored(map[string]bool{"token-old": true})},
		{name: "--dry-run=server asks the server", args: []string{"delete", "token-old", "--dry-run=server"}, objs: someTokens(),
			stdout: []string{`token.ext.cattle.io "token-old" deleted (server dry run)`}},
		{name: "nothing expired", args: []string{"delete", "--expired"}, objs: someTokens()[:1], stderr: []string{"No matching tokens found."}},
		{name: "--unused-for and --kind combine", args: []string{"delete", "--unused-for", "1d", "--user-id", "u-alice"}, objs: someTokens(),
			golden: "delete-unused", requests: []string{"create selfsubjectaccessreviews.authorization.k8s.io", "list tokens.ext.cattle.io", del("token-old")},
			check: stored(map[string]bool{"token-old": false, "token-live": true, "token-bob": true})},
		{name: "--older-than with -l sends the selector", args: []string{"delete", "--older-than", "1d", "-l", "authn.management.cattle.io/kind=kubeconfig", "--dry-run", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token.ext.cattle.io/token-live\n"}, check: absent("token-old")},
		{name: "-o name prints what was deleted, the summary goes to stderr", args: []string{"delete", "--expired", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token.ext.cattle.io/token-old\n"}, stderr: []string{"deleted 1 of 1 listed in 0s; 0 already gone, 0 skipped, 0 failed"}},
		{name: "-o other than name", args: []string{"delete", "--expired", "-o", "yaml"}, exit: 1, stderr: []string{`invalid -o "yaml"`}, requests: none},
		{name: "--dry-run=server prunes through the server", args: []string{"delete", "--expired", "--dry-run=server"}, objs: someTokens(),
			stdout: []string{"deleted 1 of 1 listed in 0s; 0 already gone, 0 skipped, 0 failed (server dry run)"}},
		{name: "names and --expired", args: []string{"delete", "token-live", "--expired"}, exit: 1, stderr: []string{"not both"}, requests: none},
		{name: "nothing to delete", args: []string{"delete"}, exit: 1, stderr: []string{"nothing to delete"}, requests: none},
	})
}

func TestDeleteExpiredSkipsTheCurrentToken(t *testing.T) {
	objs := withCurrent("token-old", someTokens())
	f := newRancher(t, objs...)
	res := run(t, f, "delete", "--expired")
	if res.Exit != 0 || !strings.Contains(res.Stderr, `token.ext.cattle.io "token-old" skipped: it authenticates this request`+"\n") ||
		!strings.Contains(res.Stdout, "deleted 0 of 1 listed in 0s; 0 already gone, 1 skipped, 0 failed") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, f, "list tokens.ext.cattle.io")
}

func TestEnableDisable(t *testing.T) {
	get := func(n string) string { return "get tokens.ext.cattle.io " + n }
	patch := func(n string) string { return "patch tokens.ext.cattle.io " + n }
	runCases(t, []cmdCase{
		{name: "disable several, one already disabled, one missing", args: []string{"disable", "token-live", "token-bob", "token-nope"}, objs: someTokens(), exit: 1,
			golden:   "disable-partial",
			requests: []string{get("token-live"), get("token-bob"), get("token-nope"), patch("token-live"), patch("token-nope")},
			check:    isEnabled(map[string]bool{"token-live": false, "token-bob": false})},
		{name: "enable", args: []string{"enable", "token-bob", "token-live"}, objs: someTokens(), golden: "enable",
			check: isEnabled(map[string]bool{"token-live": true, "token-bob": true})},
		{name: "warns before disabling the token of this request", args: []string{"disable", "token-live"}, objs: withCurrent("token-live", someTokens()),
			stderr: []string{"warning: token-live authenticates this request: disabling it logs this kubeconfig out"}},
		{name: "a bad name is refused first", args: []string{"disable", "token-live", "BAD_"}, exit: 1, stderr: []string{"invalid token name"}, requests: none},
	})
}

func isEnabled(want map[string]bool) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
		t.Helper()
		for name, w := range want {
			obj, err := f.Dyn.Tracker().Get(tokensGVR, "", name)
			if err != nil {
				t.Fatal(err)
			}
			if got := tokenFrom(toUnstructured(obj)).Enabled; got != w {
				t.Errorf("%s enabled = %v, want %v", name, got, w)
			}
		}
	}
}

func TestSetTTL(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "shrinks and says when it now expires", args: []string{"set-ttl", "token-live", "7d"}, objs: someTokens(), golden: "set-ttl",
			requests: []string{"get tokens.ext.cattle.io token-live", maxTTLReq, "patch tokens.ext.cattle.io token-live"}},
		{name: "refuses to extend", args: []string{"set-ttl", "token-live", "60d"}, objs: someTokens(), exit: 1, stderr: []string{"cannot extend token", "create a new token"}},
		{name: "warns under a minute and when it expires at once", args: []string{"set-ttl", "token-live", "30s"}, objs: someTokens(),
			stderr: []string{"warning: a TTL of 30s is under one minute", "warning: the token is older than 30s"}},
		{name: "0 is refused", args: []string{"set-ttl", "token-live", "0"}, exit: 1, stderr: []string{"0 asks for the server's default"}, requests: none},
		{name: "already", args: []string{"set-ttl", "token-live", "30d"}, objs: someTokens(), stdout: []string{"already has TTL 30d"}},
	})
}

func TestSetDescription(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "sets it", args: []string{"set-description", "token-live", "deploy"}, objs: someTokens(),
			stdout: []string{"token.ext.cattle.io/token-live description set\n"}, requests: []string{"patch tokens.ext.cattle.io token-live"},
			check: func(t *testing.T, f *fakeRancher, _ clitest.Result) {
				t.Helper()
				obj, _ := f.Dyn.Tracker().Get(tokensGVR, "", "token-live")
				if d := tokenFrom(toUnstructured(obj)).Description; d != "deploy" {
					t.Errorf("description %q", d)
				}
			}},
		{name: "not found", args: []string{"set-description", "token-nope", "x"}, objs: someTokens(), exit: 1, stderr: []string{"list yours with kubectl exttoken list"}},
	})
}
