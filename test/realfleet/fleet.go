// Package realfleet runs the real Fleet v0.16.1 beside a test control
// plane: fleetcontroller and fleetagent built by make fleet from the
// pristine source archive, kube-controller-manager with the controllers
// Fleet needs, the archive's fleet-crd and fleet charts installed by the
// real helm, and a small test kubelet (kubelet.go) that runs the
// Deployments' containers as local processes: the controller's pod
// upstream, each downstream plane's fleet-agent. Nothing of Fleet's is
// emulated here; docs/fleet-registration.md §8 has what running it
// taught.
package realfleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Names of the real Fleet's management side.
const (
	Version         = "v0.16.1"
	SystemNamespace = "cattle-fleet-system"
	ControllerName  = "fleet-controller"
	AgentName       = "fleet-agent"
)

// TokenGVR is Fleet's ClusterRegistrationToken resource.
var TokenGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrationtokens"}

// Binaries are the real parts, found in $KUBEBUILDER_ASSETS (or
// bin/testbin) and helm in $HELM (or bin/tools/helm).
type Binaries struct {
	Controller, Agent, ControllerManager string
	// Charts holds the archive's fleet-crd, fleet and fleet-agent charts.
	Charts string
	Helm   string
}

// NotBuilt is the one line a run without the real Fleet fails with.
const NotBuilt = "the real Fleet is not built: run make fleet, which needs the Fleet v0.16.1 source at ../shared/upstream/fleet-v0.16.1.tar.gz beside the repository (or FLEET_ARCHIVE); make test does it for you"

// Locate finds the binaries and charts, or says which is missing and how
// to build it. It never skips.
func Locate() (Binaries, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	dir, err := testenv.BinDir(root)
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{
		Controller:        filepath.Join(dir, "fleetcontroller"),
		Agent:             filepath.Join(dir, "fleetagent"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Charts:            filepath.Join(dir, "fleet-charts"),
		Helm:              os.Getenv("HELM"),
	}
	for _, p := range []string{b.Controller, b.Agent, filepath.Join(b.Charts, "fleet", "Chart.yaml")} {
		if _, err := os.Stat(p); err != nil {
			return Binaries{}, fmt.Errorf("%s (%s is missing)", NotBuilt, p)
		}
	}
	if _, err := os.Stat(b.ControllerManager); err != nil {
		return Binaries{}, fmt.Errorf("kube-controller-manager is missing from %s: run make testbin (make test does it for you)", dir)
	}
	if b.Helm == "" {
		b.Helm = filepath.Join(root, "bin", "tools", "helm")
	}
	if _, err := os.Stat(b.Helm); err != nil {
		return Binaries{}, fmt.Errorf("no helm at %s: run make helm (or set HELM)", b.Helm)
	}
	return b, nil
}

// AgentChart is the archive's fleet-agent chart (the one regtoken's
// printed commands install as fleet/fleet-agent).
func (b Binaries) AgentChart() string { return filepath.Join(b.Charts, "fleet-agent") }

// Options shape the management side.
type Options struct {
	// TTLRequired sets the chart value controller.registrationTokenTTL.required.
	TTLRequired bool
	// APIServerURL and APIServerCA are the chart's apiServerURL and
	// apiServerCA (PEM); empty means the control plane's own.
	APIServerURL, APIServerCA string
	// Log, when set, receives the processes' output and the kubelets'
	// steps (each process also logs to a file in the scratch directory).
	Log io.Writer
}

// Fleet is the real Fleet running on a test control plane.
type Fleet struct {
	Bin Binaries
	Env *testenv.Env
	// Controller runs the fleet-controller Deployment's pod.
	Controller *Kubelet
	// Took is how long Start took, until Fleet answered a token.
	Took time.Duration

	opts   Options
	dir    string
	kcm    *controllerManager
	dyn    dynamic.Interface
	kube   kubernetes.Interface
	probes atomic.Int64

	mu     sync.Mutex
	agents []*Kubelet
}

// processEnv keeps the processes of many pods on one machine from
// opening the same ports (metrics, health probes, pprof), which the pods'
// own network namespaces would keep apart: Fleet's own settings.
var processEnv = []corev1.EnvVar{
	{Name: "FLEET_METRICS_BIND_ADDRESS", Value: "0"},
	{Name: "FLEET_HEALTHPROBE_BIND_ADDRESS", Value: "0"},
	{Name: "FLEET_AGENT_METRICS_BIND_ADDRESS", Value: "0"},
	{Name: "FLEET_AGENT_PROBE_BIND_ADDRESS", Value: "0"},
	{Name: "FLEET_AGENT_PPROF_DISABLED", Value: "true"},
}

// Start brings up kube-controller-manager, installs the fleet-crd and
// fleet charts with the real helm and runs the controller's pod; it
// returns once the controller has answered a ClusterRegistrationToken.
func Start(ctx context.Context, env *testenv.Env, opts Options) (f *Fleet, err error) {
	began := time.Now()
	bin, err := Locate()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(env.Dir, "realfleet")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f = &Fleet{Bin: bin, Env: env, opts: opts, dir: dir, dyn: dynamic.NewForConfigOrDie(env.Config), kube: env.Clientset()}
	defer func() {
		if err != nil {
			f.Stop()
			f = nil
		}
	}()
	if f.kcm, err = startControllerManager(env, bin.ControllerManager, dir); err != nil {
		return nil, err
	}
	if err := f.helm(ctx, "install", "fleet-crd", filepath.Join(bin.Charts, "fleet-crd"), "-n", SystemNamespace, "--create-namespace", "--no-hooks"); err != nil {
		return nil, err
	}
	values, err := f.values()
	if err != nil {
		return nil, err
	}
	if err := f.helm(ctx, "install", "fleet", filepath.Join(bin.Charts, "fleet"), "-n", SystemNamespace, "--no-hooks", "--values", values); err != nil {
		return nil, err
	}
	f.Controller, err = StartKubelet(ctx, KubeletOptions{
		Name:        "upstream",
		Config:      env.Config,
		Deployments: []types.NamespacedName{{Namespace: SystemNamespace, Name: ControllerName}},
		Binaries:    map[string]string{"fleetcontroller": bin.Controller},
		Env:         processEnv,
		Dir:         filepath.Join(dir, "upstream"),
		Log:         opts.Log,
	})
	if err != nil {
		return nil, err
	}
	if err := f.WaitAnswering(ctx); err != nil {
		return nil, err
	}
	f.Took = time.Since(began)
	return f, nil
}

// values writes the fleet chart's values: the control plane's URL and CA,
// only the controller's pod (no gitjob, helmops or local agent), and a
// short controller lease so that a restarted controller leads in seconds
// rather than 30-40 s. Agents keep the chart's lease.
func (f *Fleet) values() (string, error) {
	url, ca := f.opts.APIServerURL, f.opts.APIServerCA
	if url == "" {
		url, ca = f.Env.Config.Host, string(f.Env.Config.CAData)
	}
	v := map[string]any{
		"apiServerURL": url,
		"apiServerCA":  ca,
		"bootstrap":    map[string]any{"enabled": false},
		"gitops":       map[string]any{"enabled": false},
		"helmops":      map[string]any{"enabled": false},
		"metrics":      map[string]any{"enabled": false},
		"leaderElection": map[string]any{
			"leaseDuration": "4s", "renewDeadline": "3s", "retryPeriod": "1s",
		},
		"controller": map[string]any{"registrationTokenTTL": map[string]any{"required": f.opts.TTLRequired}},
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	path := filepath.Join(f.dir, "fleet-values.yaml")
	return path, os.WriteFile(path, b, 0o600)
}

// SetTTLRequired upgrades the fleet release with
// controller.registrationTokenTTL.required (a new pod template: the
// kubelet replaces the controller's pod) and returns once the new
// controller answers.
func (f *Fleet) SetTTLRequired(ctx context.Context, required bool) error {
	starts := f.Controller.Starts(SystemNamespace, ControllerName)
	if err := f.helm(ctx, "upgrade", "fleet", filepath.Join(f.Bin.Charts, "fleet"), "-n", SystemNamespace, "--no-hooks", "--reuse-values",
		"--set", "controller.registrationTokenTTL.required="+strconv.FormatBool(required)); err != nil {
		return err
	}
	for f.Controller.Starts(SystemNamespace, ControllerName) == starts {
		if !sleep(ctx, 100*time.Millisecond) {
			return fmt.Errorf("the controller's pod was not replaced after the upgrade: %w", ctx.Err())
		}
	}
	return f.WaitAnswering(ctx)
}

// helm runs the real helm as admin of the control plane.
func (f *Fleet) helm(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, f.Bin.Helm, args...)
	home := filepath.Join(f.dir, "helm-home")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "KUBECONFIG=" + f.Env.Kubeconfig,
		"HELM_CACHE_HOME=" + home + "/cache", "HELM_CONFIG_HOME=" + home + "/config", "HELM_DATA_HOME=" + home + "/data"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("helm %v: %w\n%s", args, err, out.String())
	}
	return nil
}

