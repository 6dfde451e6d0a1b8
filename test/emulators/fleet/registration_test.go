//go:build e2e

package fleet

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

func createRegistration(t *testing.T, ns, clientID, random, tokenName string, labels map[string]any, extraMeta map[string]string) *unstructured.Unstructured {
	t.Helper()
	meta := map[string]any{"generateName": "request-", "namespace": ns}
	l := map[string]any{RegistrationTokenLabel: tokenName}
	for k, v := range extraMeta {
		l[k] = v
	}
	meta["labels"] = l
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistration", "metadata": meta,
		"spec": map[string]any{"clientID": clientID, "clientRandom": random, "clusterLabels": labels},
	}}
	got, err := dyn.Resource(RegistrationGVR).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// watchRegistration returns the registration once done holds.
func watchRegistration(t *testing.T, reg *unstructured.Unstructured, done func(watch.Event) bool) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := dyn.Resource(RegistrationGVR).Namespace(reg.GetNamespace()).Watch(ctx, metav1.ListOptions{ResourceVersion: reg.GetResourceVersion(), FieldSelector: "metadata.name=" + reg.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if done(ev) {
			u, _ := ev.Object.(*unstructured.Unstructured)
			return u
		}
	}
	t.Fatalf("registration %s/%s: the awaited event never came", reg.GetNamespace(), reg.GetName())
	return nil
}

func granted(ev watch.Event) bool {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	g, _, _ := unstructured.NestedBool(u.Object, "status", "granted")
	return g
}

