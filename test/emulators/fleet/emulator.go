// Package fleet emulates the part of Fleet's controller that serves
// ClusterRegistrationTokens and grants agent-initiated registrations,
// against a real kube-apiserver. It follows docs/fleet-registration.md §2
// and §4: the same objects, names, labels, Secret types, values keys,
// ordering (values Secret before status.secretName), expiry and
// TTL-required deletion; and §7 for ClusterRegistrations: the Cluster
// cluster-<KeyHash(clientID)> and its namespace, the request
// ServiceAccount and its token, the credential Secret c-<hash>, the
// per-registration <request>-creds Role, older registrations deleted.
// Fleet itself cannot be installed here, and its Go module is not
// available, so this is written from that spec alone.
//
// The SA token Secret's data.token comes from a TokenRequest against the
// real apiserver (envtest configures service-account signing keys), bound
// to that Secret so it dies with it; only when the apiserver refuses a
// TokenRequest does the emulator fall back to a unique JWT-shaped string
// that authenticates nothing. Either way each token is distinct.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/yaml"
)

// Facts from the spec the emulator reproduces.
const (
	Group                  = "fleet.cattle.io"
	DefaultSystemNamespace = "cattle-fleet-system"
	ConfigMapName          = "fleet-controller"
	ValuesSecretType       = "fleet.cattle.io/cluster-registration-values"
	ValuesKey              = "values"
	ManagedLabel           = "fleet.cattle.io/managed"
	VersionAnnotation      = "fleet.cattle.io/version"

	// Wrangler's apply metadata (opaque to the plugin).
	hashLabel         = "objectset.rio.cattle.io/hash"
	appliedAnnotation = "objectset.rio.cattle.io/applied"
	idAnnotation      = "objectset.rio.cattle.io/id"
	ownerGVKAnno      = "objectset.rio.cattle.io/owner-gvk"
	ownerNameAnno     = "objectset.rio.cattle.io/owner-name"
	ownerNSAnno       = "objectset.rio.cattle.io/owner-namespace"
	setID             = "cluster-group-token"

	// Versions the ConfigMap annotation names for each mode.
	versionV016 = "v0.16.1"
	versionV015 = "v0.15.6"

	workers = 8
)

// GVR is the ClusterRegistrationToken resource.
var GVR = schema.GroupVersionResource{Group: Group, Version: "v1alpha1", Resource: "clusterregistrationtokens"}

// Options select the controller's behaviour.
type Options struct {
	// Delay is how long after a token's first reconcile the values Secret
	// and status.secretName appear (Fleet waits for the SA token Secret to
	// be populated, polling every 2 s).
	Delay time.Duration
	// TTLRequired is FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true (v0.16+):
	// tokens without a positive TTL are deleted at once.
	TTLRequired bool
	// Legacy is a ≤v0.15 controller: no tokenName in values.yaml, the
	// -creds Role/RoleBinding in the registration namespace, no
	// TTL-required mode. Pair it with the CRD in crds/legacy (no CEL).
	Legacy bool
	// APIServerURL and APIServerCA (PEM) go into the fleet-controller
	// ConfigMap; either may be empty, as with a controller installed
	// without them. Start writes the ConfigMap from them, so emulators run
	// side by side with different values need different SystemNamespaces.
	APIServerURL, APIServerCA string
	// SystemNamespace is the controller's namespace (default
	// cattle-fleet-system); values.yaml derives the registration namespace
	// from it and adds internal.systemNamespace when it differs.
	SystemNamespace string
	// Namespace limits the emulator to tokens in one namespace ("" = all,
	// as Fleet). Tests use it to run emulators in different modes side by
	// side on one control plane.
	Namespace string
	// GrantDelay is how long after a ClusterRegistration's first
	// reconcile the controller grants it (the request ServiceAccount's
	// token appears), as Delay is for tokens.
	GrantDelay time.Duration
	// IgnoreClusterRegistrationLabels is Fleet's option of that name: a
	// Cluster created by registration gets none of the agent's labels.
	IgnoreClusterRegistrationLabels bool
	// ControllerImage, when set, makes Start create (or update) the
	// Deployment <SystemNamespace>/fleet-controller with this container
	// image (e.g. "rancher/fleet:v0.16.1") and, with TTLRequired, the env
	// FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true (docs §6). No pod runs.
	// Empty: no Deployment, as when it cannot be read.
	ControllerImage string
	// Log receives one line per action ("" = discarded).
	Log io.Writer
}

