// Package fleetagent stands in for Fleet's agent on a downstream control
// plane that has no kubelet, written from docs/fleet-registration.md §7
// (§7.1, §7.4, §7.6), not from Fleet's code. The chart's fleet-agent
// Deployment cannot run a pod here, so the stand-in watches it instead:
// the agent "starts" when the Deployment appears or its pod template
// changes (kubectl rollout restart), and registers only then.
//
// On start it keeps a working credential: when its own Secret fleet-agent
// lets it list BundleDeployments upstream, it registers nothing and only
// deletes a new fleet-agent-bootstrap. Otherwise it reads
// fleet-agent-bootstrap and the fleet-agent ConfigMap, and with the
// registration token from that Secret, against the upstream apiserver
// named there, creates the ClusterRegistration and polls for its
// credential Secret; the token's real RBAC decides (401 once the token is
// deleted, 403 outside its Role). The stand-in holds no upstream admin
// credentials at all.
package fleetagent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// Names on the downstream cluster (the chart's and the agent's).
const (
	DefaultSystemNamespace = "cattle-fleet-system"
	DeploymentName         = "fleet-agent"
	BootstrapSecretName    = "fleet-agent-bootstrap"
	ConfigMapName          = "fleet-agent"
	// CredentialSecretName is the agent's own credential Secret: keys
	// kubeconfig (upstream URL, CA, the request's token, the cluster
	// namespace), deploymentNamespace, clusterNamespace, clusterName.
	CredentialSecretName = "fleet-agent"

	registrationTokenLabel = "fleet.cattle.io/registration-token"
	createdByAgentPodLabel = "fleet.cattle.io/created-by-agent-pod"
)

var (
	registrationGVR     = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrations"}
	bundleDeploymentGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "bundledeployments"}
)

// Options shape the stand-in. Zero values are Fleet's.
type Options struct {
	// SystemNamespace is where the chart is installed (default
	// cattle-fleet-system).
	SystemNamespace string
	// StartDelay is the time from the agent's start (its Deployment
	// appeared or changed) to its first registration attempt: a pod's
	// scheduling and start-up, for benchmarks.
	StartDelay time.Duration
	// RetryInterval is the wait after a failed registration (Fleet: 60 s).
	RetryInterval time.Duration
	// PollInterval is the credential Secret poll (Fleet: 2 s).
	PollInterval time.Duration
	// SecretTimeout bounds that poll (Fleet: 30 min).
	SecretTimeout time.Duration
	// Legacy is a ≤v0.15 agent: its ClusterRegistration carries no
	// fleet.cattle.io/registration-token label (a v0.16 controller then
	// grants it no access to its credential Secret, docs §3).
	Legacy bool
	// Logf receives one line per step (nil: discarded).
	Logf func(format string, args ...any)
}

// State is where the agent is.
type State string

// States, in the order a registration goes through them.
const (
	NotInstalled     State = "NotInstalled"     // no fleet-agent Deployment
	Starting         State = "Starting"         // started, within StartDelay
	Registering      State = "Registering"      // creating the ClusterRegistration
	WaitingForSecret State = "WaitingForSecret" // polling for c-<hash>
	RetryWait        State = "RetryWait"        // a registration failed; waiting RetryInterval
	Registered       State = "Registered"       // the fleet-agent credential works
)

// Status is what a test can see of the agent.
type Status struct {
	State State
	// Starts counts agent starts (Deployment created or its pod template
	// changed); Registrations counts ClusterRegistrations it created.
	Starts, Registrations int
	// Reused is true when the last start kept a working credential and
	// registered nothing.
	Reused bool
	// ClientID and Request (namespace/name) of the last registration.
	ClientID, Request string
	// From the credential, once registered.
	ClusterName, ClusterNamespace, DeploymentNamespace string
	// LastError is the last failure (registration, or the latest poll).
	LastError error
	// StartedAt is when the last start began (the Deployment change was
	// seen); RequestedAt when its ClusterRegistration was created.
	StartedAt, RequestedAt time.Time
}

