package regtoken

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

var (
	secretGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	configMapGVR      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	serviceAccountGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	namespaceGVR      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crbGVR            = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
	clusterRoleGVR    = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	netpolGVR         = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
)

// managedListKinds are the lists the lifecycle's fakes answer.
var managedListKinds = map[schema.GroupVersionResource]string{
	fleet.ClusterGVR: "ClusterList", fleet.RegistrationGVR: "ClusterRegistrationList", fleet.TokenGVR: "ClusterRegistrationTokenList",
	fleet.DeploymentGVR: "DeploymentList", secretGVR: "SecretList", configMapGVR: "ConfigMapList", serviceAccountGVR: "ServiceAccountList",
	namespaceGVR: "NamespaceList", crbGVR: "ClusterRoleBindingList", clusterRoleGVR: "ClusterRoleList", netpolGVR: "NetworkPolicyList",
}

// fleetCluster is a Fleet Cluster in testNS; secret "" is one an agent
// registered (agent mode); lastSeen "" one that never checked in.
func fleetCluster(name, clientID, secret, lastSeen string, labels map[string]string, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"clientID": clientID}, "status": map[string]any{}}}
	u.SetAPIVersion("fleet.cattle.io/v1alpha1")
	u.SetKind("Cluster")
	u.SetNamespace(testNS)
	u.SetName(name)
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	u.SetCreationTimestamp(metav1.NewTime(testCreated))
	if secret != "" {
		_ = unstructured.SetNestedField(u.Object, secret, "spec", "kubeConfigSecret")
	}
	if lastSeen != "" {
		_ = unstructured.SetNestedField(u.Object, lastSeen, "status", "agent", "lastSeen")
		_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Ready", "status": "True"}}, "status", "conditions")
	}
	return u
}

// managementWorld is the Fleet management cluster of manager mode: its
// kube-system, Clusters and Secrets, and the downstream contexts.
func managementWorld(t *testing.T, objs []runtime.Object, others map[string]*clitest.Factory) *clitest.Factory {
	t.Helper()
	core := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "uid-upstream"}}}
	var dyn []runtime.Object
	for _, o := range objs {
		if _, ok := o.(*unstructured.Unstructured); ok {
			dyn = append(dyn, o)
		} else {
			core = append(core, o)
		}
	}
	f := clitest.NewFactory(clitest.Options{Namespace: testNS, Core: core, Dynamic: dyn, ListKinds: managedListKinds, Cluster: testCluster})
	f.Others = others
	return f
}

// fleetImports makes f's Fleet controller deploy the agent of every
// Cluster created, and the agent check in, at once.
func fleetImports(f *clitest.Factory, lastSeen string) {
	f.Dyn.PrependReactor("create", "clusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.CreateActionImpl).GetObject().(*unstructured.Unstructured)
		_ = unstructured.SetNestedField(u.Object, lastSeen, "status", "agent", "lastSeen")
		_ = unstructured.SetNestedField(u.Object, int64(0), "status", "agentDeployedGeneration")
		return false, nil, nil
	})
}

// managedDownstream is a downstream context whose API server issues
// TokenRequest tokens ("minted-<context>", living what was asked).
func managedDownstream(name, uid string, dyn ...runtime.Object) *clitest.Factory {
	core := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: types.UID(uid)}}}
	d := clitest.NewFactory(clitest.Options{
		Core: core, Dynamic: dyn, ListKinds: managedListKinds,
		Cluster: kubeconfig.Cluster{Context: name, Server: "https://" + name + ".example.com:6443", CAData: testCA},
	})
	// After clitest's recorder, so that the request is recorded.
	issue := &k8stesting.SimpleReactor{Verb: "create", Resource: "serviceaccounts", Reaction: func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateActionImpl).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status.Token = "minted-" + name
		tr.Status.ExpirationTimestamp = metav1.NewTime(testNow.Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))
		return true, tr, nil
	}}
	d.Core.ReactionChain = slices.Insert(d.Core.ReactionChain, 1, k8stesting.Reactor(issue))
	return d
}