// Emulator is a running controller.
type Emulator struct {
	opts   Options
	regNS  string
	cfg    *rest.Config
	kube   kubernetes.Interface
	tokens dynamic.NamespaceableResourceInterface

	registrations dynamic.NamespaceableResourceInterface
	clusters      dynamic.NamespaceableResourceInterface

	informer        cache.SharedIndexInformer
	regInformer     cache.SharedIndexInformer
	clusterInformer cache.SharedIndexInformer
	queue           workqueue.TypedDelayingInterface[string]
	cancel          context.CancelFunc
	done            sync.WaitGroup

	// ttlRequired is Options.TTLRequired as it stands now (SetTTLRequired).
	ttlRequired atomic.Bool

	mu        sync.Mutex
	uids      map[string]types.UID // key → UID seen, to clean up after deletion
	firstSeen map[types.UID]time.Time
	written   map[string]time.Time // ns/name → when the values Secret was written
	regFirst  map[types.UID]time.Time
	grants    map[string]grant // ns/name of a granted registration → what it got
	logMu     sync.Mutex
}

// Start installs the controller's ConfigMap and namespaces and starts
// reconciling. Stop ends it.
func Start(ctx context.Context, cfg *rest.Config, opts Options) (*Emulator, error) {
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = DefaultSystemNamespace
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts:          opts,
		regNS:         RegistrationNamespace(opts.SystemNamespace),
		cfg:           cfg,
		kube:          kube,
		tokens:        dyn.Resource(GVR),
		registrations: dyn.Resource(RegistrationGVR),
		clusters:      dyn.Resource(ClusterGVR),
		regFirst:      map[types.UID]time.Time{},
		grants:        map[string]grant{},
		queue:         workqueue.NewTypedDelayingQueue[string](),
		uids:          map[string]types.UID{},
		firstSeen:     map[types.UID]time.Time{},
		written:       map[string]time.Time{},
	}
	e.ttlRequired.Store(opts.TTLRequired)
	if err := e.install(ctx); err != nil {
		return nil, err
	}
	if err := e.installRegistrationRBAC(ctx); err != nil {
		return nil, fmt.Errorf("fleet emulator: ClusterRole %s: %w", BundleDeploymentClusterRole, err)
	}
	if err := e.installDeployment(ctx); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, opts.Namespace, nil)
	e.informer = factory.ForResource(GVR).Informer()
	_, err = e.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.enqueue(obj) },
		UpdateFunc: func(_, obj any) { e.enqueue(obj) },
		DeleteFunc: func(obj any) { e.enqueue(obj) },
	})
	if err != nil {
		cancel()
		return nil, err
	}
	e.regInformer = factory.ForResource(RegistrationGVR).Informer()
	e.clusterInformer = factory.ForResource(ClusterGVR).Informer()
	if err := e.registrationHandlers(); err != nil {
		cancel()
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{e.informer, e.regInformer, e.clusterInformer} {
		e.done.Add(1)
		go func() {
			defer e.done.Done()
			inf.RunWithContext(runCtx)
		}()
	}
	if !cache.WaitForCacheSync(ctx.Done(), e.informer.HasSynced, e.regInformer.HasSynced, e.clusterInformer.HasSynced) {
		e.Stop()
		return nil, fmt.Errorf("fleet emulator: watching %s, %s and %s did not start (are their CRDs installed? InstallCRDs): %w",
			GVR.Resource, RegistrationGVR.Resource, ClusterGVR.Resource, errors.Join(ctx.Err(), context.Canceled))
	}
	for range workers {
		e.done.Add(1)
		go func() {
			defer e.done.Done()
			for e.work(runCtx) {
			}
		}()
	}
	e.logf("watching %s, %s and %s (namespace %q, delay %s, grant delay %s, ttl-required %t, legacy %t)",
		GVR.GroupResource(), RegistrationGVR.GroupResource(), ClusterGVR.GroupResource(), opts.Namespace, opts.Delay, opts.GrantDelay, opts.TTLRequired, opts.Legacy)
	return e, nil
}

