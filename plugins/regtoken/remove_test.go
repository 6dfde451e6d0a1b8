package regtoken

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// obj is an unstructured object of gvr for the dynamic fakes.
func obj(gvr schema.GroupVersionResource, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

// installedAgent is what a downstream cluster holds once registered:
// the agent's objects from helm's release fleet-agent and Fleet's
// takeover release fleet-agent-<cluster> (or Fleet's direct apply), the
// credential enroll --mode manager minted, and a helm release of
// something else, which must stay.
func installedAgent(cluster string) []runtime.Object {
	const ns = "cattle-fleet-system"
	helm := func(release string) map[string]string { return map[string]string{"owner": "helm", "name": release} }
	return []runtime.Object{
		obj(namespaceGVR, "Namespace", "", ns, nil),
		obj(fleet.DeploymentGVR, "Deployment", ns, "fleet-agent", nil),
		obj(secretGVR, "Secret", ns, "fleet-agent-bootstrap", nil),
		obj(secretGVR, "Secret", ns, "fleet-agent", nil),
		obj(secretGVR, "Secret", ns, "sh.helm.release.v1.fleet-agent.v1", helm("fleet-agent")),
		obj(secretGVR, "Secret", ns, "sh.helm.release.v1.fleet-agent-"+cluster+".v1", helm("fleet-agent-"+cluster)),
		obj(secretGVR, "Secret", ns, "sh.helm.release.v1.other.v1", helm("other")),
		obj(configMapGVR, "ConfigMap", ns, "fleet-agent", nil),
		obj(serviceAccountGVR, "ServiceAccount", ns, "fleet-agent", nil),
		obj(netpolGVR, "NetworkPolicy", ns, "default-allow-all", nil),
		obj(clusterRoleGVR, "ClusterRole", "", "cattle-fleet-system-fleet-agent-role", nil),
		obj(crbGVR, "ClusterRoleBinding", "", "cattle-fleet-system-fleet-agent-role-binding", nil),
		obj(serviceAccountGVR, "ServiceAccount", "kube-system", fleet.CredentialAccount, nil),
		obj(crbGVR, "ClusterRoleBinding", "", fleet.CredentialAccount, nil),
	}
}

// leftIn lists what d's dynamic fake still holds of installedAgent.
func leftIn(t *testing.T, d *clitest.Factory, cluster string) []string {
	t.Helper()
	var left []string
	for _, o := range installedAgent(cluster) {
		u := o.(*unstructured.Unstructured)
		gvr := map[string]schema.GroupVersionResource{"Namespace": namespaceGVR, "Deployment": fleet.DeploymentGVR, "Secret": secretGVR, "ConfigMap": configMapGVR,
			"ServiceAccount": serviceAccountGVR, "NetworkPolicy": netpolGVR, "ClusterRole": clusterRoleGVR, "ClusterRoleBinding": crbGVR}[u.GetKind()]
		if _, err := d.Dyn.Resource(gvr).Namespace(u.GetNamespace()).Get(t.Context(), u.GetName(), metav1.GetOptions{}); err == nil {
			left = append(left, u.GetKind()+"/"+u.GetName())
		}
	}
	return left
}

func removeWorld(t *testing.T, extra ...runtime.Object) (*clitest.Factory, map[string]*clitest.Factory) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ctx-a-kubeconfig", Namespace: testNS, Labels: map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue}}}
	f, others := lifecycleWorld(t, append([]runtime.Object{secret}, extra...)...)
	others["ctx-a"] = managedDownstream("ctx-a", "uid-a", installedAgent("ctx-a")...)
	others["ctx-b"] = managedDownstream("ctx-b", "uid-b", installedAgent("cluster-bbbb")...)
	f.Others = others
	return f, others
}

func TestRemoveTakesAManagerModeClusterOutOnBothSides(t *testing.T) {
	f, others := removeWorld(t)
	res := run(t, f, "remove", "ctx-a")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "remove", res.String())
	if left := leftIn(t, others["ctx-a"], "ctx-a"); !slices.Equal(left, []string{"Secret/sh.helm.release.v1.other.v1"}) {
		t.Errorf("left downstream: %q (only the other release's record may stay)", left)
	}
	if _, err := f.Dyn.Resource(fleetClusterGVR).Namespace(testNS).Get(t.Context(), "ctx-a", metav1.GetOptions{}); err == nil {
		t.Error("the Fleet Cluster is left")
	}
	if _, err := f.Core.CoreV1().Secrets(testNS).Get(t.Context(), "ctx-a-kubeconfig", metav1.GetOptions{}); err == nil {
		t.Error("the kubeconfig Secret is left")
	}
	if len(others["ctx-b"].Requests()) > 0 {
		t.Errorf("another cluster was touched: %q", others["ctx-b"].Requests())
	}
}

