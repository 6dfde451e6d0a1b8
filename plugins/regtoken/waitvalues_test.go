package regtoken

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

// A token deleted while create or values waits for its values ends the
// wait at the watch's Deleted event (the --timeout of an hour never runs
// out), with one line that says why and offers no re-run of a token that
// is gone.
func TestWaitForValuesEndsAtOnceWhenTheTokenIsDeleted(t *testing.T) {
	for _, c := range []struct {
		name string
		// gone is the token as the Deleted event carries it.
		gone *unstructured.Unstructured
		args []string
		// existing are the tokens before the command (values waits for one).
		existing []*unstructured.Unstructured
		want     string
	}{{
		name: "create, token deleted by someone",
		gone: tokenObj("edge-1", "", ""),
		args: []string{"create", "edge-1", "--ttl", "never", "--timeout", "1h"},
		want: `error: ClusterRegistrationToken "edge-1" in namespace "fleet-default" was deleted by the Fleet controller at once: it requires a TTL (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true); create it again with --ttl, e.g. --ttl 24h`,
	}, {
		name: "create, token expired",
		gone: tokenObj("edge-1", "1h", ""),
		args: []string{"create", "edge-1", "--ttl", "1h", "--timeout", "1h"},
		want: `error: ClusterRegistrationToken "edge-1" in namespace "fleet-default" expired at 2026-11-28T10:00:00Z (ttl 1h) and was deleted before the Fleet controller wrote its values: create a new token with a longer --ttl`,
	}, {
		name:     "values, token deleted by someone",
		existing: tokensOf(tokenObj("edge-1", "240h", "")),
		gone:     tokenObj("edge-1", "240h", ""),
		args:     []string{"values", "edge-1", "--timeout", "1h"},
		want:     `error: ClusterRegistrationToken "edge-1" in namespace "fleet-default" was deleted (not by expiry) before the Fleet controller wrote its values: create a new token`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			inTempDir(t)
			f := world{tokens: c.existing}.factory(t)
			// The watch delivers the deletion as its first event.
			w := watch.NewRaceFreeFake()
			c.gone.SetResourceVersion("2")
			w.Delete(c.gone)
			f.Dyn.PrependWatchReactor("clusterregistrationtokens", func(k8stesting.Action) (bool, watch.Interface, error) {
				return true, w, nil
			})
			f.Dyn.PrependReactor("create", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
				u := a.(k8stesting.CreateActionImpl).GetObject().(*unstructured.Unstructured)
				u.SetCreationTimestamp(metav1.NewTime(testNow))
				u.SetResourceVersion("1")
				return true, u, nil
			})
			res := run(t, f, c.args...)
			lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
			if res.Exit != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "Waiting up to 1h0m0s for ") || lines[1] != c.want {
				t.Fatalf("want the wait line then %q; got %s", c.want, res)
			}
			for _, stale := range []string{"stays", "is left", "fetch its values later", "delete it with"} {
				if strings.Contains(res.Stderr, stale) {
					t.Errorf("the error offers %q for a token that is gone: %s", stale, res.Stderr)
				}
			}
		})
	}
}