// Stop ends the controller and waits for its goroutines.
func (e *Emulator) Stop() {
	if e.cancel != nil {
		e.cancel()
	}
	e.queue.ShutDown()
	e.done.Wait()
}

// SetTTLRequired turns the TTL requirement on or off in the running
// controller, as an upgrade of the real one with
// controller.registrationTokenTTL.required does: the fleet-controller
// Deployment's env (with Options.ControllerImage) changes with it, and
// every token is reconciled again, as by the restarted real controller
// (so existing tokens without a TTL go too).
func (e *Emulator) SetTTLRequired(ctx context.Context, required bool) error {
	e.ttlRequired.Store(required)
	e.logf("ttl-required %t", required)
	if err := e.installDeployment(ctx); err != nil {
		return err
	}
	for _, obj := range e.informer.GetStore().List() {
		e.enqueue(obj)
	}
	return nil
}

// SecretWrittenAt reports when the emulator last wrote the values Secret
// ns/name (for benchmarks measuring the plugin's latency after it).
func (e *Emulator) SecretWrittenAt(ns, name string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.written[ns+"/"+name]
	return t, ok
}

// RegistrationNamespace is Fleet's derivation of the cluster registration
// namespace from the controller's: -system becomes -clusters-system.
func RegistrationNamespace(systemNamespace string) string {
	return strings.ReplaceAll(systemNamespace, "-system", "-clusters-system")
}

// SafeConcatName joins parts with "-" and keeps the result under 64
// characters the way Fleet names the objects it makes for a token.
func SafeConcatName(parts ...string) string {
	full := strings.Join(parts, "-")
	if len(full) < 64 {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	digest := hex.EncodeToString(sum[:])
	if c := full[56]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
		return full[:57] + "-" + digest[:5]
	}
	return full[:56] + "-" + digest[:6]
}

// install creates the controller's namespaces and its ConfigMap (or brings
// the ConfigMap in line with the options).
func (e *Emulator) install(ctx context.Context) error {
	for _, ns := range []string{e.opts.SystemNamespace, e.regNS} {
		_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("fleet emulator: creating namespace %s: %w", ns, err)
		}
	}
	// Fleet's config JSON: apiServerCA is []byte, hence base64 of the PEM.
	config, err := json.Marshal(map[string]any{
		"apiServerURL": e.opts.APIServerURL,
		"apiServerCA":  []byte(e.opts.APIServerCA),
	})
	if err != nil {
		return err
	}
	version := versionV016
	if e.opts.Legacy {
		version = versionV015
	}
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ConfigMapName,
			Namespace:   e.opts.SystemNamespace,
			Annotations: map[string]string{VersionAnnotation: version},
		},
		Data: map[string]string{"config": string(config)},
	}
	cms := e.kube.CoreV1().ConfigMaps(e.opts.SystemNamespace)
	// Emulators started side by side race for the ConfigMap: retry.
	for attempt := 0; ; attempt++ {
		var got *corev1.ConfigMap
		got, err = cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = cms.Create(ctx, want, metav1.CreateOptions{})
		case err == nil && (got.Data["config"] != want.Data["config"] || got.Annotations[VersionAnnotation] != version):
			got.Data = want.Data
			if got.Annotations == nil {
				got.Annotations = map[string]string{}
			}
			got.Annotations[VersionAnnotation] = version
			_, err = cms.Update(ctx, got, metav1.UpdateOptions{})
		}
		if attempt < 5 && (apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err)) {
			continue
		}
		break
	}
	if err != nil {
		return fmt.Errorf("fleet emulator: ConfigMap %s/%s: %w", e.opts.SystemNamespace, ConfigMapName, err)
	}
	return nil
}

func (e *Emulator) enqueue(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := u.GetNamespace() + "/" + u.GetName()
	e.mu.Lock()
	if _, known := e.uids[key]; !known {
		e.uids[key] = u.GetUID()
	}
	e.mu.Unlock()
	e.queue.Add("token/" + key)
}