// Agent is a running stand-in.
type Agent struct {
	opts Options
	kube kubernetes.Interface

	cancel context.CancelFunc
	done   sync.WaitGroup

	mu       sync.Mutex
	status   Status
	changed  chan struct{}
	template string             // hash of the pod template last started
	stopRun  context.CancelFunc // ends the current run (pod)
	runs     sync.WaitGroup
}

// Start watches the downstream cluster behind downstream (admin rights on
// that cluster only) and runs the agent whenever its Deployment starts.
func Start(ctx context.Context, downstream *rest.Config, opts Options) (*Agent, error) {
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = DefaultSystemNamespace
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.SecretTimeout == 0 {
		opts.SecretTimeout = 30 * time.Minute
	}
	kube, err := kubernetes.NewForConfig(downstream)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, kube: kube, status: Status{State: NotInstalled}, changed: make(chan struct{})}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.SystemNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", DeploymentName).String()
		}))
	informer := factory.Apps().V1().Deployments().Informer()
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.deploymentChanged(runCtx, obj) },
		UpdateFunc: func(_, obj any) { a.deploymentChanged(runCtx, obj) },
		DeleteFunc: func(any) { a.deploymentDeleted() },
	})
	if err != nil {
		cancel()
		return nil, err
	}
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		informer.RunWithContext(runCtx)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		a.Stop()
		return nil, fmt.Errorf("fleet agent stand-in: watching Deployment %s/%s did not start: %w", opts.SystemNamespace, DeploymentName, errors.Join(ctx.Err(), context.Canceled))
	}
	return a, nil
}

// Stop ends the agent and waits for it.
func (a *Agent) Stop() {
	a.cancel()
	a.done.Wait()
	a.mu.Lock()
	if a.stopRun != nil {
		a.stopRun()
	}
	a.mu.Unlock()
	a.runs.Wait()
}

// Status is the agent's current state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// WaitFor returns the first status that satisfies ok, or ctx's error with
// the last status seen.
func (a *Agent) WaitFor(ctx context.Context, ok func(Status) bool) (Status, error) {
	for {
		a.mu.Lock()
		s, ch := a.status, a.changed
		a.mu.Unlock()
		if ok(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("fleet agent stand-in in state %s (last error: %v): %w", s.State, s.LastError, ctx.Err())
		}
	}
}

func (a *Agent) update(f func(*Status)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.status)
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf("fleet-agent: "+format, args...)
	}
}

// deploymentChanged starts the agent when the pod template is new: a
// Deployment whose template did not change keeps its pod.
func (a *Agent) deploymentChanged(ctx context.Context, obj any) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return
	}
	raw, _ := json.Marshal(d.Spec.Template)
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	a.mu.Lock()
	if hash == a.template {
		a.mu.Unlock()
		return
	}
	a.template = hash
	if a.stopRun != nil {
		a.stopRun() // the old pod goes
	}
	runCtx, stop := context.WithCancel(ctx)
	a.stopRun = stop
	pod := "fleet-agent-" + hash[:10] + "-" + randomString(5)
	a.runs.Add(1)
	a.mu.Unlock()
	now := time.Now()
	a.update(func(s *Status) {
		s.State, s.Starts, s.LastError, s.Reused, s.StartedAt, s.RequestedAt = Starting, s.Starts+1, nil, false, now, time.Time{}
	})
	a.logf("started (pod %s)", pod)
	go func() {
		defer a.runs.Done()
		a.run(runCtx, pod, d.Generation)
	}()
}

func (a *Agent) deploymentDeleted() {
	a.mu.Lock()
	if a.stopRun != nil {
		a.stopRun()
		a.stopRun = nil
	}
	a.template = ""
	a.mu.Unlock()
	a.update(func(s *Status) { s.State = NotInstalled })
}

// run is one agent pod: register (retrying every RetryInterval) until a
// credential works, as the agent's registration runs before all else.
func (a *Agent) run(ctx context.Context, pod string, generation int64) {
	if !sleep(ctx, a.opts.StartDelay) {
		return
	}
	a.markAvailable(ctx, generation)
	for {
		err := a.tryRegister(ctx, pod)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.logf("Failed to register agent: %v", err)
		a.update(func(s *Status) { s.State, s.LastError = RetryWait, err })
		if !sleep(ctx, a.opts.RetryInterval) {
			return
		}
	}
}

