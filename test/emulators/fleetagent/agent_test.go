//go:build e2e

package fleetagent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Upstream: the Fleet management cluster (real apiserver, emulated
// controller). Downstream: plain control planes the chart is installed
// into by the real helm.
var (
	upstream   *testenv.Env
	downstream *multicluster.Set
	kubeconfig string // every cluster, current context "upstream"
	helm       string
	chart      string
)

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	var err error
	if upstream, err = testenv.Start(testenv.Options{CRDDirs: []string{"test/emulators/fleet/crds"}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = upstream.Stop() }()
	if downstream, err = multicluster.Start(multicluster.Options{N: 5}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = downstream.Stop() }()
	kubeconfig = filepath.Join(upstream.Dir, "all.kubeconfig")
	if err := downstream.WriteKubeconfig(kubeconfig, "upstream", upstream.Config); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	helm = os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(upstream.Root, "bin", "tools", "helm")
	}
	if _, err := os.Stat(helm); err != nil {
		fmt.Fprintf(os.Stderr, "no helm at %s: run make helm (or set HELM)\n", helm)
		return 1
	}
	chart = filepath.Join(upstream.Root, "test", "charts", "fleet-agent")
	return m.Run()
}

var fast = Options{RetryInterval: 500 * time.Millisecond, PollInterval: 200 * time.Millisecond, SecretTimeout: time.Minute}

// fleetFor runs a controller emulator on namespace ns of the upstream.
func fleetFor(t *testing.T, ns string) *fleet.Emulator {
	t.Helper()
	return fleetWithGrantDelay(t, ns, 200*time.Millisecond)
}