func (e *Emulator) work(ctx context.Context) bool {
	key, shutdown := e.queue.Get()
	if shutdown {
		return false
	}
	defer e.queue.Done(key)
	kind, rest, _ := strings.Cut(key, "/")
	var err error
	switch kind {
	case "token":
		err = e.reconcile(ctx, rest)
	case "reg":
		err = e.reconcileRegistration(ctx, rest)
	case "cluster":
		err = e.reconcileCluster(ctx, rest)
	}
	if err != nil && ctx.Err() == nil {
		e.logf("reconciling %s: %v (retrying)", key, err)
		e.queue.AddAfter(key, 500*time.Millisecond)
	}
	return true
}

// reconcile runs the handler sequence of spec §2 for one token.
func (e *Emulator) reconcile(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	obj, exists, err := e.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	e.mu.Lock()
	knownUID := e.uids[key]
	e.mu.Unlock()
	if !exists {
		// Step 7: the token is gone; remove what was made for it.
		if knownUID != "" {
			if err := e.cleanup(ctx, ns, name, knownUID); err != nil {
				return err
			}
		}
		e.mu.Lock()
		delete(e.uids, key)
		delete(e.firstSeen, knownUID)
		e.mu.Unlock()
		return nil
	}
	tok := obj.(*unstructured.Unstructured).DeepCopy()
	uid := tok.GetUID()
	if knownUID != "" && knownUID != uid {
		// Deleted and created again under the same name between two events.
		if err := e.cleanup(ctx, ns, name, knownUID); err != nil {
			return err
		}
	}
	e.mu.Lock()
	e.uids[key] = uid
	first, seen := e.firstSeen[uid]
	if !seen {
		first = time.Now()
		e.firstSeen[uid] = first
	}
	e.mu.Unlock()

	ttl, hasTTL, err := tokenTTL(tok)
	if err != nil {
		e.logf("ClusterRegistrationToken %s: %v", key, err)
		return nil
	}
	// Step 1: TTL required (v0.16+).
	if e.ttlRequired.Load() && !e.opts.Legacy && (!hasTTL || ttl <= 0) {
		e.logf("ClusterRegistrationToken %s rejected: TTL is required", key)
		return e.deleteToken(ctx, tok)
	}
	// Step 2: expiry, on time.
	if hasTTL && ttl > 0 {
		expire := tok.GetCreationTimestamp().Add(ttl)
		if time.Now().After(expire) {
			e.logf("ClusterRegistrationToken %s expired at %s: deleting it", key, expire.UTC().Format(time.RFC3339))
			return e.deleteToken(ctx, tok)
		}
		e.queue.AddAfter("token/"+key, time.Until(expire)+50*time.Millisecond)
	}

	// Step 3: status.secretName is recomputed; SA, Role and RoleBinding
	// (and the ≤v0.15 creds objects) are applied on every pass.
	sa := SafeConcatName(name, string(uid))
	secretName := ""
	if err := e.applyAccess(ctx, tok, sa); err != nil {
		return err
	}
	// Step 4: the SA token Secret. Fleet polls until kube-controller-manager
	// fills it; here the fill happens once Delay has passed.
	saToken, err := e.saTokenSecret(ctx, ns, sa)
	if err != nil {
		return err
	}
	if remaining := time.Until(first.Add(e.opts.Delay)); remaining > 0 {
		e.queue.AddAfter("token/"+key, remaining)
	} else {
		if len(saToken.Data["token"]) == 0 {
			if saToken, err = e.fillSAToken(ctx, saToken, sa); err != nil {
				return err
			}
		}
		// Step 5: values Secret first, status after.
		if err := e.applyValues(ctx, tok, string(saToken.Data["token"])); err != nil {
			return err
		}
		secretName = name
	}
	return e.writeStatus(ctx, tok, ttl, hasTTL, secretName)
}