// A registration made with a live token: the Cluster cluster-<KeyHash>
// with filtered labels, its namespace, the grant with owner reference,
// the credential Secret and the <request>-creds Role for exactly that
// Secret and the token's ServiceAccount (docs §7.3–§7.4).
func TestRegistrationGrant(t *testing.T) {
	t.Parallel()
	ns, em := setup(t, "grant", Options{SystemNamespace: "grant-fleet-system", GrantDelay: 500 * time.Millisecond})
	tok := createToken(t, ns, "reg-token", "1h")
	watchToken(t, ns, "reg-token", tok.GetResourceVersion(), secretNameSet)

	reg := createRegistration(t, ns, "client-a", "random-1", "reg-token",
		map[string]any{"env": "prod", "fleet.cattle.io/evil": "x", "management.cattle.io/cluster-display-name": "spoof", CreatedByAgentPodLabel: "pod-1"}, nil)
	done := watchRegistration(t, reg, granted)
	wantCluster := SafeConcatName("cluster", KeyHash("client-a"))
	if name, _, _ := unstructured.NestedString(done.Object, "status", "clusterName"); name != wantCluster {
		t.Errorf("status.clusterName = %q, want %q", name, wantCluster)
	}
	ctx := context.Background()
	cluster, err := dyn.Resource(ClusterGVR).Namespace(ns).Get(ctx, wantCluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"env": "prod", CreatedByAgentPodLabel: "pod-1", ClusterLabel: wantCluster}
	if got := cluster.GetLabels(); len(got) != len(wantLabels) || got["env"] != "prod" || got[CreatedByAgentPodLabel] != "pod-1" || got[ClusterLabel] != wantCluster {
		t.Errorf("Cluster labels %v, want %v", got, wantLabels)
	}
	clusterNS, _, _ := unstructured.NestedString(cluster.Object, "status", "namespace")
	if clusterNS != ClusterNamespace(ns, wantCluster) {
		t.Errorf("Cluster status.namespace %q", clusterNS)
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, clusterNS, metav1.GetOptions{}); err != nil {
		t.Errorf("cluster namespace: %v", err)
	}
	if refs := done.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "Cluster" || refs[0].UID != cluster.GetUID() {
		t.Errorf("ownerReferences %+v", refs)
	}

	secretName := CredentialSecretName("client-a", "random-1")
	if len(secretName) != 63 || secretName[:2] != "c-" {
		t.Errorf("credential Secret name %q", secretName)
	}
	cred, err := kube.CoreV1().Secrets(em.RegistrationNamespace()).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(cred.Type) != AgentCredentialSecretType || cred.Labels[ClusterLabel] != wantCluster || cred.Labels[ManagedLabel] != "true" {
		t.Errorf("credential Secret type %s labels %v", cred.Type, cred.Labels)
	}
	keys := make([]string, 0, len(cred.Data))
	for k := range cred.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"clusterName", "clusterNamespace", "deploymentNamespace", "systemNamespace", "token"}; !slices.Equal(keys, want) {
		t.Errorf("credential keys %v, want %v", keys, want)
	}
	if string(cred.Data["deploymentNamespace"]) != clusterNS || string(cred.Data["clusterNamespace"]) != ns || string(cred.Data["clusterName"]) != wantCluster || string(cred.Data["systemNamespace"]) != "grant-fleet-system" {
		t.Errorf("credential data %q %q %q %q", cred.Data["deploymentNamespace"], cred.Data["clusterNamespace"], cred.Data["clusterName"], cred.Data["systemNamespace"])
	}
	// The credential's token is the request ServiceAccount's, in the
	// cluster namespace.
	review, err := kube.AuthenticationV1().TokenReviews().Create(ctx, tokenReview(string(cred.Data["token"])), metav1.CreateOptions{})
	wantUser := "system:serviceaccount:" + clusterNS + ":" + SafeConcatName(done.GetName(), string(done.GetUID()))
	if err != nil || !review.Status.Authenticated || review.Status.User.Username != wantUser {
		t.Errorf("credential token does not authenticate as %s: %v %+v", wantUser, err, review.Status)
	}

	role, err := kube.RbacV1().Roles(em.RegistrationNamespace()).Get(ctx, done.GetName()+"-creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := role.Rules; len(r) != 1 || !slices.Equal(r[0].Verbs, []string{"get"}) || !slices.Equal(r[0].Resources, []string{"secrets"}) || !slices.Equal(r[0].ResourceNames, []string{secretName}) {
		t.Errorf("-creds Role rules %+v", r)
	}
	binding, err := kube.RbacV1().RoleBindings(em.RegistrationNamespace()).Get(ctx, done.GetName()+"-creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenSA := SafeConcatName("reg-token", string(tok.GetUID()))
	if s := binding.Subjects; len(s) != 1 || s[0].Name != tokenSA || s[0].Namespace != ns {
		t.Errorf("-creds RoleBinding subjects %+v, want %s/%s", s, ns, tokenSA)
	}
	// The request's ServiceAccount may get Contents cluster-wide (§8.5);
	// what the grant applies carries wrangler's metadata, and an owner
	// reference to the registration only in the registration's namespace.
	requestSA := SafeConcatName(done.GetName(), string(done.GetUID()))
	content, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, done.GetName()+"-content", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := content.Subjects; content.RoleRef.Kind != "ClusterRole" || content.RoleRef.Name != ContentClusterRole || len(s) != 1 || s[0].Name != requestSA || s[0].Namespace != clusterNS ||
		content.Annotations["objectset.rio.cattle.io/id"] != "cluster-registration" || len(content.OwnerReferences) != 0 {
		t.Errorf("-content ClusterRoleBinding %+v", content)
	}
	requestRole, err := kube.RbacV1().Roles(ns).Get(ctx, done.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o := requestRole.OwnerReferences; len(o) != 1 || o[0].Kind != "ClusterRegistration" || o[0].UID != done.GetUID() || len(role.OwnerReferences) != 0 {
		t.Errorf("owner references: request Role %+v, -creds Role %+v", o, role.OwnerReferences)
	}
	if regs := em.Registrations(); len(regs) != 1 || !regs[0].Granted || !regs[0].CredsRole || regs[0].CredentialSecret != secretName {
		t.Errorf("Registrations() = %+v", regs)
	}

	// A second registration of the same client: same Cluster, the older
	// registration and its credential go.
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has 1 s resolution: "older" must be older
	again := createRegistration(t, ns, "client-a", "random-2", "reg-token", nil, nil)
	watchRegistration(t, again, granted)
	watchRegistration(t, done, func(ev watch.Event) bool { return ev.Type == watch.Deleted })
	if _, err := dyn.Resource(ClusterGVR).Namespace(ns).Get(ctx, wantCluster, metav1.GetOptions{}); err != nil {
		t.Errorf("the Cluster of the re-registration: %v", err)
	}
	waitGone(t, func() error {
		_, err := kube.CoreV1().Secrets(em.RegistrationNamespace()).Get(ctx, secretName, metav1.GetOptions{})
		return err
	})
}

// A registration whose token is gone is granted without the -creds Role
// (docs §7.7); one labelled fleet.cattle.io/cluster-management is left
// alone; a Cluster cluster-<hash> with another clientID refuses the
// registration (§7.8).
func TestRegistrationEdges(t *testing.T) {
	t.Parallel()
	ns, em := setup(t, "edges", Options{SystemNamespace: "edges-fleet-system"})
	ctx := context.Background()

	orphan := createRegistration(t, ns, "client-b", "r", "no-such-token", nil, nil)
	got := watchRegistration(t, orphan, granted)
	if _, err := kube.RbacV1().Roles(em.RegistrationNamespace()).Get(ctx, got.GetName()+"-creds", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("-creds Role for a registration without its token: %v", err)
	}

	managed := createRegistration(t, ns, "client-c", "r", "x", nil, map[string]string{ClusterManagementLabel: "rancher"})
	// Collision: a Cluster named for client-d's hash that belongs to someone else.
	squatter := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
		"metadata": map[string]any{"name": ClusterName("client-d"), "namespace": ns},
		"spec":     map[string]any{"clientID": "someone-else"},
	}}
	if _, err := dyn.Resource(ClusterGVR).Namespace(ns).Create(ctx, squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	collide := createRegistration(t, ns, "client-d", "r", "x", nil, nil)
	// A later registration that is granted shows the controller has
	// passed over the two before it.
	later := createRegistration(t, ns, "client-e", "r", "x", nil, nil)
	watchRegistration(t, later, granted)
	for _, r := range []*unstructured.Unstructured{managed, collide} {
		cur, err := dyn.Resource(RegistrationGVR).Namespace(ns).Get(ctx, r.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if status, ok := cur.Object["status"]; ok {
			if g, _, _ := unstructured.NestedBool(cur.Object, "status", "granted"); g {
				t.Errorf("registration %s granted: %v", r.GetName(), status)
			}
		}
	}
	if _, err := dyn.Resource(ClusterGVR).Namespace(ns).Get(ctx, ClusterName("client-c"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Cluster was made for the cluster-management registration: %v", err)
	}
}

// With ControllerImage the fleet-controller Deployment carries the image
// in its three containers, as the real chart renders it, and the TTL
// setting on agent management's container (docs §6).
func TestControllerDeployment(t *testing.T) {
	t.Parallel()
	_, _ = setup(t, "deploy", Options{SystemNamespace: "deploy-fleet-system", ControllerImage: "rancher/fleet:v0.16.1", TTLRequired: true})
	d, err := kube.AppsV1().Deployments("deploy-fleet-system").Get(context.Background(), ControllerDeploymentName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers
	if len(c) != 3 || c[0].Name != "fleet-controller" || c[0].Image != "rancher/fleet:v0.16.1" || len(c[0].Env) != 0 ||
		c[2].Name != "fleet-agentmanagement" || !slices.Equal(c[2].Env, []corev1.EnvVar{{Name: TTLRequiredEnv, Value: "true"}}) {
		t.Errorf("fleet-controller containers %+v", c)
	}
}

// SetTTLRequired on a running emulator is an upgrade of the real
// controller: the Deployment's env follows, and an existing token
// without a TTL goes, as the restarted controller reconciles it again.
func TestSetTTLRequiredTurnsTheRequirementOnInTheRunningController(t *testing.T) {
	t.Parallel()
	ns, em := setup(t, "ttl-toggle", Options{SystemNamespace: "ttl-toggle-fleet-system", ControllerImage: "rancher/fleet:v0.16.1"})
	tok := createToken(t, ns, "forever", "")
	watchToken(t, ns, "forever", tok.GetResourceVersion(), secretNameSet)
	if err := em.SetTTLRequired(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	watchToken(t, ns, "forever", tok.GetResourceVersion(), func(ev watch.Event) bool { return ev.Type == watch.Deleted })
	d, err := kube.AppsV1().Deployments("ttl-toggle-fleet-system").Get(context.Background(), ControllerDeploymentName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Spec.Template.Spec.Containers; len(c) != 3 || !slices.Equal(c[2].Env, []corev1.EnvVar{{Name: TTLRequiredEnv, Value: "true"}}) {
		t.Errorf("fleet-controller containers after SetTTLRequired(true): %+v", c)
	}
	if err := em.SetTTLRequired(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	again := createToken(t, ns, "forever", "")
	watchToken(t, ns, "forever", again.GetResourceVersion(), secretNameSet)
}

func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := get()
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there after 30 s (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
