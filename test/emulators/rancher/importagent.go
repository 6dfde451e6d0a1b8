package rancher

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// AgentOptions shape the cattle-cluster-agent stand-in.
type AgentOptions struct {
	// RootCAs is what the agent's machine trusts (the real agent checks
	// Rancher's cacerts against CATTLE_CA_CHECKSUM); tests pass
	// Importer.CAPEM.
	RootCAs []byte
	// RetryInterval is the wait after a refused connection (default 10 s).
	RetryInterval time.Duration
	// Logf receives one line per step (nil: discarded); never a token.
	Logf func(format string, args ...any)
}

// AgentState is where the stand-in is.
type AgentState string

// The stand-in's states.
const (
	AgentNotInstalled AgentState = "NotInstalled" // no cattle-cluster-agent Deployment
	AgentConnecting   AgentState = "Connecting"
	AgentRefused      AgentState = "Refused" // the last connection failed; retrying
	AgentConnected    AgentState = "Connected"
)

// AgentStatus is what a test can see of the stand-in.
type AgentStatus struct {
	State AgentState
	// Starts counts agent starts (the Deployment appeared or its pod
	// template changed), Connects accepted tunnels.
	Starts, Connects int
	// Cluster is the management cluster ID Rancher answered with.
	Cluster   string
	LastError error
}

// Agent stands in for Rancher's cattle-cluster-agent on a downstream
// control plane without kubelet: when the manifest's Deployment appears,
// it reads the credentials Secret the Deployment mounts and opens the
// tunnel to CATTLE_SERVER with the token it holds, so a wrong or expired
// token really fails. It has no upstream credentials of its own.
type Agent struct {
	opts AgentOptions
	kube kubernetes.Interface

	cancel context.CancelFunc
	done   sync.WaitGroup

	mu       sync.Mutex
	status   AgentStatus
	changed  chan struct{}
	template string
	stopRun  context.CancelFunc
	runs     sync.WaitGroup
}

// StartAgent watches Deployment cattle-system/cattle-cluster-agent on the
// downstream cluster behind downstream.
func StartAgent(ctx context.Context, downstream *rest.Config, opts AgentOptions) (*Agent, error) {
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 10 * time.Second
	}
	kube, err := kubernetes.NewForConfig(downstream)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, kube: kube, status: AgentStatus{State: AgentNotInstalled}, changed: make(chan struct{})}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(AgentNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", AgentDeployment).String()
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
		return nil, fmt.Errorf("cattle-cluster-agent stand-in: watching Deployment %s/%s did not start: %w", AgentNamespace, AgentDeployment, errors.Join(ctx.Err(), context.Canceled))
	}
	return a, nil
}

// Stop ends the stand-in (its tunnel closes) and waits for it.
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

// Status is the stand-in's current state.
func (a *Agent) Status() AgentStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// WaitFor returns the first status that satisfies ok, or ctx's error.
func (a *Agent) WaitFor(ctx context.Context, ok func(AgentStatus) bool) (AgentStatus, error) {
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
			return s, fmt.Errorf("cattle-cluster-agent stand-in in state %s (last error: %s): %w", s.State, errText(s.LastError), ctx.Err())
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

func (a *Agent) update(f func(*AgentStatus)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.status)
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf("cattle-cluster-agent: "+format, args...)
	}
}

// deploymentChanged starts a new "pod" when the pod template changed.
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
		a.stopRun()
	}
	runCtx, stop := context.WithCancel(ctx)
	a.stopRun = stop
	a.runs.Add(1)
	a.mu.Unlock()
	a.update(func(s *AgentStatus) { s.State, s.Starts, s.LastError = AgentConnecting, s.Starts+1, nil })
	go func() {
		defer a.runs.Done()
		a.run(runCtx, d.DeepCopy())
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
	a.update(func(s *AgentStatus) { s.State = AgentNotInstalled })
}

// run is one agent pod: connect, retrying while refused, and hold the
// tunnel until the pod goes.
func (a *Agent) run(ctx context.Context, d *appsv1.Deployment) {
	patch := fmt.Sprintf(`{"status":{"observedGeneration":%d,"replicas":1,"updatedReplicas":1,"readyReplicas":1,"availableReplicas":1}}`, d.Generation)
	if _, err := a.kube.AppsV1().Deployments(AgentNamespace).Patch(ctx, AgentDeployment, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil && ctx.Err() == nil {
		a.logf("marking the Deployment available: %v", err)
	}
	for {
		err := a.connect(ctx, d)
		if ctx.Err() != nil {
			return
		}
		a.logf("connection refused or lost: %v", err)
		a.update(func(s *AgentStatus) { s.State, s.LastError = AgentRefused, err })
		if !sleepCtx(ctx, a.opts.RetryInterval) {
			return
		}
	}
}

// connect reads the server and token as the pod would see them (env and
// the mounted credentials Secret) and opens the tunnel.
func (a *Agent) connect(ctx context.Context, d *appsv1.Deployment) error {
	env := map[string]string{}
	var secretName string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && strings.HasPrefix(v.Secret.SecretName, "cattle-credentials-") {
			secretName = v.Secret.SecretName
		}
	}
	if secretName == "" {
		return errors.New("the Deployment mounts no cattle-credentials-* Secret")
	}
	s, err := a.kube.CoreV1().Secrets(AgentNamespace).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the credentials: %w", err)
	}
	server, token := string(s.Data["url"]), string(s.Data["token"])
	if server == "" {
		server = env["CATTLE_SERVER"]
	}
	if want := env["CATTLE_CA_CHECKSUM"]; want != "" && checksum(a.opts.RootCAs) != want {
		return fmt.Errorf("the CA checksum %s does not match Rancher's cacerts", want)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.opts.RootCAs)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+"/v3/connect", nil)
	if err != nil {
		return err
	}
	req.Header.Set(TunnelTokenHeader, token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	line := make([]byte, 128)
	n, _ := resp.Body.Read(line)
	cluster := strings.TrimSpace(strings.TrimPrefix(string(line[:n]), "connected "))
	a.update(func(st *AgentStatus) {
		st.State, st.Connects, st.Cluster, st.LastError = AgentConnected, st.Connects+1, cluster, nil
	})
	a.logf("connected as %s", cluster)
	_, err = io.Copy(io.Discard, resp.Body) // the tunnel, until either side ends it
	if err == nil {
		err = errors.New("the tunnel was closed by Rancher")
	}
	return err
}