// tokenTTL parses spec.ttl as metav1.Duration does (time.ParseDuration).
func tokenTTL(tok *unstructured.Unstructured) (time.Duration, bool, error) {
	s, found, err := unstructured.NestedString(tok.Object, "spec", "ttl")
	if err != nil || !found {
		return 0, false, nil // absent or null: never expires
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("spec.ttl %q is not a duration: %w", s, err)
	}
	return d, true, nil
}

func (e *Emulator) deleteToken(ctx context.Context, tok *unstructured.Unstructured) error {
	uid := tok.GetUID()
	err := e.tokens.Namespace(tok.GetNamespace()).Delete(ctx, tok.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// applyMeta is the metadata wrangler's apply puts on what it applies for
// the set id, with the owner of the set (nil for none): the hash label,
// the applied and id annotations, and the owner-* annotations
// (docs/fleet-registration.md §2; seen on the real Fleet v0.16.1).
func applyMeta(id string, owner *unstructured.Unstructured) (map[string]string, map[string]string) {
	key := id
	if owner != nil {
		key += "/" + owner.GetNamespace() + "/" + owner.GetName()
	}
	sum := sha256.Sum256([]byte(key))
	labels := map[string]string{hashLabel: hex.EncodeToString(sum[:])[:40]}
	annotations := map[string]string{
		appliedAnnotation: base64.StdEncoding.EncodeToString(sum[:12]),
		idAnnotation:      id,
	}
	if owner != nil {
		annotations[ownerGVKAnno] = owner.GetAPIVersion() + ", Kind=" + owner.GetKind()
		annotations[ownerNameAnno] = owner.GetName()
		annotations[ownerNSAnno] = owner.GetNamespace()
	}
	return labels, annotations
}

// wranglerMeta is applyMeta for the token's objects, which are also
// labelled managed.
func wranglerMeta(tok *unstructured.Unstructured) (map[string]string, map[string]string) {
	labels, annotations := applyMeta(setID, tok)
	labels[ManagedLabel] = "true"
	return labels, annotations
}

// applyOwner is the ownerReference wrangler's apply puts on the objects
// of a set that share the owner's namespace: neither controller nor
// blockOwnerDeletion. Objects in other namespaces and cluster-scoped
// ones get none.
func applyOwner(owner *unstructured.Unstructured) []metav1.OwnerReference {
	no := false
	return []metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(), Controller: &no, BlockOwnerDeletion: &no}}
}

func (e *Emulator) applyAccess(ctx context.Context, tok *unstructured.Unstructured, sa string) error {
	ns := tok.GetNamespace()
	labels, annotations := wranglerMeta(tok)
	meta := func(name, namespace string, managed bool) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Namespace: namespace}
		if managed {
			m.Labels, m.Annotations = copyMap(labels), copyMap(annotations)
			m.OwnerReferences = applyOwner(tok)
		}
		return m
	}
	role, binding := SafeConcatName(sa, "role"), SafeConcatName(sa, "to", "role")
	if err := ignoreExists(e.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta(sa, ns, true)}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := ignoreExists(e.kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: meta(role, ns, true),
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{Group}, Resources: []string{"clusterregistrations"}}},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := ignoreExists(e.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: meta(binding, ns, true),
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if !e.opts.Legacy {
		return nil
	}
	creds := SafeConcatName(sa, "creds")
	if err := ignoreExists(e.kube.RbacV1().Roles(e.regNS).Create(ctx, &rbacv1.Role{
		ObjectMeta: meta(creds, e.regNS, false),
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	return ignoreExists(e.kube.RbacV1().RoleBindings(e.regNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: meta(creds, e.regNS, false),
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: creds},
	}, metav1.CreateOptions{}))
}

// saTokenSecret gets or creates SA-token: type service-account-token, the
// SA annotation, an ownerReference to the SA (no controller flag).
func (e *Emulator) saTokenSecret(ctx context.Context, ns, sa string) (*corev1.Secret, error) {
	name := SafeConcatName(sa, "token")
	secrets := e.kube.CoreV1().Secrets(ns)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	account, err := e.kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s, err = secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       ns,
			Annotations:     map[string]string{corev1.ServiceAccountNameKey: sa},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ServiceAccount", Name: sa, UID: account.UID}},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return secrets.Get(ctx, name, metav1.GetOptions{})
	}
	return s, err
}

