package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Facts of agent-initiated registration (docs/fleet-registration.md §7).
const (
	// RegistrationTokenLabel names the ClusterRegistrationToken whose token
	// made a ClusterRegistration (v0.16 agents).
	RegistrationTokenLabel = "fleet.cattle.io/registration-token"
	// ClusterLabel carries the Cluster's name on the Cluster itself and on
	// the credential Secret.
	ClusterLabel = "fleet.cattle.io/cluster"
	// ClusterManagementLabel marks registrations another manager handles:
	// the controller skips them.
	ClusterManagementLabel = "fleet.cattle.io/cluster-management"
	// CreatedByAgentPodLabel is the one fleet.cattle.io/ label an agent may
	// put on its Cluster.
	CreatedByAgentPodLabel = "fleet.cattle.io/created-by-agent-pod"
	// AgentCredentialSecretType is the credential Secret's type.
	AgentCredentialSecretType = "fleet.cattle.io/agent-credential"
	// BundleDeploymentClusterRole lets a registered agent read the
	// BundleDeployments of its cluster namespace (how the agent tests its
	// credential).
	BundleDeploymentClusterRole = "fleet-bundle-deployment"
	// ContentClusterRole lets a registered agent get the Contents
	// (cluster-scoped) its BundleDeployments name.
	ContentClusterRole = "fleet-content"

	clusterNamespaceAnnotation = "fleet.cattle.io/cluster-namespace"
	clusterAnnotation          = "fleet.cattle.io/cluster"
	registrationAnnotation     = "fleet.cattle.io/cluster-registration"
	registrationNSAnnotation   = "fleet.cattle.io/cluster-registration-namespace"

	// Wrangler set ids: the grant's objects, and the ClusterRoles the
	// controller applies at start.
	registrationSetID = "cluster-registration"
	bootstrapSetID    = "fleet-bootstrap-data"

	// How long a refused registration (clientID collision) waits before
	// the next try; wrangler backs off likewise.
	registrationRetry = 5 * time.Second
)

var (
	// RegistrationGVR is the ClusterRegistration resource.
	RegistrationGVR = schema.GroupVersionResource{Group: Group, Version: "v1alpha1", Resource: "clusterregistrations"}
	// ClusterGVR is the Cluster resource.
	ClusterGVR = schema.GroupVersionResource{Group: Group, Version: "v1alpha1", Resource: "clusters"}
	// BundleDeploymentGVR is the BundleDeployment resource.
	BundleDeploymentGVR = schema.GroupVersionResource{Group: Group, Version: "v1alpha1", Resource: "bundledeployments"}
)

// KeyHash is Fleet's short hash: the first 12 hex characters of the
// sha256 of the first 100 bytes of s (§7.3).
func KeyHash(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// ClusterName is the Cluster a registration with clientID creates.
func ClusterName(clientID string) string {
	return SafeConcatName("cluster", KeyHash(clientID))
}

// ClusterNamespace is the namespace Fleet's cluster controller gives a
// Cluster (status.namespace), e.g. cluster-fleet-default-cluster-<hash>-<hash>.
func ClusterNamespace(namespace, name string) string {
	return SafeConcatName("cluster", namespace, name, KeyHash(namespace+"::"+name))
}

// CredentialSecretName is the credential Secret of a registration:
// ("c-" + hex(sha256(clientID + clientRandom)))[:63] (§7.4).
func CredentialSecretName(clientID, clientRandom string) string {
	sum := sha256.Sum256([]byte(clientID + clientRandom))
	return ("c-" + hex.EncodeToString(sum[:]))[:63]
}

// grant is what the controller made for a granted registration, so that
// its deletion removes it (wrangler's Remove handler applies an empty set).
type grant struct {
	requestNS, request string
	clusterNS, sa      string
	secret             string
	creds              bool
	at                 time.Time // when the status said granted
}

// registrationHandlers routes ClusterRegistration and Cluster events to
// the shared queue; their keys go to the shared queue as "reg/ns/name" and "cluster/ns/name".
func (e *Emulator) registrationHandlers() error {
	_, err := e.regInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.enqueueKind("reg", obj) },
		UpdateFunc: func(_, obj any) { e.enqueueKind("reg", obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if u, ok := obj.(*unstructured.Unstructured); ok {
				e.mu.Lock()
				delete(e.regFirst, u.GetUID())
				e.mu.Unlock()
			}
			e.enqueueKind("reg", obj)
		},
	})
	if err != nil {
		return err
	}
	_, err = e.clusterInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.enqueueKind("cluster", obj) },
		UpdateFunc: func(_, obj any) { e.enqueueKind("cluster", obj) },
	})
	return err
}

