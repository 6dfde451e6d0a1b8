package regtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/inventory"
)

// An inventory's client IDs and labels reach helm per context; its labels
// win over --label on the same key and keep the others.
func TestEnrollReadsAnInventoryWithClientIDsAndLabels(t *testing.T) {
	helm, dir := fakeHelm(t)
	inv := filepath.Join(t.TempDir(), "clusters.yaml")
	writeFile(t, inv, "- name: ctx-a\n  clientID: store-17\n  labels: {env: staging, site: berlin}\n- name: ctx-b\n")
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "--contexts-from", inv, "--token-name", "edge", "--ttl", "1h", "--label", "env=prod", "--helm", helm, "--wait-registration=false")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	a, b := helmCall(t, dir, "ctx-a"), helmCall(t, dir, "ctx-b")
	for _, want := range []string{"clientID=store-17", "labels.env=staging", "labels.site=berlin"} {
		if !slices.ContainsFunc(a, func(s string) bool { return strings.HasSuffix(s, want) }) {
			t.Errorf("ctx-a: helm ran %q, want %s", a, want)
		}
	}
	if !slices.Contains(b, "labels.env=prod") || slices.ContainsFunc(b, func(s string) bool { return strings.Contains(s, "clientID") || strings.Contains(s, "site") }) {
		t.Errorf("ctx-b: helm ran %q, want only --label env=prod", b)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// --shard 1/2 and --shard 2/2 together enroll exactly the inventory, each
// context once; a shard left empty is a finished job, exit 0.
func TestEnrollShardsTogetherEnrollExactlyTheInventory(t *testing.T) {
	helm, _ := fakeHelm(t)
	seen := map[string]int{}
	for _, shard := range []string{"1/2", "2/2"} {
		f, _ := enrollWorld(t)
		res := clitest.Run(t, NewRoot, f, "ctx-a\nctx-b\n", "enroll", "--contexts-from", "-", "--shard", shard, "--token-name", "edge", "--ttl", "1h", "--helm", helm, "-o", "jsonl")
		if res.Exit != 0 {
			t.Fatalf("--shard %s: %s", shard, res)
		}
		s, _ := inventory.ParseShard(shard)
		for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			if line == "" {
				if !strings.Contains(res.Stderr, "nothing to do") {
					t.Errorf("--shard %s enrolled nothing and did not say so: %s", shard, res)
				}
				continue
			}
			var cl fleet.EnrolledCluster
			if err := json.Unmarshal([]byte(line), &cl); err != nil {
				t.Fatalf("not a JSON line: %q", line)
			}
			if !s.Has(cl.Context) || cl.Status != fleet.StatusRegistered {
				t.Errorf("--shard %s: %+v", shard, cl)
			}
			seen[cl.Context]++
		}
	}
	if seen["ctx-a"] != 1 || seen["ctx-b"] != 1 || len(seen) != 2 {
		t.Fatalf("the shards enrolled %v, want each of ctx-a and ctx-b once", seen)
	}
}

// -o jsonl is one JSON object per cluster, as each finishes, and nothing
// else on stdout.
func TestEnrollJSONLPrintsOneLinePerFinishedCluster(t *testing.T) {
	helm, _ := fakeHelm(t)
	t.Setenv("FAKE_HELM_FAIL", "ctx-b")
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "-o", "jsonl")
	if res.Exit != 1 {
		t.Fatalf("%s", res)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n") {
		var cl fleet.EnrolledCluster
		if err := json.Unmarshal([]byte(line), &cl); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", line, err)
		}
		got[cl.Context] = cl.Status
	}
	if len(got) != 2 || got["ctx-a"] != fleet.StatusRegistered || got["ctx-b"] != fleet.StatusFailed {
		t.Fatalf("lines %v\n%s", got, res)
	}
	if strings.Contains(res.Stdout, agentCredToken) {
		t.Error("a line holds the token value")
	}
}

// Once more clusters failed than --max-failures allows, the others are
// not started: reported NotStarted, counted in the partial failure, and
// the re-run hint repeats the inventory so a re-run resumes.
func TestEnrollMaxFailuresStopsStartingClusters(t *testing.T) {
	helm, dir := fakeHelm(t)
	t.Setenv("FAKE_HELM_FAIL", "ctx-a ctx-b")
	f, _ := enrollWorld(t)
	res := clitest.Run(t, NewRoot, f, "ctx-a\nctx-b\n", "enroll", "--contexts-from", "-", "--max-failures", "0", "--parallel", "1", "--token-name", "edge", "--ttl", "1h", "--helm", helm)
	if res.Exit != 1 {
		t.Fatalf("%s", res)
	}
	ran := 0
	for _, c := range []string{"ctx-a", "ctx-b"} {
		if _, err := os.Stat(filepath.Join(dir, c+".argv")); err == nil {
			ran++
		}
	}
	if ran != 1 || strings.Count(res.Stdout, fleet.StatusNotStarted) != 1 || strings.Count(res.Stdout, fleet.StatusFailed) != 1 {
		t.Fatalf("helm ran %d times, want 1 Failed and 1 NotStarted:\n%s", ran, res)
	}
	for _, want := range []string{
		"registered 0 of 2; failed:",
		"not started, since 1 clusters failed (more than --max-failures 0); run again to resume",
		"kubectl regtoken enroll --contexts-from - --max-failures 0 -n fleet-default --reuse-token edge",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
}

func TestEnrollRefusesBadInventoryFlagsBeforeAnyRequest(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"contexts twice", "", []string{"ctx-a", "--contexts-from", "-"}, "error: contexts given both as arguments (ctx-a) and with --contexts-from -: pass one of them"},
		{"a bad shard", "", []string{"ctx-a", "--shard", "2/1"}, `error: --shard "2/1" is out of range: I counts from 1 to N, e.g. --shard 1/1 … --shard 1/1`},
		{"a bad max-failures", "", []string{"ctx-a", "--max-failures", "x"}, `error: --max-failures "x" is not a count or a percentage: pass e.g. --max-failures 5 or --max-failures 10%`},
		{"a bad max-failures where the selector leaves nothing", "", []string{"ctx-a", "--context-selector", "none", "--max-failures", "x"}, `error: --max-failures "x" is not a count or a percentage: pass e.g. --max-failures 5 or --max-failures 10%`},
		{"a bad inventory label", "- name: ctx-a\n  labels: {'bad key!': x}\n", []string{"--contexts-from", "-"}, `error: the labels of context ctx-a: --label key "bad key!" is not a valid label key`},
		{"no context at all", "", []string{}, "error: no context to work on: pass contexts as arguments or with --contexts-from FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := enrollWorld(t)
			res := clitest.Run(t, NewRoot, f, tc.stdin, append([]string{"enroll", "--ttl", "1h", "--helm", "/bin/true"}, tc.args...)...)
			if res.Exit == 0 || !strings.HasPrefix(res.Stderr, tc.want) || strings.Count(res.Stderr, "\n") != 1 {
				t.Fatalf("want one line starting %q, got %s", tc.want, res)
			}
			if reqs := f.Requests(); len(reqs) != 0 {
				t.Errorf("requests were sent: %q", reqs)
			}
		})
	}
}