// markAvailable does kube-controller-manager's part for the "pod" that
// just started: the Deployment reports one available replica, so a client
// can tell a running agent from one that never started.
func (a *Agent) markAvailable(ctx context.Context, generation int64) {
	patch := fmt.Sprintf(`{"status":{"observedGeneration":%d,"replicas":1,"updatedReplicas":1,"readyReplicas":1,"availableReplicas":1}}`, generation)
	_, err := a.kube.AppsV1().Deployments(a.opts.SystemNamespace).Patch(ctx, DeploymentName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil && ctx.Err() == nil {
		a.logf("marking Deployment %s/%s available: %v", a.opts.SystemNamespace, DeploymentName, err)
	}
}

// tryRegister keeps a working credential or registers anew, then deletes
// the bootstrap Secret.
func (a *Agent) tryRegister(ctx context.Context, pod string) error {
	ns := a.opts.SystemNamespace
	secrets := a.kube.CoreV1().Secrets(ns)
	cred, err := secrets.Get(ctx, CredentialSecretName, metav1.GetOptions{})
	reused := false
	switch {
	case apierrors.IsNotFound(err):
		a.logf("Cannot find %s secret, running registration", CredentialSecretName)
		if cred, err = a.register(ctx, pod); err != nil {
			return fmt.Errorf("registration failed: %w", err)
		}
	case err != nil:
		return err
	default:
		if err := testCredential(ctx, cred.Data["kubeconfig"]); err != nil {
			a.logf("Current credential failed, falling back to reregistering: %v", err)
			if cred, err = a.register(ctx, pod); err != nil {
				return fmt.Errorf("re-registration failed: %w", err)
			}
		} else {
			reused = true
		}
	}
	if err := secrets.Delete(ctx, BootstrapSecretName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		a.logf("deleting %s/%s: %v", ns, BootstrapSecretName, err)
	}
	a.update(func(s *Status) {
		s.State, s.Reused, s.LastError = Registered, reused, nil
		s.ClusterName = string(cred.Data["clusterName"])
		s.ClusterNamespace = string(cred.Data["clusterNamespace"])
		s.DeploymentNamespace = string(cred.Data["deploymentNamespace"])
	})
	a.logf("registered as Cluster %s/%s (credential reused: %t)", cred.Data["clusterNamespace"], cred.Data["clusterName"], reused)
	return nil
}

// agentConfig is the fleet-agent ConfigMap's config, read as the agent
// reads it (YAML, so JSON too).
type agentConfig struct {
	Labels   map[string]string `json:"labels"`
	ClientID string            `json:"clientID"`
}

// register creates a ClusterRegistration upstream with the bootstrap
// token and waits for its credential Secret (§7.1, §7.4).
func (a *Agent) register(ctx context.Context, pod string) (*corev1.Secret, error) {
	ns := a.opts.SystemNamespace
	a.update(func(s *Status) { s.State = Registering })
	boot, err := a.kube.CoreV1().Secrets(ns).Get(ctx, BootstrapSecretName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("looking up secret %s/%s: %w", ns, BootstrapSecretName, err)
	}
	var cfg agentConfig
	cm, err := a.kube.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("failed to look up client config %s/%s: %w", ns, ConfigMapName, err)
	default:
		if err := yaml.Unmarshal([]byte(cm.Data["config"]), &cfg); err != nil {
			return nil, fmt.Errorf("failed to look up client config %s/%s: %w", ns, ConfigMapName, err)
		}
	}
	data := boot.Data
	url, ca, token := string(data["apiServerURL"]), data["apiServerCA"], string(data["token"])
	clusterNS, regNS, tokenName := string(data["clusterNamespace"]), string(data["systemRegistrationNamespace"]), string(data["tokenName"])
	upstream := &rest.Config{Host: url, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}

	clientID := cfg.ClientID
	if clientID == "" {
		kubeSystem, err := a.kube.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("cannot retrieve our kubeSystem.UID: %w", err)
		}
		clientID = string(kubeSystem.UID)
	}
	labels := map[string]any{}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	labels[createdByAgentPodLabel] = pod
	clientRandom := randomString(54)

	dyn, err := dynamic.NewForConfig(upstream)
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"generateName": "request-", "namespace": clusterNS}
	if !a.opts.Legacy {
		meta["labels"] = map[string]any{registrationTokenLabel: tokenName}
	}
	req := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistration", "metadata": meta,
		"spec": map[string]any{"clientID": clientID, "clientRandom": clientRandom, "clusterLabels": labels},
	}}
	a.logf("Creating clusterregistration with id '%s' for new token", clientID)
	created, err := dyn.Resource(registrationGVR).Namespace(clusterNS).Create(ctx, req, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot create clusterregistration on management cluster for cluster id '%s': %w", clientID, err)
	}
	request := created.GetNamespace() + "/" + created.GetName()
	a.update(func(s *Status) {
		s.State, s.Registrations, s.ClientID, s.Request, s.RequestedAt = WaitingForSecret, s.Registrations+1, clientID, request, time.Now()
	})

	up, err := kubernetes.NewForConfig(upstream)
	if err != nil {
		return nil, err
	}
	secretName := credentialSecretName(clientID, clientRandom)
	timeout := time.After(a.opts.SecretTimeout)
	for {
		select {
		case <-timeout:
			return nil, fmt.Errorf("timeout waiting for registration secret '%s/%s' on management cluster", regNS, secretName)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(a.opts.PollInterval):
		}
		got, err := up.CoreV1().Secrets(regNS).Get(ctx, secretName, metav1.GetOptions{})
		if err != nil {
			a.logf("Waiting for secret '%s/%s' on management cluster for request '%s': %v", regNS, secretName, request, err)
			a.update(func(s *Status) { s.LastError = err })
			continue
		}
		kubeconfig, err := clientcmd.Write(credentialKubeconfig(url, ca, string(got.Data["token"]), string(got.Data["deploymentNamespace"])))
		if err != nil {
			return nil, err
		}
		if err := testCredential(ctx, kubeconfig); err != nil {
			return nil, fmt.Errorf("new client config cannot list bundledeployments on management cluster: %w", err)
		}
		return a.writeCredential(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: CredentialSecretName, Namespace: ns},
			Data: map[string][]byte{
				"kubeconfig":          kubeconfig,
				"deploymentNamespace": got.Data["deploymentNamespace"],
				"clusterNamespace":    got.Data["clusterNamespace"],
				"clusterName":         got.Data["clusterName"],
			},
		})
	}
}

