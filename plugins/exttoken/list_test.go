package exttoken

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

const (
	day = 24 * time.Hour
	ms  = int64(time.Millisecond)
)

// someTokens: a live one, an expired one, a never-expiring disabled one
// of another user, with text a terminal must not obey.
func someTokens() []runtime.Object {
	return []runtime.Object{
		extTok("token-live", "u-alice", 2*day, 30*msPerDay, set("CI", "spec", "description"), kindOf("kubeconfig"),
			set("2026-11-22T11:00:00Z", "status", "lastUsedAt")),
		extTok("token-old", "u-alice", 40*day, 30*msPerDay),
		extTok("token-bob", "u-bob", time.Hour, -1, set(false, "spec", "enabled"), set("evil\x1b[31m\nforged", "spec", "description"),
			set(map[string]any{lastApplied: `{"status":{"value":"s3cr3tvalue","hash":"$3:1:c2FsdA:aGFzaA"},"spec":{"ttl":-1}}`}, "metadata", "annotations")),
	}
}

func tableReq(query string) string { return "GET " + tokensPath + query }

func TestList(t *testing.T) {
	list := "list tokens.ext.cattle.io"
	runCases(t, []cmdCase{
		{name: "the server's table", args: []string{"list"}, objs: someTokens(), golden: "list-table", requests: none,
			check: tables(tableReq("?limit=500"))},
		{name: "--show-expiry marks the token of this request CURRENT", args: []string{"list", "--show-expiry"}, golden: "list-show-expiry-current",
			objs: append(someTokens()[:2], extTok("token-me", "u-alice", day, 30*msPerDay, set(true, "status", "current")))},
		{name: "the server's wide table", args: []string{"list", "-o", "wide"}, objs: someTokens(), golden: "list-wide"},
		{name: "--expired filters the server's table on whole objects", args: []string{"list", "--expired"}, objs: someTokens(), golden: "list-expired",
			check: tables(tableReq("?includeObject=Object&limit=500"))},
		{name: "--show-expiry computes expiry, enabled and last use", args: []string{"list", "--show-expiry", "-o", "wide"}, objs: someTokens(), golden: "list-show-expiry",
			requests: []string{list}},
		{name: "--expiring-within shows what expires within D or has expired", args: []string{"list", "--show-expiry", "--expiring-within", "29d"}, objs: someTokens(),
			stdout: []string{"token-live", "token-old"}, check: absent("token-bob")},
		{name: "--expiring-within 0 shows only what has expired", args: []string{"list", "--expiring-within", "0", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-old"}, check: absent("token-live", "token-bob")},
		{name: "--expiring-within never is refused", args: []string{"list", "--expiring-within", "never"}, exit: 1,
			stderr: []string{"--expiring-within never selects nothing: pass a duration such as 7d (0 shows only the expired tokens)"}},
		{name: "--older-than selects on creation", args: []string{"list", "--older-than", "30d", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-old"}, check: absent("token-live", "token-bob")},
		{name: "--unused-for counts never-used tokens from creation", args: []string{"list", "--unused-for", "1d", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-old"}, check: absent("token-live", "token-bob")},
		{name: "--never-expiring", args: []string{"list", "--never-expiring", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-bob"}, check: absent("token-live", "token-old")},
		{name: "selection flags combine", args: []string{"list", "--older-than", "1d", "--unused-for", "1d", "--user-id", "u-alice", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-old"}, check: absent("token-live", "token-bob")},
		{name: "--fail-if-any exits 3 when a token is shown", args: []string{"list", "--expiring-within", "7d", "--fail-if-any"}, objs: someTokens(), exit: 3,
			golden: "list-fail-if-any"},
		{name: "--fail-if-any exits 0 when none is", args: []string{"list", "--kind", "kubeconfig", "--unused-for", "1h", "--fail-if-any", "-o", "name"}, objs: someTokens()},
		{name: "--fail-if-any in the server table", args: []string{"list", "--never-expiring", "--fail-if-any"}, objs: someTokens(), exit: 3,
			stdout: []string{"token-bob"}, stderr: []string{"tokens shown: 1; exit 3 (--fail-if-any)"}},
		{name: "--kind is sent as a label selector", args: []string{"list", "--kind", "kubeconfig", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token.ext.cattle.io/token-live"}, check: absent("token-old", "token-bob")},
		{name: "--user-id of a non-admin filters on the client and never asks by label", args: []string{"list", "--user-id", "u-bob", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token-bob"}, requests: []string{"create selfsubjectaccessreviews.authorization.k8s.io", list}, check: absent("token-live")},
		{name: "json and yaml never carry a hash, value or last-applied copy", args: []string{"list", "-o", "json"}, objs: someTokens(),
			stdout: []string{`"token-bob"`, lastApplied, `\"ttl\":-1`}},
		{name: "yaml too", args: []string{"list", "-o", "yaml"}, objs: someTokens(), stdout: []string{"token-bob"}},
		{name: "jsonpath of the annotation", args: []string{"list", "-o", "jsonpath={.items[*].metadata.annotations}"}, objs: someTokens(),
			stdout: []string{"ttl"}},
		{name: "no tokens", args: []string{"list", "--show-expiry"}, golden: "list-none"},
		{name: "an empty selection says matching", args: []string{"list", "--show-expiry", "--kind", "helm"}, objs: someTokens(), stderr: []string{"No matching tokens found."}},
		{name: "an empty selection says matching with --show-expiry too", args: []string{"list", "--show-expiry", "--older-than", "400d"}, objs: someTokens(), stderr: []string{"No matching tokens found."}},
		// One meaning for --kind "", ext and legacy alike: the empty kind
		// (legacy refuses it, as no v3 token has one).
		{name: `--kind "" selects the tokens of the empty kind`, args: []string{"list", "--kind", "", "-o", "name"}, objs: someTokens(),
			stdout: []string{"token.ext.cattle.io/token-old", "token.ext.cattle.io/token-bob"}, check: absent("token-live")},
		{name: "a user-id label selector is refused", args: []string{"list", "-l", "cattle.io/user-id=u-bob"}, exit: 1,
			stderr: []string{"use --user-id"}, requests: none},
		{name: "--show-expiry with -o json", args: []string{"list", "--show-expiry", "-o", "json"}, exit: 1, stderr: []string{"--show-expiry is a table"}},
		{name: "--never-expiring with --expiring-within", args: []string{"list", "--never-expiring", "--expiring-within", "1d"}, exit: 1, stderr: []string{"--never-expiring excludes"}},
		{name: "a bad --older-than", args: []string{"list", "--older-than", "old"}, exit: 1, stderr: []string{`invalid --older-than "old"`}, requests: none},
	})
}

func TestListHelpNamesUserIDNotKubectlsUser(t *testing.T) {
	res := run(t, newRancher(t), "list", "--help")
	usage := strings.SplitN(res.Stdout, "Global Flags:", 2)[0]
	if !strings.Contains(usage, "--user-id") || strings.Contains(strings.ReplaceAll(usage, "--user-id", ""), "--user") {
		t.Errorf("list help mentions --user outside the global flags:\n%s", usage)
	}
}

func tables(want ...string) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
		t.Helper()
		if got := f.Tables(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("table requests %q, want %q", got, want)
		}
	}
}

func absent(names ...string) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, _ *fakeRancher, res clitest.Result) {
		t.Helper()
		for _, n := range names {
			if strings.Contains(res.Stdout, n+"\n") || strings.Contains(res.Stdout, n+" ") || strings.Contains(res.Stdout, n+`"`) {
				t.Errorf("output lists %s:\n%s", n, res.Stdout)
			}
		}
	}
}

func TestGet(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "the server's row", args: []string{"get", "token-live"}, objs: someTokens(), golden: "get-table", requests: none,
			check: tables(tableReq("/token-live"))},
		{name: "yaml without hash", args: []string{"get", "token-bob", "-o", "yaml"}, objs: someTokens(), golden: "get-yaml",
			requests: []string{"get tokens.ext.cattle.io token-bob"}},
		{name: "not found points at exttoken list with the user's flags", args: []string{"get", "token-nope", "-o", "name", "--context", "prod"}, objs: someTokens(), exit: 1,
			golden: "get-not-found"},
		{name: "not found in the table too", args: []string{"get", "token-nope"}, objs: someTokens(), exit: 1,
			stderr: []string{`token "token-nope" not found`, "kubectl exttoken list"}},
		{name: "a name that cannot be a token", args: []string{"get", "Token_X"}, exit: 1, stderr: []string{"invalid token name"}, requests: none},
	})
}

func TestDescribe(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "everything about a token", args: []string{"describe", "token-live"}, objs: someTokens(), golden: "describe",
			requests: []string{"get tokens.ext.cattle.io token-live"}},
		{name: "server text is escaped", args: []string{"describe", "token-bob"}, objs: someTokens(), golden: "describe-escaped",
			check: func(t *testing.T, _ *fakeRancher, res clitest.Result) {
				t.Helper()
				if strings.Contains(res.Stdout, "\x1b") || strings.Contains(res.Stdout, "\nforged") {
					t.Errorf("raw control text reached the output:\n%q", res.Stdout)
				}
			}},
		{name: "forbidden", args: []string{"describe", "token-live"}, objs: someTokens(), exit: 1,
			setup: func(f *fakeRancher) {
				f.react("get", "tokens", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, statusErr(403, "Forbidden", `tokens.ext.cattle.io "token-live" is forbidden`)
				})
			},
			stderr: []string{"kubectl auth can-i get tokens.ext.cattle.io"}},
	})
}
