package exttoken

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// credentials: of every kind, some within a week, some not.
func credentials() []runtime.Object {
	return []runtime.Object{
		// ext tokens: in 2 days, in 29 days, never, expired a day ago
		extTok("token-soon", "u-alice", 28*day, 30*msPerDay, set("CI", "spec", "description"), set("2026-11-21T12:00:00Z", "status", "lastUsedAt")),
		extTok("token-later", "u-alice", day, 30*msPerDay),
		extTok("token-never", "u-bob", day, -1),
		extTok("token-gone", "u-bob", 31*day, 30*msPerDay, kindOf("session")),
		// a kubeconfig whose tokens expire in 6h, and a token of a
		// kubeconfig that is not listed
		kcObj("kubeconfig-ci", "u-alice", 2*time.Hour, 8*3600, []any{"c-m-abc12"}, "token-kca", "token-kcb"),
		kcToken("token-kca", "kubeconfig-ci", "u-alice", 2*time.Hour, 8*msPerHour, set("2026-11-22T11:30:00Z", "status", "lastUsedAt")),
		kcToken("token-kcb", "kubeconfig-ci", "u-alice", 2*time.Hour, 8*msPerHour),
		kcToken("token-orphan", "kubeconfig-old", "u-bob", 29*day, 30*msPerDay),
		// v3 tokens: expired an hour ago, never (ttl 0), in 60 days
		v3Tok("kubeconfig-u-carol", "u-carol", 24*time.Hour+time.Hour, 24*msPerHour, set("kubeconfig", "metadata", "labels", labelKind)),
		v3Tok("token-v3never", "u-carol", 400*day, 0),
		v3Tok("token-v3later", "u-carol", day, 60*msPerDay),
	}
}

func TestExpiring(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "every kind within a week, soonest first", args: []string{"expiring"}, objs: credentials(), golden: "expiring",
			requests: []string{"list tokens.ext.cattle.io", "list kubeconfigs.ext.cattle.io", "list tokens.management.cattle.io"}},
		{name: "wide adds the exact expiry and a kubeconfig's tokens", args: []string{"expiring", "-o", "wide"}, objs: credentials(), golden: "expiring-wide"},
		{name: "--within widens the window", args: []string{"expiring", "--within", "30d", "-o", "name"}, objs: credentials(),
			stdout: []string{"token.ext.cattle.io/token-later", "token.ext.cattle.io/token-orphan"}, check: absent("token-v3later", "token-never", "token-v3never")},
		{name: "--within 0 shows only the expired", args: []string{"expiring", "--within", "0", "-o", "name"}, objs: credentials(),
			stdout: []string{"token.ext.cattle.io/token-gone\ntoken.management.cattle.io/kubeconfig-u-carol\n"}, check: absent("token-soon", "kubeconfig-ci")},
		{name: "--fail-if-any exits 3 when any is shown", args: []string{"expiring", "--fail-if-any"}, objs: credentials(), exit: 3,
			stderr: []string{"credentials shown: 5; exit 3 (--fail-if-any)"}},
		{name: "--fail-if-any exits 0 when none is", args: []string{"expiring", "--fail-if-any"}, objs: []runtime.Object{extTok("token-later", "u-alice", day, 30*msPerDay)},
			golden: "expiring-none"},
		{name: "json for monitoring", args: []string{"expiring", "-o", "json"}, objs: credentials(), check: expiringJSON},
		{name: "--within never is refused", args: []string{"expiring", "--within", "never"}, exit: 1, requests: none,
			stderr: []string{"--within never selects nothing: pass a duration such as 7d"}},
		{name: "a bad --within is refused", args: []string{"expiring", "--within", "soon"}, exit: 1, requests: none,
			stderr: []string{`invalid --within "soon"`}},
		{name: "v3 tokens a user may not list are skipped with a warning", args: []string{"expiring", "--fail-if-any"}, objs: credentials(), exit: 3,
			setup: failing("list", "tokens", "management.cattle.io", statusErr(403, metav1.StatusReasonForbidden,
				`tokens.management.cattle.io is forbidden: User "u-alice" cannot list resource "tokens" in API group "management.cattle.io" at the cluster scope`)),
			golden: "expiring-v3-forbidden"},
		{name: "kubeconfigs not served (Rancher 2.11) are skipped with a warning", args: []string{"expiring", "-o", "name"}, objs: credentials(),
			setup:  failing("list", "kubeconfigs", "ext.cattle.io", statusErr(404, metav1.StatusReasonNotFound, "the server could not find the requested resource")),
			stderr: []string{"warning: skipped ext kubeconfigs (kubeconfigs.ext.cattle.io): not served by this cluster"},
			stdout: []string{"token.ext.cattle.io/token-kca", "token.ext.cattle.io/token-kcb"}},
		{name: "any other error fails with one line", args: []string{"expiring", "--fail-if-any"}, objs: credentials(), exit: 1,
			setup:  failing("list", "tokens", "ext.cattle.io", statusErr(500, metav1.StatusReasonInternalError, "failed to list tokens: etcd down")),
			stderr: []string{"failed to list tokens: etcd down"}},
	})
}

// failing makes verb on resource of group fail with err.
func failing(verb, resource, group string, err error) func(*fakeRancher) {
	return func(f *fakeRancher) {
		f.react(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetResource().Group != group {
				return false, nil, nil
			}
			return true, nil, err
		})
	}
}

// expiringJSON pins the monitoring fields of -o json.
func expiringJSON(t *testing.T, _ *fakeRancher, res clitest.Result) {
	t.Helper()
	var list struct {
		Items []struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Credential, Owner, Purpose, ExpiresAt string
			Expired                               bool
			LastUsedAt                            *string
			Tokens                                []string
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatalf("%v\n%s", err, res.Stdout)
	}
	var got []string
	for _, it := range list.Items {
		last := "null"
		if it.LastUsedAt != nil {
			last = *it.LastUsedAt
		}
		got = append(got, strings.Join([]string{it.APIVersion, it.Kind, it.Metadata.Name, it.Credential, it.Owner, it.Purpose, it.ExpiresAt,
			map[bool]string{true: "expired", false: "live"}[it.Expired], last, strings.Join(it.Tokens, ",")}, "|"))
	}
	want := []string{
		"ext.cattle.io/v1|Token|token-gone|ext-token|u-bob|session (login)|2026-11-21T12:00:00Z|expired|null|",
		"management.cattle.io/v3|Token|kubeconfig-u-carol|v3-token|u-carol|kubeconfig|2026-11-22T11:00:00Z|expired|null|",
		"ext.cattle.io/v1|Kubeconfig|kubeconfig-ci|kubeconfig|u-alice|clusters c-m-abc12|2026-11-22T18:00:00Z|live|2026-11-22T11:30:00Z|token-kca,token-kcb",
		"ext.cattle.io/v1|Token|token-orphan|ext-token|u-bob|kubeconfig kubeconfig-old|2026-11-23T12:00:00Z|live|null|",
		"ext.cattle.io/v1|Token|token-soon|ext-token|u-alice|derived: CI|2026-11-24T12:00:00Z|live|2026-11-21T12:00:00Z|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("json items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
