package exttoken

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// manyTokens are n ext tokens of three kinds and users spread unevenly,
// every one older than a day; a user name carries a terminal escape.
func manyTokens(n int) []runtime.Object {
	kinds := []string{"kubeconfig", "session", ""}
	users := []string{"u-alice", "u-bob", "u-carol", "u-\x1b[31mevil"}
	objs := make([]runtime.Object, 0, n)
	for i := range n {
		objs = append(objs, extTok(fmt.Sprintf("token-%03d", i), users[(i/3)%len(users)], 2*day, -1, kindOf(kinds[i%len(kinds)])))
	}
	return objs
}

func TestPrunePlanAndSummary(t *testing.T) {
	failSome := func(f *fakeRancher) {
		f.react("delete", "tokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
			switch a.(k8stesting.DeleteAction).GetName() {
			case "token-003", "token-017":
				return true, nil, statusErr(403, "Forbidden", `tokens.ext.cattle.io "`+a.(k8stesting.DeleteAction).GetName()+`" is forbidden`)
			case "token-005":
				return true, nil, statusErr(404, "NotFound", `tokens.ext.cattle.io "token-005" not found`)
			}
			return false, nil, nil
		})
	}
	runCases(t, []cmdCase{
		{name: "a client dry run prints counts by kind and user and the first names", args: []string{"delete", "--older-than", "1d", "--dry-run", "--context", "rancher"},
			objs: withCurrent("token-004", manyTokens(40)), golden: "delete-plan", requests: []string{"list tokens.ext.cattle.io"}},
		{name: "-o name with a dry run prints every name", args: []string{"delete", "--older-than", "1d", "--dry-run", "-o", "name"},
			objs: manyTokens(40), stdout: []string{"token.ext.cattle.io/token-000\n", "token.ext.cattle.io/token-039\n"}},
		{name: "a prune with failures: each on its own line with a hint on the user's context, one summary, exit 1", args: []string{"delete", "--never-expiring", "--parallel", "1", "--context", "rancher"},
			objs: withCurrent("token-004", manyTokens(20)), setup: failSome, exit: 1, golden: "delete-prune-partial",
			check: func(t *testing.T, f *fakeRancher, _ clitest.Result) {
				t.Helper()
				for i := range 20 {
					name := fmt.Sprintf("token-%03d", i)
					_, err := f.Dyn.Tracker().Get(tokensGVR, "", name)
					if kept, want := err == nil, name == "token-003" || name == "token-017" || name == "token-004" || name == "token-005"; kept != want {
						t.Errorf("%s kept = %v, want %v", name, kept, want)
					}
				}
			}},
	})
}

func TestLegacyPruneSkipsTheV3TokenOfThisKubeconfig(t *testing.T) {
	f := &fakeRancher{}
	f.Factory = clitest.NewFactory(clitest.Options{Dynamic: someV3Tokens(), ListKinds: listKinds,
		REST: &rest.Config{Host: "https://rancher.example", BearerToken: "kubectl-shell-u-1:s3cr3t"}})
	res := run(t, f, "legacy", "delete", "--never-expiring", "--kind", "kubectl-shell")
	if res.Exit != 0 || !strings.Contains(res.Stderr, `token.management.cattle.io "kubectl-shell-u-1" skipped: it authenticates this request`) ||
		!strings.Contains(res.Stdout, "deleted 0 of 1 listed in 0s; 0 already gone, 1 skipped, 0 failed") {
		t.Fatalf("%s", res)
	}
	if _, err := f.Dyn.Tracker().Get(legacyGVR, "", "kubectl-shell-u-1"); err != nil {
		t.Errorf("the current v3 token was deleted: %v", err)
	}
	for bearer, want := range map[string]string{"ext/token-abcde:v": "", "no-colon": "", "agent-u-2:x": "agent-u-2", "": ""} {
		g := clitest.NewFactory(clitest.Options{REST: &rest.Config{BearerToken: bearer}})
		if got := currentLegacyToken(g); got != want {
			t.Errorf("currentLegacyToken(%q) = %q, want %q", bearer, got, want)
		}
	}
}

// The progress lines and the summary tell one truth: the lines count
// every token finished (a skipped one too), the summary splits them; no
// "deleted 20 of 20" above "deleted 19 ..., 1 skipped".
func TestPruneProgressAndSummaryTellOneTruth(t *testing.T) {
	f := newRancher(t, withCurrent("token-004", manyTokens(20))...)
	res := run(t, f, "delete", "--never-expiring", "--parallel", "1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "finished 20 of 20 (100%)" {
		t.Errorf("last progress line %q, want finished 20 of 20 (100%%)\n%s", last, res)
	}
	if strings.Contains(res.Stderr, "deleted 20 of 20") {
		t.Errorf("progress says every token was deleted:\n%s", res)
	}
	if !strings.Contains(res.Stdout, "deleted 19 of 20 listed") || !strings.Contains(res.Stdout, "0 already gone, 1 skipped, 0 failed") {
		t.Errorf("summary:\n%s", res)
	}
}

// A Forbidden's kubectl auth can-i hint keeps the connection flags given,
// in the error line and in the not-found hint.
func TestExttokenHintsKeepTheConnectionFlags(t *testing.T) {
	f := newRancher(t, someTokens()...)
	f.react("delete", "tokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, statusErr(403, "Forbidden", `tokens.ext.cattle.io "token-live" is forbidden`)
	})
	res := run(t, f, "delete", "token-live", "--context", "rancher", "--kubeconfig", "/k/c")
	if want := "check your rights with: kubectl auth can-i delete tokens.ext.cattle.io --kubeconfig=/k/c --context=rancher\n"; res.Exit != 1 || !strings.HasSuffix(res.Stderr, want) {
		t.Errorf("%s\nwant stderr ending %q", res, want)
	}
	res = run(t, newRancher(t), "describe", "token-gone", "--context", "rancher")
	if want := "list yours with kubectl exttoken list --context=rancher\n"; res.Exit != 1 || !strings.HasSuffix(res.Stderr, want) {
		t.Errorf("%s\nwant stderr ending %q", res, want)
	}
}