func fleetWithGrantDelay(t *testing.T, ns string, grantDelay time.Duration) *fleet.Emulator {
	t.Helper()
	ctx := context.Background()
	if _, err := upstream.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	em, err := fleet.Start(ctx, upstream.Config, fleet.Options{
		Delay: 200 * time.Millisecond, GrantDelay: grantDelay, Namespace: ns,
		APIServerURL: upstream.Config.Host, APIServerCA: string(upstream.Config.CAData),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(em.Stop)
	return em
}

// valuesFor creates a token and returns the values.yaml file its Secret
// holds, as a user would extract it (docs §3).
func valuesFor(t *testing.T, ns, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dyn := dynamic.NewForConfigOrDie(upstream.Config)
	tok := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": map[string]any{"ttl": "1h"},
	}}
	if _, err := dyn.Resource(fleet.GVR).Namespace(ns).Create(ctx, tok, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kube := upstream.Clientset()
	for {
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && s.Type == fleet.ValuesSecretType {
			path := filepath.Join(t.TempDir(), name+".values.yaml")
			if err := os.WriteFile(path, s.Data[fleet.ValuesKey], 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no values Secret for token %s/%s: %v", ns, name, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// helmInstall runs the real helm against a downstream context.
func helmInstall(t *testing.T, context, values string, extra ...string) {
	t.Helper()
	args := append([]string{"--kubeconfig", kubeconfig, "--kube-context", context, "-n", "cattle-fleet-system",
		"upgrade", "--install", "--create-namespace", "--values", values}, extra...)
	args = append(args, "fleet-agent", chart)
	cmd := exec.Command(helm, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, out)
	}
}

func startAgent(t *testing.T, c *multicluster.Cluster) *Agent {
	t.Helper()
	return startAgentWith(t, c, fast)
}

func startAgentWith(t *testing.T, c *multicluster.Cluster, opts Options) *Agent {
	t.Helper()
	opts.Logf = func(format string, args ...any) { t.Logf(c.Name+" "+format, args...) }
	a, err := Start(context.Background(), c.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

func waitFor(t *testing.T, a *Agent, what string, ok func(Status) bool) Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := a.WaitFor(ctx, ok)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return s
}

// The whole flow on one downstream cluster: helm installs the chart, the
// agent registers with the token, is granted, writes its credential and
// deletes the bootstrap Secret; a helm upgrade with a new token does not
// re-register the healthy agent, not even when it restarts; deleting the
// credential and restarting it does, and supersedes the old registration.
func TestRegisterKeepAndReregister(t *testing.T) {
	c := downstream.Clusters[0]
	ns := "fleet-flow"
	em := fleetFor(t, ns)
	agent := startAgent(t, c)
	ctx := context.Background()
	down := kubernetes.NewForConfigOrDie(c.Config)

	helmInstall(t, c.Name, valuesFor(t, ns, "first"), "--set-string", "labels.env=test")
	s := waitFor(t, agent, "registration", func(s Status) bool { return s.State == Registered })
	kubeSystem, err := down.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantCluster := fleet.ClusterName(string(kubeSystem.UID))
	if s.Registrations != 1 || s.Reused || s.ClientID != string(kubeSystem.UID) || s.ClusterName != wantCluster || s.ClusterNamespace != ns ||
		s.DeploymentNamespace != fleet.ClusterNamespace(ns, wantCluster) {
		t.Errorf("agent status %+v (cluster want %s)", s, wantCluster)
	}
	regs := em.Registrations()
	if len(regs) != 1 || !regs[0].Granted || regs[0].TokenName != "first" || regs[0].ClusterName != wantCluster || !regs[0].CredsRole {
		t.Fatalf("upstream registrations %+v", regs)
	}
	cluster, err := dynamic.NewForConfigOrDie(upstream.Config).Resource(fleet.ClusterGVR).Namespace(ns).Get(ctx, wantCluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := cluster.GetLabels(); l["env"] != "test" || l[createdByAgentPodLabel] == "" {
		t.Errorf("Cluster labels %v", l)
	}
	cred, err := down.CoreV1().Secrets("cattle-fleet-system").Get(ctx, CredentialSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(cred.Data["clusterName"]) != wantCluster || len(cred.Data["kubeconfig"]) == 0 {
		t.Errorf("downstream credential %v", cred.Data)
	}
	if err := testCredential(ctx, cred.Data["kubeconfig"]); err != nil {
		t.Errorf("the stored credential does not work upstream: %v", err)
	}
	waitBootstrapGone(t, down)
	if d, err := down.AppsV1().Deployments("cattle-fleet-system").Get(ctx, DeploymentName, metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 1 || d.Status.ObservedGeneration != d.Generation {
		t.Errorf("the started agent's Deployment is not available: %v %+v", err, d.Status)
	}

	// A new token over a healthy agent: helm upgrade does not restart
	// it; a restart keeps the working credential and only drops the new
	// bootstrap Secret (docs §7.6).
	helmInstall(t, c.Name, valuesFor(t, ns, "second"))
	restart(t, down)
	s = waitFor(t, agent, "the restart", func(s Status) bool { return s.Starts == 2 && s.State == Registered })
	if !s.Reused || s.Registrations != 1 {
		t.Errorf("a healthy agent re-registered: %+v", s)
	}
	waitBootstrapGone(t, down)
	if regs := em.Registrations(); len(regs) != 1 {
		t.Errorf("registrations after the restart: %+v", regs)
	}

	// Credential deleted + restart + a new token: a new registration for
	// the same Cluster; the old one is deleted.
	helmInstall(t, c.Name, valuesFor(t, ns, "third"))
	if err := down.CoreV1().Secrets("cattle-fleet-system").Delete(ctx, CredentialSecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	restart(t, down)
	s = waitFor(t, agent, "re-registration", func(s Status) bool { return s.Starts == 3 && s.State == Registered })
	if s.Reused || s.Registrations != 2 || s.ClusterName != wantCluster {
		t.Errorf("re-registration: %+v", s)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		regs = em.Registrations()
		if len(regs) == 1 && regs[0].TokenName == "third" && regs[0].Granted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old registration was not superseded: %+v", regs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A token deleted before the agent starts: the registration gets 401
// from the real apiserver and is retried; nothing appears upstream.
func TestDeletedTokenIsUnauthorized(t *testing.T) {
	c := downstream.Clusters[1]
	ns := "fleet-deleted"
	em := fleetFor(t, ns)
	values := valuesFor(t, ns, "gone")
	ctx := context.Background()
	if err := dynamic.NewForConfigOrDie(upstream.Config).Resource(fleet.GVR).Namespace(ns).Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The emulator removes the token's ServiceAccount and Secrets; the
	// bound JWT then stops authenticating.
	waitGone(t, func() error {
		_, err := upstream.Clientset().CoreV1().Secrets(ns).Get(ctx, "gone", metav1.GetOptions{})
		return err
	})
	agent := startAgent(t, c)
	helmInstall(t, c.Name, values)
	s := waitFor(t, agent, "a failed registration", func(s Status) bool { return s.State == RetryWait })
	if !apierrors.IsUnauthorized(s.LastError) {
		t.Errorf("last error %v, want 401 Unauthorized", s.LastError)
	}
	if regs := em.Registrations(); len(regs) != 0 {
		t.Errorf("registrations with a deleted token: %+v", regs)
	}
	if s.Registrations != 0 {
		t.Errorf("agent status %+v", s)
	}
}

// The token's Role allows exactly create on clusterregistrations in its
// namespace: a bootstrap Secret naming another namespace gets 403.
func TestTokenOutsideItsRoleIsForbidden(t *testing.T) {
	c := downstream.Clusters[2]
	ns := "fleet-forbidden"
	fleetFor(t, ns)
	values := valuesFor(t, ns, "narrow")
	agent := startAgent(t, c)
	helmInstall(t, c.Name, values, "--set-string", "clusterNamespace=default")
	s := waitFor(t, agent, "a failed registration", func(s Status) bool { return s.State == RetryWait })
	if !apierrors.IsForbidden(s.LastError) {
		t.Errorf("last error %v, want 403 Forbidden", s.LastError)
	}
}

// A token deleted between the registration and its grant: the
// registration is granted without the -creds Role and the agent, whose
// token no longer authenticates, waits for a Secret it cannot read
// (docs §7.7).
func TestTokenGoneBeforeGrant(t *testing.T) {
	c := downstream.Clusters[3]
	ns := "fleet-gone-at-grant"
	em := fleetWithGrantDelay(t, ns, 3*time.Second)
	values := valuesFor(t, ns, "brief")
	agent := startAgent(t, c)
	helmInstall(t, c.Name, values)
	waitFor(t, agent, "the registration", func(s Status) bool { return s.State == WaitingForSecret })
	ctx := context.Background()
	if err := dynamic.NewForConfigOrDie(upstream.Config).Resource(fleet.GVR).Namespace(ns).Delete(ctx, "brief", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := waitGranted(t, em)
	if reg.CredsRole {
		t.Errorf("a -creds Role for a registration whose token is gone: %+v", reg)
	}
	s := waitFor(t, agent, "a refused poll after the grant", func(s Status) bool { return apierrors.IsUnauthorized(s.LastError) })
	if s.State != WaitingForSecret {
		t.Errorf("agent %+v, want it still waiting for its Secret", s)
	}
}

// A ≤v0.15 agent leaves no token label: a v0.16 controller grants the
// registration but nobody may read the credential; the agent stalls on
// 403 (docs §3).
func TestLegacyAgentStalls(t *testing.T) {
	c := downstream.Clusters[4]
	ns := "fleet-legacy-agent"
	em := fleetFor(t, ns)
	values := valuesFor(t, ns, "old-agent")
	opts := fast
	opts.Legacy = true
	agent := startAgentWith(t, c, opts)
	helmInstall(t, c.Name, values)
	reg := waitGranted(t, em)
	if reg.TokenName != "" || reg.CredsRole {
		t.Errorf("registration %+v", reg)
	}
	s := waitFor(t, agent, "a forbidden poll", func(s Status) bool { return apierrors.IsForbidden(s.LastError) })
	if s.State != WaitingForSecret {
		t.Errorf("agent %+v, want it still waiting for its Secret", s)
	}
}

// waitGranted returns the emulator's only registration once granted.
func waitGranted(t *testing.T, em *fleet.Emulator) fleet.Registration {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		regs := em.Registrations()
		if len(regs) == 1 && regs[0].Granted {
			return regs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no granted registration: %+v", regs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restart is kubectl rollout restart: a new pod template annotation.
func restart(t *testing.T, down kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := down.AppsV1().Deployments("cattle-fleet-system").Patch(ctx, DeploymentName, "application/strategic-merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitBootstrapGone(t *testing.T, down kubernetes.Interface) {
	t.Helper()
	waitGone(t, func() error {
		_, err := down.CoreV1().Secrets("cattle-fleet-system").Get(context.Background(), BootstrapSecretName, metav1.GetOptions{})
		return err
	})
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
