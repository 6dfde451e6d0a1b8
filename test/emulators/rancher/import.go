package rancher

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// The import side of Rancher (docs/rancher-tokens.md §13): what Rancher's
// controllers do once a clusters.provisioning.cattle.io object with an
// empty spec appears, the unauthenticated HTTPS route /v3/import that
// renders the agent's manifest, and the agent's tunnel (/v3/connect) that
// makes the management cluster Ready. It needs no aggregation: an admin
// config of Rancher's local cluster with the CRDs of crds/ is enough.

// Names and resources of the import side.
const (
	ProvisioningGroup  = "provisioning.cattle.io"
	DefaultWorkspace   = "fleet-default"
	DefaultTokenName   = "default-token"
	TokenSecretPrefix  = "crt-token-"
	TokenReaderRole    = "crt-token-reader"
	CreatorAnnotation  = "field.cattle.io/creatorId"
	AgentNamespace     = "cattle-system"
	AgentDeployment    = "cattle-cluster-agent"
	TunnelTokenHeader  = "X-API-Tunnel-Token"
	invalidTokenAnswer = "cluster not found or invalid token"
)

var (
	// ProvisioningClustersGVR is clusters.provisioning.cattle.io/v1.
	ProvisioningClustersGVR = schema.GroupVersionResource{Group: ProvisioningGroup, Version: "v1", Resource: "clusters"}
	// ImportTokensGVR is clusterregistrationtokens.management.cattle.io/v3
	// (not Fleet's CRT).
	ImportTokensGVR = schema.GroupVersionResource{Group: MgmtGroup, Version: MgmtVersion, Resource: "clusterregistrationtokens"}
)

// ImportOptions shape the import side. Zero values are Rancher's.
type ImportOptions struct {
	// Release selects the patch release's behaviour (default 2.15.0).
	Release Release
	// Workspace is the namespace of the provisioning clusters (default
	// fleet-default); tests give each its own.
	Workspace string
	// Delay stands for Rancher's controllers: before status.clusterName
	// is set, before the import token exists, and from AgentDeployed to
	// Ready. Zero answers at once.
	Delay time.Duration
	// TTLMinutes and GraceMinutes seed crt-default-ttl-minutes (43200)
	// and crt-default-grace-period-minutes (180) where they exist.
	TTLMinutes, GraceMinutes int
	// Log, when set, receives one line per step (never a token).
	Log io.Writer
	// BeforeImport, when set, runs in each /v3/import request for a known
	// cluster before the token is checked: tests rotate the token there,
	// "during the run" of a client, at a point they control.
	BeforeImport func(clusterID string)
}

// ImportRequest is one request to the HTTPS routes, recorded with the
// token cut out of the path.
type ImportRequest struct {
	Method, Path string
	Code         int
}

// Importer is a running import side.
type Importer struct {
	// URL is Rancher's server-url (https://127.0.0.1:<port>), CAPEM the
	// cacerts setting: the CA of that listener.
	URL   string
	CAPEM []byte

	opts     ImportOptions
	dyn      dynamic.Interface
	kube     kubernetes.Interface
	srv      *http.Server
	done     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	informer cache.SharedIndexInformer
	webhook  bool // installed: removed by Stop
	// restore are the settings seed changed, with their former value
	// (nil: created), put back by Stop so other emulators in the same
	// control plane see theirs again.
	restore map[string]*string

	mu       sync.Mutex
	inflight map[types.UID]bool
	sessions map[string]int // cluster ID -> current tunnel session
	session  int
	offset   time.Duration // Advance
	answer   int           // RouteAnswer
	requests []ImportRequest
}

