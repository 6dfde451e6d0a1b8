package regtoken

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// fleetRedeploys makes f's Fleet redeploy an agent on a bump of
// spec.redeployAgentGeneration, and the new agent check in (lastSeen),
// unless stalled.
func fleetRedeploys(t *testing.T, f *clitest.Factory, lastSeen string) {
	t.Helper()
	redeploy := &k8stesting.SimpleReactor{Verb: "patch", Resource: "clusters", Reaction: func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		var patch struct {
			Spec struct{ RedeployAgentGeneration *int64 } `json:"spec"`
		}
		if err := json.Unmarshal(p.GetPatch(), &patch); err != nil || patch.Spec.RedeployAgentGeneration == nil {
			return false, nil, nil
		}
		got, err := f.Dyn.Tracker().Get(fleet.ClusterGVR, p.GetNamespace(), p.GetName())
		if err != nil {
			return true, nil, err
		}
		u := got.(*unstructured.Unstructured).DeepCopy()
		_ = unstructured.SetNestedField(u.Object, *patch.Spec.RedeployAgentGeneration, "spec", "redeployAgentGeneration")
		_ = unstructured.SetNestedField(u.Object, lastSeen, "status", "agent", "lastSeen")
		return true, u, f.Dyn.Tracker().Update(fleet.ClusterGVR, u, p.GetNamespace())
	}}
	f.Dyn.ReactionChain = slices.Insert(f.Dyn.ReactionChain, 1, k8stesting.Reactor(redeploy))
}

func repairWorld(t *testing.T) (*clitest.Factory, map[string]*clitest.Factory) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ctx-a-kubeconfig", Namespace: testNS, Labels: map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue}}}
	return lifecycleWorld(t, secret)
}

func TestRepairRedeploysAManagerModeClusterAndWaitsForTheNewCheckIn(t *testing.T) {
	f, others := repairWorld(t)
	fleetRedeploys(t, f, "2026-11-28T12:01:00Z")
	res := run(t, f, "repair", "ctx-a")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "repair", res.String())
	c, _ := f.Dyn.Resource(fleet.ClusterGVR).Namespace(testNS).Get(t.Context(), "ctx-a", metav1.GetOptions{})
	if gen, _, _ := unstructured.NestedInt64(c.Object, "spec", "redeployAgentGeneration"); gen != 1 {
		t.Errorf("spec.redeployAgentGeneration %d, want 1", gen)
	}
	if !slices.Contains(f.Requests(), "watch clusters.fleet.cattle.io fleet-default") && !slices.Contains(f.Requests(), "list clusters.fleet.cattle.io fleet-default") {
		t.Errorf("no wait on the Cluster: %q", f.Requests())
	}
	for _, r := range others["ctx-a"].Requests() {
		if !strings.HasPrefix(r, "get ") {
			t.Errorf("repair of a manager-mode cluster wrote downstream: %q", r)
		}
	}
}

func TestRepairTimeoutSaysWhereToLook(t *testing.T) {
	f, _ := repairWorld(t)
	expired := make(chan struct{})
	close(expired)
	enrollDeadline = func(parent context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		return deadlineOn{ctx, expired}, cancel
	}
	t.Cleanup(func() { enrollDeadline = nil })
	res := run(t, f, "repair", "ctx-a", "--timeout", "5m")
	want := "error: the redeployed agent of Fleet Cluster ctx-a did not check in within --timeout 5m0s: see the Cluster's conditions (kubectl get clusters.fleet.cattle.io ctx-a -n fleet-default -o yaml); repair again to wait once more\n"
	if res.Exit != 1 || !strings.HasSuffix(res.Stderr, want) || !strings.Contains(res.Stdout, "Failed") {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestRepairOfAnAgentModeClusterWithoutContextFails(t *testing.T) {
	f, _ := repairWorld(t)
	res := run(t, f, "repair", "cluster-cccc")
	want := "error: the Fleet Cluster cluster-cccc was registered by an agent (agent mode) and matches no context of the kubeconfig: re-registering it needs the cluster; add its context and run kubectl regtoken repair CONTEXT -n fleet-default\n"
	if res.Exit != 1 || res.Stderr != want {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestRepairOfAManagerModeClusterWithoutItsSecretSaysHowToWriteOne(t *testing.T) {
	f, _ := lifecycleWorld(t)
	res := run(t, f, "repair", "ctx-a")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "the kubeconfig Secret fleet-default/ctx-a-kubeconfig of Fleet Cluster ctx-a cannot be read") ||
		!strings.Contains(res.Stderr, "run kubectl regtoken enroll ctx-a --mode manager -n fleet-default to write a new one") {
		t.Fatalf("%s", res)
	}
	if slices.ContainsFunc(f.Requests(), func(r string) bool { return strings.HasPrefix(r, "patch ") }) {
		t.Error("the Cluster was bumped without a kubeconfig")
	}
}

// An agent-mode cluster is re-registered by enroll's --reregister path:
// helm with a new token, the old credential removed and the agent
// restarted, the new registration awaited.
func TestRepairReregistersAnAgentModeClusterThroughEnroll(t *testing.T) {
	helm, dir := fakeHelm(t)
	f, others := enrollWorld(t, fleetCluster("cluster-bbbb", "uid-b", "", "2026-11-28T11:00:00Z", nil, nil))
	// The API server names the generated token.
	f.Dyn.PrependReactor("create", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u := a.(k8stesting.CreateActionImpl).GetObject().(*unstructured.Unstructured); u.GetName() == "" {
			u.SetName(u.GetGenerateName() + "abcde")
		}
		return false, nil, nil
	})
	agent := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fleet.AgentRelease, "namespace": fleet.AgentNamespace}, "spec": map[string]any{}}}
	b := agentStoresCredential(downstream("ctx-b", "uid-b", agentCredential("cluster-bbbb"), agent), "cluster-bbbb")
	others["ctx-b"] = b
	f.Others = others
	// The restarted agent registers with the new token: the event is the
	// restart, not a time.
	b.Dyn.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		_ = f.Dyn.Tracker().Add(registration("request-new", "enroll-abcde", "uid-b", "cluster-bbbb", 0))
		return false, nil, nil
	})
	res := run(t, f, "repair", "cluster-bbbb", "--helm", helm)
	if res.Exit != 0 || !strings.Contains(res.Stdout, "Repaired") {
		t.Fatalf("%s", res)
	}
	if argv := helmCall(t, dir, "ctx-b"); !slices.Contains(argv, "upgrade") {
		t.Errorf("helm ran %q", argv)
	}
	if !slices.Contains(b.Requests(), "delete secrets cattle-fleet-system/fleet-agent") || !slices.Contains(b.Requests(), "patch deployments.apps cattle-fleet-system/fleet-agent") {
		t.Errorf("the agent was not made to register again: %q", b.Requests())
	}
	if !slices.Contains(f.Requests(), "delete clusterregistrationtokens.fleet.cattle.io fleet-default/enroll-abcde") {
		t.Errorf("the token was not deleted once the agent held its credential: %q", f.Requests())
	}
}