// writeCredential replaces the fleet-agent Secret.
func (a *Agent) writeCredential(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	secrets := a.kube.CoreV1().Secrets(s.Namespace)
	got, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		if err = secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err == nil || apierrors.IsNotFound(err) {
			got, err = secrets.Create(ctx, s, metav1.CreateOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to create '%s' secret: %w", s.Name, err)
	}
	return got, nil
}

// credentialKubeconfig is the agent's upstream kubeconfig: the bootstrap
// URL and CA with the request's token, in the cluster's namespace.
func credentialKubeconfig(url string, ca []byte, token, namespace string) clientcmdapi.Config {
	return clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"cluster": {Server: url, CertificateAuthorityData: ca}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"user": {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{"default": {Cluster: "cluster", AuthInfo: "user", Namespace: namespace}},
		CurrentContext: "default",
	}
}

// testCredential lists BundleDeployments in the kubeconfig's namespace,
// as the agent tests a credential.
func testCredential(ctx context.Context, kubeconfig []byte) error {
	cc, err := clientcmd.NewClientConfigFromBytes(kubeconfig)
	if err != nil {
		return err
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return err
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = dyn.Resource(bundleDeploymentGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	return err
}

// credentialSecretName is ("c-" + hex(sha256(clientID + clientRandom)))[:63],
// written here again rather than imported from the controller emulator:
// the two sides must agree through the doc, not through shared code.
func credentialSecretName(clientID, clientRandom string) string {
	sum := sha256.Sum256([]byte(clientID + clientRandom))
	return ("c-" + hex.EncodeToString(sum[:]))[:63]
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

func sleep(ctx context.Context, d time.Duration) bool {
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