func (e *Emulator) enqueueKind(kind string, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	e.queue.Add(kind + "/" + u.GetNamespace() + "/" + u.GetName())
}

// installRegistrationRBAC creates the ClusterRoles a registered agent's
// request ServiceAccount is bound to: in its cluster namespace, and for
// Contents cluster-wide (the real controller applies both at start).
func (e *Emulator) installRegistrationRBAC(ctx context.Context) error {
	meta := func(name string) metav1.ObjectMeta {
		labels, annotations := applyMeta(bootstrapSetID, nil)
		return metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}
	}
	if err := ignoreExists(e.kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: meta(ContentClusterRole),
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{Group}, Resources: []string{"contents"}}},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	return ignoreExists(e.kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: meta(BundleDeploymentClusterRole),
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{Group}, Resources: []string{"bundledeployments"}},
			{Verbs: []string{"update", "patch"}, APIGroups: []string{Group}, Resources: []string{"bundledeployments/status"}},
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}},
		},
	}, metav1.CreateOptions{}))
}

// grantMeta is the metadata of an object the grant of reg applies in
// namespace ns ("" = cluster-scoped): labels managed and extra, wrangler's
// apply metadata, and an ownerReference to reg only in reg's namespace.
func grantMeta(reg *unstructured.Unstructured, name, ns string, extra map[string]string) metav1.ObjectMeta {
	labels, annotations := applyMeta(registrationSetID, reg)
	labels[ManagedLabel] = "true"
	for k, v := range extra {
		labels[k] = v
	}
	m := metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: annotations}
	if ns == reg.GetNamespace() {
		m.OwnerReferences = applyOwner(reg)
	}
	return m
}

// reconcileCluster is Fleet's cluster controller as far as registration
// needs it: give the Cluster its namespace (status.namespace, §7.3), then
// wake the registrations of its clientID that wait for it.
func (e *Emulator) reconcileCluster(ctx context.Context, key string) error {
	obj, exists, err := e.clusterInformer.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return err
	}
	cluster := obj.(*unstructured.Unstructured).DeepCopy()
	ns, _, _ := unstructured.NestedString(cluster.Object, "status", "namespace")
	if ns == "" {
		ns = ClusterNamespace(cluster.GetNamespace(), cluster.GetName())
		if err := ignoreExists(e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:        ns,
			Labels:      map[string]string{ManagedLabel: "true"},
			Annotations: map[string]string{clusterNamespaceAnnotation: cluster.GetNamespace(), clusterAnnotation: cluster.GetName()},
		}}, metav1.CreateOptions{})); err != nil {
			return err
		}
		if err := unstructured.SetNestedField(cluster.Object, ns, "status", "namespace"); err != nil {
			return err
		}
		if _, err := e.clusters.Namespace(cluster.GetNamespace()).UpdateStatus(ctx, cluster, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		e.logf("Cluster %s status.namespace=%s", key, ns)
		return nil // the update comes back as an event
	}
	clientID, _, _ := unstructured.NestedString(cluster.Object, "spec", "clientID")
	for _, r := range e.regInformer.GetIndexer().List() {
		reg := r.(*unstructured.Unstructured)
		if reg.GetNamespace() != cluster.GetNamespace() {
			continue
		}
		id, _, _ := unstructured.NestedString(reg.Object, "spec", "clientID")
		granted, _, _ := unstructured.NestedBool(reg.Object, "status", "granted")
		if id == clientID && !granted {
			e.queue.Add("reg/" + reg.GetNamespace() + "/" + reg.GetName())
		}
	}
	return nil
}