func managedWorld(t *testing.T, objs ...runtime.Object) (*clitest.Factory, map[string]*clitest.Factory) {
	t.Helper()
	others := map[string]*clitest.Factory{
		"ctx-a": managedDownstream("ctx-a", "uid-a"),
		"ctx-b": managedDownstream("ctx-b", "uid-b"),
	}
	return managementWorld(t, objs, others), others
}

func withoutReviews(reqs []string) []string {
	return slices.DeleteFunc(reqs, func(r string) bool { return strings.Contains(r, "selfsubjectaccessreviews") })
}

func TestEnrollManagerModeMintsACredentialWritesSecretAndClusterAndWaitsForCheckIn(t *testing.T) {
	f, others := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--mode", "manager", "--label", "env=prod")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "enroll-manager", byContext(res.String()))
	// Reads at once first (kube-system, the Clusters), then per cluster:
	// the Secret is looked for, written, the Cluster created and watched.
	reqs := withoutWatches(withoutReviews(f.Requests()))
	for _, want := range []string{
		"get namespaces kube-system", "list clusters.fleet.cattle.io fleet-default",
		"get secrets fleet-default/ctx-a-kubeconfig", "create secrets fleet-default/ctx-a-kubeconfig", "create clusters.fleet.cattle.io fleet-default/ctx-a",
		"get secrets fleet-default/ctx-b-kubeconfig", "create secrets fleet-default/ctx-b-kubeconfig", "create clusters.fleet.cattle.io fleet-default/ctx-b",
	} {
		if !slices.Contains(reqs, want) {
			t.Errorf("no %q among %q", want, reqs)
		}
	}
	for name, d := range others {
		wantRequests(t, withoutReviews(d.Requests()), "get namespaces kube-system", "create serviceaccounts kube-system/kubectl-regtoken-fleet",
			"create clusterrolebindings.rbac.authorization.k8s.io kubectl-regtoken-fleet", "create serviceaccounts/token kube-system")
		crb, err := d.Dyn.Resource(crbGVR).Get(t.Context(), fleet.CredentialAccount, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if role, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name"); role != "cluster-admin" {
			t.Errorf("%s: the binding grants %q", name, role)
		}
		s, err := f.Core.CoreV1().Secrets(testNS).Get(t.Context(), name+"-kubeconfig", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.Load(s.Data["value"])
		if err != nil {
			t.Fatalf("%s: the Secret's value is no kubeconfig: %v", name, err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		if c := cfg.Clusters[cur.Cluster]; c.Server != "https://"+name+".example.com:6443" || string(c.CertificateAuthorityData) != string(testCA) {
			t.Errorf("%s: kubeconfig cluster %+v", name, c)
		}
		if u := cfg.AuthInfos[cur.AuthInfo]; u.Token != "minted-"+name || u.Exec != nil || u.ClientKeyData != nil {
			t.Errorf("%s: kubeconfig user %+v", name, u)
		}
		wantExpiry := testNow.Add(fleet.DefaultCredentialTTL).Format(time.RFC3339)
		if s.Labels[fleet.ManagedByLabel] != "kubectl-regtoken" || s.Annotations[fleet.ContextAnnotation] != name || s.Annotations[fleet.CredentialExpiresAnnotation] != wantExpiry {
			t.Errorf("%s: Secret labels %v annotations %v", name, s.Labels, s.Annotations)
		}
		if _, ok := s.Data["apiServerURL"]; ok {
			t.Errorf("%s: apiServerURL written without --api-server-url", name)
		}
		c, err := f.Dyn.Resource(fleet.ClusterGVR).Namespace(testNS).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := unstructured.NestedString(c.Object, "spec", "clientID")
		secret, _, _ := unstructured.NestedString(c.Object, "spec", "kubeConfigSecret")
		if id != "uid-"+name[4:] || secret != name+"-kubeconfig" || c.GetLabels()["env"] != "prod" || c.GetAnnotations()[fleet.ModeAnnotation] != "manager" {
			t.Errorf("%s: Cluster %v", name, c.Object)
		}
	}
}

func TestEnrollManagerModeJSONIsTheSameResultObject(t *testing.T) {
	f, _ := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager", "--credential-ttl", "90d", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var got fleet.Enrollment
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
	}
	cl := got.Clusters[0]
	if got.Kind != "Enrollment" || got.Mode != "manager" || got.Token != "" || cl.Status != fleet.StatusRegistered || cl.Cluster != "ctx-a" ||
		cl.KubeconfigSecret != "ctx-a-kubeconfig" || cl.CredentialExpires != testNow.Add(90*24*time.Hour).Format(time.RFC3339) || cl.Helm != nil {
		t.Fatalf("result %s", res.Stdout)
	}
	if strings.Contains(res.String(), "minted-ctx-a") {
		t.Error("the minted token reached the output")
	}
	f, _ = managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	lines := run(t, f, "enroll", "ctx-a", "ctx-b", "--mode", "manager", "-o", "jsonl")
	if lines.Exit != 0 || strings.Count(lines.Stdout, "\n") != 2 || strings.Count(lines.Stdout, `"kubeconfigSecret":"ctx-`) != 2 {
		t.Errorf("-o jsonl: %s", lines)
	}
}

func TestEnrollModeRefusesTheOtherModesFlagsBeforeAnyRequest(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "manager", "--ttl", "1h"}, "--ttl applies to --mode agent (a token and a helm install); --mode manager uses neither: leave out --ttl"},
		{[]string{"--mode", "manager", "--reuse-token", "x"}, "--reuse-token applies to --mode agent"},
		{[]string{"--mode", "manager", "--keep-token"}, "--keep-token applies to --mode agent"},
		{[]string{"--mode", "manager", "--helm", "/bin/helm"}, "--helm applies to --mode agent"},
		{[]string{"--mode", "manager", "--chart", "./x.tgz"}, "--chart applies to --mode agent"},
		{[]string{"--mode", "manager", "--reregister"}, "kubectl regtoken repair CONTEXT"},
		{[]string{"--credential-ttl", "30d", "--ttl", "1h"}, "--credential-ttl applies to --mode manager"},
		{[]string{"--mode", "pull"}, `--mode "pull" is not a mode: pass --mode agent`},
		{[]string{"--mode", "manager", "--credential-ttl", "never"}, "--credential-ttl never is not possible: a TokenRequest token always expires"},
		{[]string{"--mode", "manager", "--credential-ttl", "5m"}, "--credential-ttl 5m is shorter than the 10m the API server issues at least"},
		{[]string{"--mode", "manager", "--kubeconfig-secret-namespace", "kube-system"}, `--kubeconfig-secret-namespace "kube-system" is not a namespace Fleet reads kubeconfig Secrets from`},
	} {
		f, others := managedWorld(t)
		res := run(t, f, append([]string{"enroll", "ctx-a"}, c.args...)...)
		if res.Exit != 1 || !strings.Contains(res.Stderr, c.want) || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Errorf("%q: want one line with %q, got %s", c.args, c.want, res)
		}
		if len(f.Requests()) > 0 || len(others["ctx-a"].Requests()) > 0 {
			t.Errorf("%q: requests were sent: %q %q", c.args, f.Requests(), others["ctx-a"].Requests())
		}
	}
}