var fleetClusterGVR = fleet.ClusterGVR

func TestRemoveDryRunListsWhatExistsAndDeletesNothing(t *testing.T) {
	f, others := removeWorld(t)
	res := run(t, f, "remove", "ctx-a", "cluster-bbbb", "--dry-run")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "remove-dry-run", res.String())
	for _, d := range []*clitest.Factory{f, others["ctx-a"], others["ctx-b"]} {
		for _, r := range d.Requests() {
			if strings.HasPrefix(r, "delete ") {
				t.Errorf("a dry run sent %q", r)
			}
		}
	}
}

func TestRemoveByClusterNameFindsItsContextByClientID(t *testing.T) {
	f, others := removeWorld(t)
	res := run(t, f, "remove", "cluster-bbbb")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "cluster.fleet.cattle.io/cluster-bbbb deleted from namespace fleet-default") ||
		!strings.Contains(res.Stdout, "secret/sh.helm.release.v1.fleet-agent-cluster-bbbb.v1 deleted from namespace cattle-fleet-system on context ctx-b") {
		t.Fatalf("%s", res)
	}
	if left := leftIn(t, others["ctx-b"], "cluster-bbbb"); !slices.Equal(left, []string{"Secret/sh.helm.release.v1.other.v1"}) {
		t.Errorf("left downstream: %q", left)
	}
}

func TestRemoveRefusesAnUnknownNameBeforeDeletingAnything(t *testing.T) {
	f, others := removeWorld(t)
	res := run(t, f, "remove", "ctx-a", "nope")
	want := `error: "nope" is neither a context of the kubeconfig nor a Fleet Cluster in namespace fleet-default: list them with kubectl regtoken clusters -n fleet-default; nothing was removed` + "\n"
	if res.Exit != 1 || res.Stderr != want {
		t.Fatalf("want %q, got %s", want, res)
	}
	for _, d := range []*clitest.Factory{f, others["ctx-a"]} {
		for _, r := range d.Requests() {
			if strings.HasPrefix(r, "delete ") {
				t.Errorf("deleted before every argument was resolved: %q", r)
			}
		}
	}
	res = run(t, f, "remove", "upstream")
	if res.Exit != 1 || !strings.Contains(res.Stderr, `context "upstream" is the Fleet management cluster (the current context)`) {
		t.Fatalf("%s", res)
	}
}

func TestRemoveKeepsAKubeconfigSecretItDidNotWrite(t *testing.T) {
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rancher-kubeconfig", Namespace: testNS}}
	f, _ := removeWorld(t, theirs, fleetCluster("imported", "uid-x", "rancher-kubeconfig", "", nil, nil))
	res := run(t, f, "remove", "imported")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "secret/rancher-kubeconfig kept in namespace fleet-default: kubectl regtoken did not write it") {
		t.Fatalf("%s", res)
	}
	if _, err := f.Core.CoreV1().Secrets(testNS).Get(t.Context(), "rancher-kubeconfig", metav1.GetOptions{}); err != nil {
		t.Errorf("their Secret was deleted: %v", err)
	}
}

func TestRemoveOfAClusterWithoutContextSaysTheDownstreamIsLeft(t *testing.T) {
	f, _ := removeWorld(t)
	res := run(t, f, "remove", "cluster-cccc")
	if res.Exit != 0 || !strings.Contains(res.Stderr, "note: Fleet Cluster cluster-cccc matches no context of the kubeconfig: its agent and credential downstream were not reached") {
		t.Fatalf("%s", res)
	}
}

func TestRemoveFailureDownstreamSaysHowToFinish(t *testing.T) {
	f, others := removeWorld(t)
	others["ctx-b"].Dyn.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "fleet-agent", errors.New("no"))
	})
	res := run(t, f, "remove", "ctx-a", "cluster-bbbb")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "removed 1 of 2; failed: cluster-bbbb:") || !strings.Contains(res.Stderr, "run kubectl regtoken remove ctx-b -n fleet-default to finish") {
		t.Fatalf("%s", res)
	}
	if left := leftIn(t, others["ctx-a"], "ctx-a"); len(left) != 1 {
		t.Errorf("the other cluster was not removed: %q", left)
	}
}