// reconcileRegistration runs the controller's grant (§7.3–§7.8) for one
// ClusterRegistration.
func (e *Emulator) reconcileRegistration(ctx context.Context, key string) error {
	obj, exists, err := e.regInformer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		return e.removeGrant(ctx, key)
	}
	reg := obj.(*unstructured.Unstructured).DeepCopy()
	if granted, _, _ := unstructured.NestedBool(reg.Object, "status", "granted"); granted {
		return nil // the cluster is created for a request once
	}
	if reg.GetLabels()[ClusterManagementLabel] != "" {
		return nil
	}
	e.mu.Lock()
	first, seen := e.regFirst[reg.GetUID()]
	if !seen {
		first = time.Now()
		e.regFirst[reg.GetUID()] = first
	}
	e.mu.Unlock()

	clientID, _, _ := unstructured.NestedString(reg.Object, "spec", "clientID")
	clientRandom, _, _ := unstructured.NestedString(reg.Object, "spec", "clientRandom")
	cluster, err := e.clusterFor(ctx, reg, clientID)
	if err != nil {
		e.logf("ClusterRegistration %s: %v", key, err)
		e.queue.AddAfter("reg/"+key, registrationRetry)
		return nil
	}
	clusterNS, _, _ := unstructured.NestedString(cluster.Object, "status", "namespace")
	if clusterNS == "" {
		// Waits for the cluster controller; the Cluster's update wakes it.
		return e.writeRegistrationStatus(ctx, reg, cluster.GetName(), false)
	}

	if !ownedBy(reg, cluster) {
		reg.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: Group + "/v1alpha1", Kind: "Cluster", Name: cluster.GetName(), UID: cluster.GetUID()}})
		if reg, err = e.registrations.Namespace(reg.GetNamespace()).Update(ctx, reg, metav1.UpdateOptions{}); err != nil {
			return ignoreNotFound(err)
		}
	}

	// The request's ServiceAccount lives in the cluster namespace; its
	// token becomes the agent's credential.
	sa := SafeConcatName(reg.GetName(), string(reg.GetUID()))
	account := &corev1.ServiceAccount{ObjectMeta: grantMeta(reg, sa, clusterNS, nil)}
	account.Annotations[clusterAnnotation] = cluster.GetName()
	account.Annotations[registrationAnnotation] = reg.GetName()
	account.Annotations[registrationNSAnnotation] = reg.GetNamespace()
	if err := ignoreExists(e.kube.CoreV1().ServiceAccounts(clusterNS).Create(ctx, account, metav1.CreateOptions{})); err != nil {
		return err
	}
	saToken, err := e.saTokenSecret(ctx, clusterNS, sa)
	if err != nil {
		return err
	}
	if remaining := time.Until(first.Add(e.opts.GrantDelay)); remaining > 0 {
		e.queue.AddAfter("reg/"+key, remaining)
		return e.writeRegistrationStatus(ctx, reg, cluster.GetName(), false)
	}
	if len(saToken.Data["token"]) == 0 {
		if saToken, err = e.fillSAToken(ctx, saToken, sa); err != nil {
			return err
		}
	}

	// Older registrations of this clientID go (§7.4).
	for _, r := range e.regInformer.GetIndexer().List() {
		old := r.(*unstructured.Unstructured)
		id, _, _ := unstructured.NestedString(old.Object, "spec", "clientID")
		random, _, _ := unstructured.NestedString(old.Object, "spec", "clientRandom")
		if old.GetNamespace() == reg.GetNamespace() && old.GetName() != reg.GetName() && id == clientID && random != clientRandom &&
			created(old).Before(created(reg)) {
			uid := old.GetUID()
			err := e.registrations.Namespace(old.GetNamespace()).Delete(ctx, old.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
			e.logf("ClusterRegistration %s/%s deleted: superseded by %s", old.GetNamespace(), old.GetName(), reg.GetName())
		}
	}

	g := grant{requestNS: reg.GetNamespace(), request: reg.GetName(), clusterNS: clusterNS, sa: sa, secret: CredentialSecretName(clientID, clientRandom)}
	if err := e.applyCredential(ctx, reg, g, cluster, saToken.Data["token"]); err != nil {
		return err
	}
	if err := e.applyRequestAccess(ctx, reg, g, cluster); err != nil {
		return err
	}
	if g.creds, err = e.applyCredsAccess(ctx, reg, g); err != nil {
		return err
	}
	e.mu.Lock()
	e.grants[key] = g
	e.mu.Unlock()
	// Objects first, then the status.
	if err := e.writeRegistrationStatus(ctx, reg, cluster.GetName(), true); err != nil {
		return err
	}
	e.mu.Lock()
	g.at = time.Now()
	e.grants[key] = g
	e.mu.Unlock()
	e.logf("ClusterRegistration %s granted: Cluster %s/%s, credential Secret %s/%s", key, cluster.GetNamespace(), cluster.GetName(), e.regNS, g.secret)
	return nil
}