func TestEnrollManagerModeAcceptsFleetsSecretNamespaces(t *testing.T) {
	f, _ := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager", "--kubeconfig-secret-namespace", "cattle-fleet-system")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	if _, err := f.Core.CoreV1().Secrets("cattle-fleet-system").Get(t.Context(), "ctx-a-kubeconfig", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.Dyn.Resource(fleet.ClusterGVR).Namespace(testNS).Get(t.Context(), "ctx-a", metav1.GetOptions{})
	if ns, _, _ := unstructured.NestedString(c.Object, "spec", "kubeConfigSecretNamespace"); ns != "cattle-fleet-system" {
		t.Errorf("spec.kubeConfigSecretNamespace %q", ns)
	}
}

func TestEnrollManagerModeRerunSkipsRegisteredClustersAndUpdatesTheirLabels(t *testing.T) {
	registered := fleetCluster("ctx-a", "uid-a", "ctx-a-kubeconfig", "2026-11-28T11:00:00Z", map[string]string{"env": "dev", "team": "x"}, map[string]string{fleet.ModeAnnotation: "manager"})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ctx-a-kubeconfig", Namespace: testNS, Labels: map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue}}}
	f, others := managedWorld(t, registered, secret)
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager")
	if res.Exit != 0 || !strings.Contains(res.Stdout, fleet.StatusAlreadyRegistered) {
		t.Fatalf("%s", res)
	}
	res = run(t, f, "enroll", "ctx-a", "--mode", "manager", "--label", "env=prod")
	if res.Exit != 0 || !strings.Contains(res.Stderr, "note: context ctx-a: the labels of Fleet Cluster ctx-a were updated") {
		t.Fatalf("%s", res)
	}
	c, _ := f.Dyn.Resource(fleet.ClusterGVR).Namespace(testNS).Get(t.Context(), "ctx-a", metav1.GetOptions{})
	if got := c.GetLabels(); got["env"] != "prod" || got["team"] != "x" {
		t.Errorf("labels %v, want env=prod kept team=x", got)
	}
	for _, r := range withoutReviews(others["ctx-a"].Requests()) {
		if !strings.HasPrefix(r, "get ") {
			t.Errorf("the registered cluster was written to: %q", r)
		}
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "create secrets") || strings.HasPrefix(r, "create clusters") {
			t.Errorf("a registered cluster got %q", r)
		}
	}
}