// WaitAnswering returns once the controller answers a fresh token with
// its values Secret (status.secretName): a controller that leads and
// reconciles.
func (f *Fleet) WaitAnswering(ctx context.Context) error {
	const ns = "realfleet-probe"
	_, err := f.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	name := fmt.Sprintf("probe-%d", f.probes.Add(1))
	tokens := f.dyn.Resource(TokenGVR).Namespace(ns)
	tok := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"ttl": "1h"},
	}}
	if _, err := tokens.Create(ctx, tok, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the probe token: %w", err)
	}
	defer func() { _ = tokens.Delete(context.Background(), name, metav1.DeleteOptions{}) }()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	w, err := tokens.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return apierrors.FromObject(ev.Object)
		}
		if u, ok := ev.Object.(*unstructured.Unstructured); ok {
			if s, _, _ := unstructured.NestedString(u.Object, "status", "secretName"); s == name {
				return nil
			}
		}
	}
	return fmt.Errorf("the real Fleet controller did not answer token %s/%s (logs in %s): %w", ns, name, f.dir, errors.Join(ctx.Err(), errors.New("watch closed")))
}

// StartAgents runs a kubelet on a downstream plane for the fleet-agent
// Deployment that helm installs there (and that Fleet later takes over).
// cfg is an admin of that plane; name names it in logs.
func (f *Fleet) StartAgents(ctx context.Context, name string, cfg *rest.Config) (*Kubelet, error) {
	k, err := StartKubelet(ctx, KubeletOptions{
		Name:        name,
		Config:      cfg,
		Deployments: []types.NamespacedName{{Namespace: SystemNamespace, Name: AgentName}},
		Binaries:    map[string]string{"fleetagent": f.Bin.Agent},
		Env:         processEnv,
		Dir:         filepath.Join(f.dir, name),
		Log:         f.opts.Log,
	})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.agents = append(f.agents, k)
	f.mu.Unlock()
	return k, nil
}

// Dir is the scratch directory with every process's log.
func (f *Fleet) Dir() string { return f.dir }

// Stop ends the agents, the controller and kube-controller-manager.
func (f *Fleet) Stop() {
	f.mu.Lock()
	agents := f.agents
	f.agents = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, k := range append(agents, f.Controller) {
		if k == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); k.Stop() }()
	}
	wg.Wait()
	f.Controller = nil
	if f.kcm != nil {
		f.kcm.stop()
		f.kcm = nil
	}
}