// StartImport runs the import side against Rancher's local cluster: it
// sets server-url and cacerts to its own HTTPS listener, seeds the CRT
// settings, and watches the Workspace's provisioning clusters.
func StartImport(ctx context.Context, cfg *rest.Config, opts ImportOptions) (*Importer, error) {
	if opts.Release == "" {
		opts.Release = R2_15_0
	}
	if _, err := ParseRelease(string(opts.Release)); err != nil {
		return nil, err
	}
	if opts.Workspace == "" {
		opts.Workspace = DefaultWorkspace
	}
	if opts.TTLMinutes == 0 {
		opts.TTLMinutes = 43200
	}
	if opts.GraceMinutes == 0 {
		opts.GraceMinutes = 180
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 1000, 1000
	im := &Importer{opts: opts, done: make(chan struct{}), inflight: map[types.UID]bool{}, sessions: map[string]int{}}
	var err error
	if im.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if im.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := testenv.ServingCert()
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	im.URL = fmt.Sprintf("https://127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
	im.CAPEM = certPEM
	im.srv = &http.Server{
		Handler:           http.HandlerFunc(im.serveHTTP),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(im.done)
		_ = im.srv.ServeTLS(ln, "", "")
	}()
	if err := im.seed(ctx); err != nil {
		im.Stop()
		return nil, fmt.Errorf("rancher import emulator: %w", err)
	}
	im.webhook = true
	if err := im.installWebhook(ctx); err != nil {
		im.Stop()
		return nil, fmt.Errorf("rancher import emulator: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	im.cancel = cancel
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(im.dyn, 0, opts.Workspace, nil)
	im.informer = factory.ForResource(ProvisioningClustersGVR).Informer()
	_, err = im.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { im.clusterSeen(runCtx, obj) },
		UpdateFunc: func(_, obj any) { im.clusterSeen(runCtx, obj) },
	})
	if err != nil {
		im.Stop()
		return nil, err
	}
	im.wg.Add(1)
	go func() {
		defer im.wg.Done()
		im.informer.RunWithContext(runCtx)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), im.informer.HasSynced) {
		im.Stop()
		return nil, fmt.Errorf("rancher import emulator: watching %s did not start (CRDs installed?): %w", ProvisioningClustersGVR.GroupResource(), errors.Join(ctx.Err(), context.Canceled))
	}
	im.logf("Rancher %s import side at %s, workspace %s, delay %s", opts.Release, im.URL, opts.Workspace, opts.Delay)
	return im, nil
}

// Stop ends the controller and the HTTPS listener (open tunnels close).
func (im *Importer) Stop() {
	if im.cancel != nil {
		im.cancel()
	}
	im.wg.Wait()
	if im.webhook {
		im.removeWebhook()
	}
	im.restoreSettings()
	_ = im.srv.Close()
	<-im.done
}

// Release is the emulated release.
func (im *Importer) Release() Release { return im.opts.Release }

// Workspace is the namespace of the provisioning clusters.
func (im *Importer) Workspace() string { return im.opts.Workspace }

// Advance moves the import side's clock forward (expiry, grace periods).
func (im *Importer) Advance(d time.Duration) {
	im.mu.Lock()
	im.offset += d
	im.mu.Unlock()
}

// RouteAnswer makes /v3/import answer code (403, 404) before Rancher
// sees the request, as a proxy in front of it may; 0 restores Rancher.
func (im *Importer) RouteAnswer(code int) {
	im.mu.Lock()
	im.answer = code
	im.mu.Unlock()
}

// Requests are the HTTPS requests served so far, tokens cut out.
func (im *Importer) Requests() []ImportRequest {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]ImportRequest(nil), im.requests...)
}

func (im *Importer) now() time.Time {
	im.mu.Lock()
	defer im.mu.Unlock()
	return time.Now().Add(im.offset)
}

func (im *Importer) logf(format string, args ...any) {
	if im.opts.Log != nil {
		fmt.Fprintf(im.opts.Log, "%s rancher-import: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// seed points server-url and cacerts at this listener and creates the
// CRT settings of the releases that have them.
func (im *Importer) seed(ctx context.Context) error {
	settings := map[string]string{"server-url": im.URL, "cacerts": string(im.CAPEM)}
	if im.opts.Release.tokenInSecret() {
		settings["crt-default-ttl-minutes"] = fmt.Sprint(im.opts.TTLMinutes)
		settings["crt-default-grace-period-minutes"] = fmt.Sprint(im.opts.GraceMinutes)
	}
	for name, value := range settings {
		if err := im.setSetting(ctx, name, value); err != nil {
			return err
		}
	}
	if _, err := im.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: im.opts.Workspace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", im.opts.Workspace, err)
	}
	return nil
}

// setSetting sets a setting's value, creating it when absent, and
// remembers what it was for Stop.
func (im *Importer) setSetting(ctx context.Context, name, value string) error {
	settings := im.dyn.Resource(SettingsGVR)
	if im.restore == nil {
		im.restore = map[string]*string{}
	}
	if old, err := settings.Get(ctx, name, metav1.GetOptions{}); err == nil {
		v, _, _ := unstructured.NestedString(old.Object, "value")
		im.restore[name] = &v
	} else {
		im.restore[name] = nil
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Setting",
		"metadata": map[string]any{"name": name},
		"value":    value, "default": "", "customized": false, "source": "",
	}}
	_, err := settings.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		patch := fmt.Sprintf(`{"value":%q}`, value)
		_, err = settings.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	}
	if err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	return nil
}

// restoreSettings puts back what seed changed.
func (im *Importer) restoreSettings() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	settings := im.dyn.Resource(SettingsGVR)
	for name, old := range im.restore {
		if old == nil {
			_ = settings.Delete(ctx, name, metav1.DeleteOptions{})
			continue
		}
		patch := fmt.Sprintf(`{"value":%q}`, *old)
		_, _ = settings.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	}
}