// fillSAToken does kube-controller-manager's job for SA-token: token,
// ca.crt and namespace, and the ServiceAccount's UID as an annotation.
func (e *Emulator) fillSAToken(ctx context.Context, s *corev1.Secret, sa string) (*corev1.Secret, error) {
	account, err := e.kube.CoreV1().ServiceAccounts(s.Namespace).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	token, err := e.requestToken(ctx, s, sa)
	if err != nil {
		e.logf("TokenRequest for %s/%s refused (%v): using a placeholder JWT", s.Namespace, sa, err)
		token = placeholderJWT(s.Namespace, sa, s.UID)
	}
	s = s.DeepCopy()
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data["token"] = []byte(token)
	s.Data["ca.crt"] = e.cfg.CAData
	s.Data["namespace"] = []byte(s.Namespace)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.ServiceAccountUIDKey] = string(account.UID)
	return e.kube.CoreV1().Secrets(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
}

func (e *Emulator) requestToken(ctx context.Context, s *corev1.Secret, sa string) (string, error) {
	year := int64(365 * 24 * 3600)
	tr, err := e.kube.CoreV1().ServiceAccounts(s.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &year,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: s.Name, UID: s.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	if tr.Status.Token == "" {
		return "", errors.New("empty token in the TokenRequest status")
	}
	return tr.Status.Token, nil
}

// placeholderJWT is unique per SA-token Secret and looks like a JWT.
func placeholderJWT(ns, sa string, uid types.UID) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"fleet-emulator"}`))
	payload := enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"system:serviceaccount:%s:%s","jti":%q}`, ns, sa, uid)))
	sum := sha256.Sum256([]byte(header + "." + payload))
	return header + "." + payload + "." + enc.EncodeToString(sum[:])
}

// controllerConfig reads apiServerURL and apiServerCA (PEM) from the
// fleet-controller ConfigMap, as Fleet does on every build of values.
func (e *Emulator) controllerConfig(ctx context.Context) (url, ca string, err error) {
	cm, err := e.kube.CoreV1().ConfigMaps(e.opts.SystemNamespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	var cfg struct {
		APIServerURL string `json:"apiServerURL"`
		APIServerCA  []byte `json:"apiServerCA"`
	}
	if raw := cm.Data["config"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			return "", "", fmt.Errorf("ConfigMap %s/%s config: %w", cm.Namespace, cm.Name, err)
		}
	}
	return cfg.APIServerURL, string(cfg.APIServerCA), nil
}

// Values builds values.yaml as Fleet does: a map marshalled by
// sigs.k8s.io/yaml, hence keys in alphabetical order.
func (e *Emulator) Values(tokenNamespace, tokenName, token, url, ca string) ([]byte, error) {
	values := map[string]any{
		"clusterNamespace":            tokenNamespace,
		"apiServerURL":                url,
		"apiServerCA":                 ca,
		"token":                       token,
		"systemRegistrationNamespace": e.regNS,
	}
	if !e.opts.Legacy {
		values["tokenName"] = tokenName
	}
	if e.opts.SystemNamespace != DefaultSystemNamespace {
		values["internal"] = map[string]any{"systemNamespace": e.opts.SystemNamespace}
	}
	return yaml.Marshal(values)
}