// clusterFor finds the Cluster with the registration's clientID, else
// creates cluster-<KeyHash(clientID)>; a Cluster of that name with
// another clientID is an error (§7.3, §7.8).
func (e *Emulator) clusterFor(ctx context.Context, reg *unstructured.Unstructured, clientID string) (*unstructured.Unstructured, error) {
	ns := reg.GetNamespace()
	var matches []*unstructured.Unstructured
	for _, c := range e.clusterInformer.GetIndexer().List() {
		cluster := c.(*unstructured.Unstructured)
		id, _, _ := unstructured.NestedString(cluster.Object, "spec", "clientID")
		if cluster.GetNamespace() == ns && id == clientID {
			matches = append(matches, cluster)
		}
	}
	if len(matches) > 0 {
		sort.Slice(matches, func(i, j int) bool { return matches[i].GetName() < matches[j].GetName() })
		return matches[0], nil
	}
	name := ClusterName(clientID)
	clusters := e.clusters.Namespace(ns)
	got, err := clusters.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		if id, _, _ := unstructured.NestedString(got.Object, "spec", "clientID"); id != clientID {
			return nil, fmt.Errorf("non-matching ClientID on cluster %s/%s got %s expected %s", ns, name, id, clientID)
		}
		return got, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	labels := map[string]string{}
	if !e.opts.IgnoreClusterRegistrationLabels {
		requested, _, _ := unstructured.NestedStringMap(reg.Object, "spec", "clusterLabels")
		for k, v := range requested {
			if k != CreatedByAgentPodLabel && (strings.HasPrefix(k, "fleet.cattle.io/") || strings.HasPrefix(k, "management.cattle.io/")) {
				e.logf("ClusterRegistration %s/%s attempted to set reserved label %q; ignoring that label", ns, reg.GetName(), k)
				continue
			}
			labels[k] = v
		}
	}
	labels[ClusterLabel] = name
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": Group + "/v1alpha1", "kind": "Cluster",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"clientID": clientID},
	}}
	cluster.SetLabels(labels)
	created, err := clusters.Create(ctx, cluster, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return clusters.Get(ctx, name, metav1.GetOptions{})
	}
	if err == nil {
		e.logf("Created cluster %s/%s", ns, name)
	}
	return created, err
}

func ownedBy(reg, cluster *unstructured.Unstructured) bool {
	for _, o := range reg.GetOwnerReferences() {
		if o.Kind == "Cluster" && o.Name == cluster.GetName() && o.UID == cluster.GetUID() {
			return true
		}
	}
	return false
}