func TestEnrollManagerModeWritesANewCredentialForAClusterWhoseSecretIsGone(t *testing.T) {
	registered := fleetCluster("ctx-a", "uid-a", "ctx-a-kubeconfig", "2026-11-28T11:00:00Z", nil, map[string]string{fleet.ModeAnnotation: "manager"})
	f, others := managedWorld(t, registered)
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager")
	if res.Exit != 0 || !strings.Contains(res.Stdout, fleet.StatusRegistered) {
		t.Fatalf("%s", res)
	}
	if !slices.Contains(others["ctx-a"].Requests(), "create serviceaccounts/token kube-system") || !slices.Contains(f.Requests(), "create secrets fleet-default/ctx-a-kubeconfig") ||
		!slices.Contains(f.Requests(), "patch clusters.fleet.cattle.io fleet-default/ctx-a") {
		t.Errorf("requests %q / %q", f.Requests(), others["ctx-a"].Requests())
	}
	if slices.Contains(f.Requests(), "create clusters.fleet.cattle.io fleet-default/ctx-a") {
		t.Error("the existing Cluster was created again")
	}
}

func TestEnrollManagerModeLeavesAgentModeClustersAlone(t *testing.T) {
	f, others := managedWorld(t, fleetCluster("cluster-aaaa", "uid-a", "", "2026-11-28T11:00:00Z", nil, nil))
	fleetImports(f, "2026-11-28T12:00:00Z")
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "cluster-aaaa") || !strings.Contains(res.Stdout, fleet.StatusAlreadyRegistered) {
		t.Fatalf("%s", res)
	}
	if slices.ContainsFunc(others["ctx-a"].Requests(), func(r string) bool { return strings.HasPrefix(r, "create serviceaccounts") }) {
		t.Errorf("a credential was minted for an agent-mode cluster: %q", others["ctx-a"].Requests())
	}
}