// clusterSeen starts provisioning a cluster that has no management ID.
func (im *Importer) clusterSeen(ctx context.Context, obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.GetDeletionTimestamp() != nil {
		return
	}
	if id, _, _ := unstructured.NestedString(u.Object, "status", "clusterName"); id != "" {
		return
	}
	im.mu.Lock()
	if im.inflight[u.GetUID()] {
		im.mu.Unlock()
		return
	}
	im.inflight[u.GetUID()] = true
	im.mu.Unlock()
	im.wg.Add(1)
	go func() {
		defer im.wg.Done()
		if err := im.provision(ctx, u); err != nil && ctx.Err() == nil {
			im.logf("provisioning %s/%s: %v", u.GetNamespace(), u.GetName(), err)
		}
	}()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// provision does what Rancher's controllers do for a new import: the
// management cluster c-m-<id> with its namespace, status.clusterName,
// then the import token default-token, its Secret (from 2.13.8), and the
// crt-token-reader Role bound to the cluster's creator.
func (im *Importer) provision(ctx context.Context, prov *unstructured.Unstructured) error {
	if !sleepCtx(ctx, im.opts.Delay) {
		return ctx.Err()
	}
	id := "c-m-" + utilrand.String(8)
	mgmt := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Cluster",
		"metadata": map[string]any{"name": id},
		"spec": map[string]any{
			"displayName":        prov.GetName(),
			"fleetWorkspaceName": prov.GetNamespace(),
		},
		"status": map[string]any{
			"driver": "imported",
			"conditions": []any{
				map[string]any{"type": "AgentDeployed", "status": "Unknown"},
				map[string]any{"type": "Ready", "status": "Unknown"},
			},
		},
	}}
	if _, err := im.dyn.Resource(ClustersGVR).Create(ctx, mgmt, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := im.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: id}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	creator := prov.GetAnnotations()[CreatorAnnotation]
	if err := im.ownerRBAC(ctx, prov, id, creator); err != nil {
		return err
	}
	status := fmt.Sprintf(`{"status":{"clusterName":%q,"ready":false,"agentDeployed":false}}`, id)
	if _, err := im.dyn.Resource(ProvisioningClustersGVR).Namespace(prov.GetNamespace()).Patch(ctx, prov.GetName(), types.MergePatchType, []byte(status), metav1.PatchOptions{}, "status"); err != nil {
		return err
	}
	im.logf("cluster %s/%s is %s (creator %q)", prov.GetNamespace(), prov.GetName(), id, creator)
	if !sleepCtx(ctx, im.opts.Delay) {
		return ctx.Err()
	}
	return im.createToken(ctx, id)
}

// ownerRBAC gives the creator what a Cluster Owner has on the objects
// import reads: its provisioning cluster, the management cluster, the
// import tokens of the cluster namespace and, through crt-token-reader,
// the crt-token-* Secret.
func (im *Importer) ownerRBAC(ctx context.Context, prov *unstructured.Unstructured, id, creator string) error {
	rbac := im.kube.RbacV1()
	reader := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: TokenReaderRole, Namespace: id},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{TokenSecretPrefix + DefaultTokenName}, Verbs: []string{"get"}}},
	}
	owner := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-owner", Namespace: id},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{MgmtGroup}, Resources: []string{"clusterregistrationtokens"}, Verbs: []string{"get", "list", "watch", "create"}}},
	}
	for _, r := range []*rbacv1.Role{reader, owner} {
		if _, err := rbac.Roles(id).Create(ctx, r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	if creator == "" {
		return nil
	}
	subject := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: creator}}
	for _, r := range []string{TokenReaderRole, "cluster-owner"} {
		b := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: r + "-" + creator, Namespace: id},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r},
			Subjects:   subject,
		}
		if _, err := rbac.RoleBindings(id).Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	ws := prov.GetNamespace()
	provRole := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "owner-" + prov.GetName(), Namespace: ws},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{ProvisioningGroup}, Resources: []string{"clusters"}, ResourceNames: []string{prov.GetName()}, Verbs: []string{"get", "list", "watch", "update", "patch"}}},
	}
	if _, err := rbac.Roles(ws).Create(ctx, provRole, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	b := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: provRole.Name, Namespace: ws},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: provRole.Name},
		Subjects:   subject,
	}
	if _, err := rbac.RoleBindings(ws).Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	mgmtRole := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: id + "-owner"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{MgmtGroup}, Resources: []string{"clusters"}, ResourceNames: []string{id}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := rbac.ClusterRoles().Create(ctx, mgmtRole, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	cb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: mgmtRole.Name + "-" + creator},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: mgmtRole.Name},
		Subjects:   subject,
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, cb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