// applyCredential writes the credential Secret c-<hash> in the system
// registration namespace (§7.4).
func (e *Emulator) applyCredential(ctx context.Context, reg *unstructured.Unstructured, g grant, cluster *unstructured.Unstructured, token []byte) error {
	want := &corev1.Secret{
		ObjectMeta: grantMeta(reg, g.secret, e.regNS, map[string]string{ClusterLabel: cluster.GetName()}),
		Type:       AgentCredentialSecretType,
		Data: map[string][]byte{
			"token":               token,
			"deploymentNamespace": []byte(g.clusterNS),
			"clusterNamespace":    []byte(cluster.GetNamespace()),
			"clusterName":         []byte(cluster.GetName()),
			"systemNamespace":     []byte(e.opts.SystemNamespace),
		},
	}
	secrets := e.kube.CoreV1().Secrets(e.regNS)
	_, err := secrets.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var got *corev1.Secret
		if got, err = secrets.Get(ctx, g.secret, metav1.GetOptions{}); err == nil {
			got.Data, got.Labels, got.Annotations = want.Data, want.Labels, want.Annotations
			_, err = secrets.Update(ctx, got, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("credential Secret %s/%s: %w", e.regNS, g.secret, err)
	}
	return nil
}

// applyRequestAccess lets the request's ServiceAccount do an agent's
// work: patch its Cluster's status, read its BundleDeployments.
func (e *Emulator) applyRequestAccess(ctx context.Context, reg *unstructured.Unstructured, g grant, cluster *unstructured.Unstructured) error {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: g.sa, Namespace: g.clusterNS}}
	if err := ignoreExists(e.kube.RbacV1().Roles(g.requestNS).Create(ctx, &rbacv1.Role{
		ObjectMeta: grantMeta(reg, g.request, g.requestNS, nil),
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"patch"}, APIGroups: []string{Group}, Resources: []string{"clusters/status"}, ResourceNames: []string{cluster.GetName()}}},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := ignoreExists(e.kube.RbacV1().RoleBindings(g.requestNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: grantMeta(reg, g.request, g.requestNS, nil),
		Subjects:   subject,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: g.request},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := ignoreExists(e.kube.RbacV1().RoleBindings(g.clusterNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: grantMeta(reg, g.request, g.clusterNS, nil),
		Subjects:   subject,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: BundleDeploymentClusterRole},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	return ignoreExists(e.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: grantMeta(reg, SafeConcatName(g.request, "content"), "", nil),
		Subjects:   subject,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ContentClusterRole},
	}, metav1.CreateOptions{}))
}

// applyCredsAccess is v0.16's per-registration Role <request>-creds: only
// the registration token's ServiceAccount may get the one credential
// Secret. Skipped (and reported false) without the token label, when the
// token is gone (§7.7), and for a ≤v0.15 controller, whose token
// controller granted all Secrets instead.
func (e *Emulator) applyCredsAccess(ctx context.Context, reg *unstructured.Unstructured, g grant) (bool, error) {
	if e.opts.Legacy {
		return false, nil
	}
	tokenName := reg.GetLabels()[RegistrationTokenLabel]
	if tokenName == "" {
		e.logf("ClusterRegistration '%s/%s' has no %s label; cannot grant credential secret access for agent-initiated registration", g.requestNS, g.request, RegistrationTokenLabel)
		return false, nil
	}
	tok, exists, err := e.informer.GetIndexer().GetByKey(g.requestNS + "/" + tokenName)
	if err != nil {
		return false, err
	}
	if !exists {
		e.logf("ClusterRegistration '%s/%s': registration token %s/%s not found (may have expired), skipping credential secret access grant", g.requestNS, g.request, g.requestNS, tokenName)
		return false, nil
	}
	tokenSA := SafeConcatName(tokenName, string(tok.(*unstructured.Unstructured).GetUID()))
	creds := SafeConcatName(g.request, "creds")
	if err := ignoreExists(e.kube.RbacV1().Roles(e.regNS).Create(ctx, &rbacv1.Role{
		ObjectMeta: grantMeta(reg, creds, e.regNS, nil),
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{g.secret}}},
	}, metav1.CreateOptions{})); err != nil {
		return false, err
	}
	return true, ignoreExists(e.kube.RbacV1().RoleBindings(e.regNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: grantMeta(reg, creds, e.regNS, nil),
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: tokenSA, Namespace: g.requestNS}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: creds},
	}, metav1.CreateOptions{}))
}

// writeRegistrationStatus sets status.clusterName and status.granted
// through the status subresource when they changed.
func (e *Emulator) writeRegistrationStatus(ctx context.Context, reg *unstructured.Unstructured, clusterName string, granted bool) error {
	oldName, _, _ := unstructured.NestedString(reg.Object, "status", "clusterName")
	oldGranted, _, _ := unstructured.NestedBool(reg.Object, "status", "granted")
	if oldName == clusterName && oldGranted == granted {
		return nil
	}
	status := map[string]any{"clusterName": clusterName}
	if granted {
		status["granted"] = true
	}
	reg.Object["status"] = status
	_, err := e.registrations.Namespace(reg.GetNamespace()).UpdateStatus(ctx, reg, metav1.UpdateOptions{})
	return ignoreNotFound(err)
}