func TestEnrollManagerModeRefusesAClusterNameTakenByAnotherCluster(t *testing.T) {
	f, _ := managedWorld(t, fleetCluster("ctx-a", "someone-else", "x-kubeconfig", "", nil, nil))
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager")
	want := "the Fleet Cluster fleet-default/ctx-a exists with another client ID (someone-else), not this cluster's uid-a: remove it (kubectl regtoken remove ctx-a -n fleet-default) or rename the context; nothing was created"
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestEnrollManagerModeTimeoutSaysWhatExistsAndHowToRemoveIt(t *testing.T) {
	f, _ := managedWorld(t)
	expireWhen(t, "waiting for Fleet to deploy the agent")
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager", "--timeout", "10m")
	if res.Exit != 1 {
		t.Fatalf("%s", res)
	}
	golden(t, "enroll-manager-timeout", res.String())
}

func TestEnrollManagerModeDownstreamRefusalFailsThatClusterAlone(t *testing.T) {
	f, others := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	others["ctx-b"].Dyn.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.CreateActionImpl).GetObject().(*unstructured.Unstructured).DeepCopy()
		attrs, _, _ := unstructured.NestedStringMap(u.Object, "spec", "resourceAttributes")
		_ = unstructured.SetNestedField(u.Object, attrs["resource"] != "clusterrolebindings", "status", "allowed")
		return true, u, nil
	})
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--mode", "manager")
	want := "you may not create clusterrolebindings.rbac.authorization.k8s.io, which enroll --mode manager on context ctx-b needs to bind that ServiceAccount to cluster-admin; nothing was created"
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "registered 1 of 2; failed: ctx-b:") ||
		!strings.Contains(res.Stderr, "kubectl regtoken enroll ctx-b -n fleet-default --mode manager") {
		t.Fatalf("want %q, got %s", want, res)
	}
	if slices.ContainsFunc(others["ctx-b"].Requests(), func(r string) bool { return strings.HasPrefix(r, "create serviceaccounts") }) {
		t.Error("the refused cluster was written to")
	}
}

func TestEnrollManagerModeDryRunPrintsThePlan(t *testing.T) {
	f, others := managedWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--mode", "manager", "--dry-run=client")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "enroll-manager-dry-run", res.String())
	if n := len(f.Requests()) + len(others["ctx-a"].Requests()); n > 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
}

func TestEnrollManagerModeWritesTheManagersAddressForTheAgent(t *testing.T) {
	inTempDir(t)
	f, _ := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	if err := os.WriteFile("ca.pem", testCA, 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, f, "enroll", "ctx-a", "--mode", "manager", "--api-server-url", "https://fleet.internal:6443", "--api-server-ca-file", "ca.pem")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	s, _ := f.Core.CoreV1().Secrets(testNS).Get(t.Context(), "ctx-a-kubeconfig", metav1.GetOptions{})
	if string(s.Data["apiServerURL"]) != "https://fleet.internal:6443" || string(s.Data["apiServerCA"]) != string(testCA) {
		t.Errorf("Secret data keys %v", slices.Sorted(maps.Keys(s.Data)))
	}
}

func TestEnrollManagerModeTakesInventoryLabelsAndStopsAtMaxFailures(t *testing.T) {
	dir := inTempDir(t)
	f, _ := managedWorld(t)
	fleetImports(f, "2026-11-28T12:00:00Z")
	inventory := "- name: ctx-a\n- name: ctx-b\n  labels: {site: store-18}\n"
	if err := os.WriteFile(dir+"/clusters.yaml", []byte(inventory), 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, f, "enroll", "--contexts-from", "clusters.yaml", "--mode", "manager", "--label", "env=prod")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	c, _ := f.Dyn.Resource(fleet.ClusterGVR).Namespace(testNS).Get(t.Context(), "ctx-b", metav1.GetOptions{})
	if got := c.GetLabels(); got["site"] != "store-18" || got["env"] != "prod" {
		t.Errorf("ctx-b labels %v, want the inventory's over --label", got)
	}

	// The first cluster's TokenRequest fails; with --max-failures 0 and
	// one slot the second is not started, for a re-run.
	f, others := managedWorld(t)
	others["ctx-a"].Core.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "token" {
			return true, nil, fmt.Errorf("the server is out of tokens")
		}
		return false, nil, nil
	})
	res = run(t, f, "enroll", "ctx-a", "ctx-b", "--mode", "manager", "--parallel", "1", "--max-failures", "0")
	if res.Exit != 1 || !strings.Contains(res.Stdout, fleet.StatusNotStarted) || !strings.Contains(res.Stderr, "kubectl regtoken remove ctx-a -n fleet-default") {
		t.Fatalf("%s", res)
	}
	if slices.ContainsFunc(others["ctx-b"].Requests(), func(r string) bool {
		return strings.HasPrefix(r, "create ") && !strings.Contains(r, "selfsubjectaccessreviews")
	}) {
		t.Errorf("the cluster past --max-failures was written to: %q", others["ctx-b"].Requests())
	}
}