func (e *Emulator) applyValues(ctx context.Context, tok *unstructured.Unstructured, token string) error {
	url, ca, err := e.controllerConfig(ctx)
	if err != nil {
		return err
	}
	data, err := e.Values(tok.GetNamespace(), tok.GetName(), token, url, ca)
	if err != nil {
		return err
	}
	labels, annotations := wranglerMeta(tok)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: tok.GetName(), Namespace: tok.GetNamespace(), Labels: labels, Annotations: annotations, OwnerReferences: applyOwner(tok)},
		Type:       ValuesSecretType,
		Data:       map[string][]byte{ValuesKey: data},
	}
	secrets := e.kube.CoreV1().Secrets(tok.GetNamespace())
	got, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	case err != nil:
	case got.Type != want.Type:
		// The type is immutable: wrangler replaces the object.
		if err = secrets.Delete(ctx, want.Name, metav1.DeleteOptions{}); err == nil {
			_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
		}
	case string(got.Data[ValuesKey]) == string(data) && len(got.Data) == 1 && got.Labels[ManagedLabel] == "true":
		return nil // already applied
	default:
		got = got.DeepCopy()
		got.Data = want.Data
		got.OwnerReferences = want.OwnerReferences
		if got.Labels == nil {
			got.Labels = map[string]string{}
		}
		for k, v := range labels {
			got.Labels[k] = v
		}
		_, err = secrets.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("values Secret %s/%s: %w", want.Namespace, want.Name, err)
	}
	now := time.Now()
	e.mu.Lock()
	e.written[want.Namespace+"/"+want.Name] = now
	e.mu.Unlock()
	e.logf("values Secret %s/%s written at %s", want.Namespace, want.Name, now.UTC().Format(time.RFC3339Nano))
	return nil
}

// writeStatus writes status.secretName and status.expires through the
// status subresource when they changed. expires is creationTimestamp +
// ttl whenever spec.ttl is set (so `0` gives the creation time).
func (e *Emulator) writeStatus(ctx context.Context, tok *unstructured.Unstructured, ttl time.Duration, hasTTL bool, secretName string) error {
	status := map[string]any{}
	if hasTTL {
		status["expires"] = metav1.NewTime(tok.GetCreationTimestamp().Add(ttl)).UTC().Format(time.RFC3339)
	}
	if secretName != "" {
		status["secretName"] = secretName
	}
	old, _, _ := unstructured.NestedMap(tok.Object, "status")
	if equalStatus(old, status) {
		return nil
	}
	tok.Object["status"] = status
	_, err := e.tokens.Namespace(tok.GetNamespace()).UpdateStatus(ctx, tok, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile: the delete event cleans up
	}
	if err == nil && secretName != "" {
		e.logf("ClusterRegistrationToken %s/%s status.secretName=%s", tok.GetNamespace(), tok.GetName(), secretName)
	}
	return err
}

func equalStatus(a, b map[string]any) bool {
	get := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return s
	}
	return get(a, "expires") == get(b, "expires") && get(a, "secretName") == get(b, "secretName")
}

// cleanup is wrangler's Remove handler plus the garbage collection
// envtest lacks (SA-token goes with its owner in a real cluster).
func (e *Emulator) cleanup(ctx context.Context, ns, name string, uid types.UID) error {
	sa := SafeConcatName(name, string(uid))
	del := metav1.DeleteOptions{}
	errs := []error{
		ignoreNotFound(e.kube.RbacV1().RoleBindings(ns).Delete(ctx, SafeConcatName(sa, "to", "role"), del)),
		ignoreNotFound(e.kube.RbacV1().Roles(ns).Delete(ctx, SafeConcatName(sa, "role"), del)),
		ignoreNotFound(e.kube.CoreV1().Secrets(ns).Delete(ctx, SafeConcatName(sa, "token"), del)),
		ignoreNotFound(e.kube.CoreV1().ServiceAccounts(ns).Delete(ctx, sa, del)),
	}
	// The values Secret carries the token's name; only remove ours.
	if s, err := e.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil && s.Type == ValuesSecretType {
		errs = append(errs, ignoreNotFound(e.kube.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})))
	}
	if e.opts.Legacy {
		creds := SafeConcatName(sa, "creds")
		errs = append(errs,
			ignoreNotFound(e.kube.RbacV1().RoleBindings(e.regNS).Delete(ctx, creds, del)),
			ignoreNotFound(e.kube.RbacV1().Roles(e.regNS).Delete(ctx, creds, del)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.written, ns+"/"+name)
	e.mu.Unlock()
	e.logf("ClusterRegistrationToken %s/%s deleted: removed its ServiceAccount, Role, RoleBinding and Secrets", ns, name)
	return nil
}

func (e *Emulator) logf(format string, args ...any) {
	if e.opts.Log == nil {
		return
	}
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.opts.Log, "fleet-emulator %s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339Nano)}, args...)...)
}

func ignoreExists[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