// removeGrant deletes what was made for a deleted registration: wrangler
// applies an empty set for it, and the SA token Secret (garbage collected
// with its ServiceAccount in a real cluster) goes too. The request's
// credential stops working.
func (e *Emulator) removeGrant(ctx context.Context, key string) error {
	e.mu.Lock()
	g, ok := e.grants[key]
	e.mu.Unlock()
	if !ok {
		return nil
	}
	del := metav1.DeleteOptions{}
	errs := []error{
		ignoreNotFound(e.kube.CoreV1().Secrets(e.regNS).Delete(ctx, g.secret, del)),
		ignoreNotFound(e.kube.RbacV1().RoleBindings(g.requestNS).Delete(ctx, g.request, del)),
		ignoreNotFound(e.kube.RbacV1().Roles(g.requestNS).Delete(ctx, g.request, del)),
		ignoreNotFound(e.kube.RbacV1().RoleBindings(g.clusterNS).Delete(ctx, g.request, del)),
		ignoreNotFound(e.kube.RbacV1().ClusterRoleBindings().Delete(ctx, SafeConcatName(g.request, "content"), del)),
		ignoreNotFound(e.kube.CoreV1().Secrets(g.clusterNS).Delete(ctx, SafeConcatName(g.sa, "token"), del)),
		ignoreNotFound(e.kube.CoreV1().ServiceAccounts(g.clusterNS).Delete(ctx, g.sa, del)),
	}
	if g.creds {
		creds := SafeConcatName(g.request, "creds")
		errs = append(errs,
			ignoreNotFound(e.kube.RbacV1().RoleBindings(e.regNS).Delete(ctx, creds, del)),
			ignoreNotFound(e.kube.RbacV1().Roles(e.regNS).Delete(ctx, creds, del)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.grants, key)
	e.mu.Unlock()
	e.logf("ClusterRegistration %s deleted: removed its credential Secret, ServiceAccount and roles", key)
	return nil
}

// Registration is one ClusterRegistration as the emulator last saw it.
type Registration struct {
	Namespace, Name string
	UID             types.UID
	ClientID        string
	TokenName       string
	ClusterName     string
	Granted         bool
	// CredentialSecret is c-<hash>; CredsRole reports whether the
	// registration token's ServiceAccount was allowed to read it.
	CredentialSecret string
	CredsRole        bool
	// GrantedAt is when this emulator wrote status.granted.
	GrantedAt time.Time
}

// Registrations lists the ClusterRegistrations the emulator watches,
// oldest first (for tests and benchmarks).
func (e *Emulator) Registrations() []Registration {
	var out []Registration
	e.mu.Lock()
	defer e.mu.Unlock()
	items := e.regInformer.GetIndexer().List()
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].(*unstructured.Unstructured), items[j].(*unstructured.Unstructured)
		return created(a).Before(created(b)) || created(a).Equal(created(b)) && a.GetName() < b.GetName()
	})
	for _, it := range items {
		u := it.(*unstructured.Unstructured)
		r := Registration{Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(), TokenName: u.GetLabels()[RegistrationTokenLabel]}
		r.ClientID, _, _ = unstructured.NestedString(u.Object, "spec", "clientID")
		r.ClusterName, _, _ = unstructured.NestedString(u.Object, "status", "clusterName")
		r.Granted, _, _ = unstructured.NestedBool(u.Object, "status", "granted")
		if g, ok := e.grants[u.GetNamespace()+"/"+u.GetName()]; ok {
			r.CredentialSecret, r.CredsRole, r.GrantedAt = g.secret, g.creds, g.at
		}
		out = append(out, r)
	}
	return out
}

// RegistrationNamespace is the system registration namespace this
// emulator writes credential Secrets to.
func (e *Emulator) RegistrationNamespace() string { return e.regNS }

func created(u *unstructured.Unstructured) time.Time { return u.GetCreationTimestamp().Time }