// --wave-size 1 gives each cluster a token of its own, created when its
// wave starts and deleted once the wave's cluster holds its credential.
func TestEnrollInWavesUsesATokenPerWaveAndDeletesEach(t *testing.T) {
	helm, _ := fakeHelm(t)
	f, _ := enrollWorld(t,
		registration("request-a", "enroll-1", "uid-a", "cluster-aaaa", 0),
		registration("request-b", "enroll-2", "uid-b", "cluster-bbbb", 0))
	n := 0
	// The fake has no generateName: name the tokens as the server would,
	// in creation order.
	f.Dyn.PrependReactor("create", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured)
		if u.GetName() == "" {
			n++
			u.SetName(fmt.Sprintf("%s%d", u.GetGenerateName(), n))
		}
		return false, nil, nil
	})
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--wave-size", "1", "--ttl", "1h", "--helm", helm, "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var got fleet.Enrollment
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := []fleet.EnrollWave{{Token: "enroll-1", Clusters: []string{"ctx-a"}, TokenDeleted: true}, {Token: "enroll-2", Clusters: []string{"ctx-b"}, TokenDeleted: true}}
	if !reflect.DeepEqual(got.Waves, want) {
		t.Fatalf("waves %+v, want %+v", got.Waves, want)
	}
	for _, cl := range got.Clusters {
		if cl.Status != fleet.StatusRegistered {
			t.Errorf("%+v", cl)
		}
	}
	var writes []string
	for _, r := range apiRequests(f) {
		if strings.HasPrefix(r, "create clusterregistrationtokens") || strings.HasPrefix(r, "delete clusterregistrationtokens") {
			writes = append(writes, r)
		}
	}
	// The second token is created only after the first is deleted.
	if !slices.Equal(writes, []string{
		"create clusterregistrationtokens.fleet.cattle.io fleet-default/enroll-1",
		"delete clusterregistrationtokens.fleet.cattle.io fleet-default/enroll-1",
		"create clusterregistrationtokens.fleet.cattle.io fleet-default/enroll-2",
		"delete clusterregistrationtokens.fleet.cattle.io fleet-default/enroll-2",
	}) {
		t.Fatalf("token writes %q", writes)
	}
}

// A token deleted while the agents register ends the wait at once (no
// registration can be granted with it), and the re-run hint asks for a
// new token instead of saying the old one stays.
func TestEnrollEndsTheWaitAtOnceWhenTheTokenIsDeleted(t *testing.T) {
	helm, _ := fakeHelm(t)
	// No registration is ever granted: only the token's deletion can end
	// the run before its (hour-long) timeout.
	f, _ := enrollWorld(t, registration("request-other", "edge", "uid-zzz", "cluster-zzzz", 0))
	// A server gives every write a resourceVersion, which a watch
	// resumes from; the fake does not.
	rv := 0
	f.Dyn.PrependReactor("*", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if u, ok := o.GetObject().(*unstructured.Unstructured); ok {
				rv++
				u.SetResourceVersion(fmt.Sprint(rv))
			}
		}
		return false, nil, nil
	})
	var once sync.Once
	enrollChanged = func(_ *fleet.EnrolledCluster, s string) {
		if s == "waiting for the agent to register" {
			once.Do(func() {
				if err := f.Dyn.Resource(fleet.TokenGVR).Namespace(testNS).Delete(context.Background(), "edge", metav1.DeleteOptions{}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	t.Cleanup(func() { enrollChanged = nil })
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--timeout", "1h", "--helm", helm)
	want := `ClusterRegistrationToken "edge" was deleted (expired, or by hand) before the agent registered, so its registration cannot be granted: enroll again with a new token (no --reuse-token)`
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) || strings.Contains(res.Stderr, "stays") || strings.Contains(res.Stderr, "--reuse-token edge") {
		t.Fatalf("want %q and no 'stays' hint, got %s", want, res)
	}
}
