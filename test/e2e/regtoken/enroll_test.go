//go:build e2e

package regtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleetagent"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
)

// kubectl regtoken enroll end to end: the management cluster is this
// package's control plane with the Fleet controller emulator; the
// downstream clusters are real control planes (test/multicluster) with
// the agent stand-in (test/emulators/fleetagent), which registers with
// the token from the bootstrap Secret the real helm installed from
// test/charts/fleet-agent. Each test uses its own downstream clusters, so
// no agent state leaks from one test into another.

// downstreamCount: enroll ctx 1+2, expired token 3, unreachable URL 4,
// one of several failing 5.
const downstreamCount = 5

var (
	downOnce   sync.Once
	downSet    *multicluster.Set
	downErr    error
	kubeconfig string // management cluster (current context "upstream"), every downstream, and "broken"
)

// downstreams starts the downstream control planes on first use and
// writes the kubeconfig with all contexts.
func downstreams(t *testing.T) *multicluster.Set {
	t.Helper()
	downOnce.Do(func() {
		if downSet, downErr = multicluster.Start(multicluster.Options{N: downstreamCount, NamePrefix: "down"}); downErr != nil {
			return
		}
		kc := downSet.Kubeconfig("upstream", env.Config)
		// A context whose server refuses connections: one of several
		// contexts failing.
		broken := clientcmdapi.NewCluster()
		broken.Server = "https://127.0.0.1:1"
		kc.Clusters["broken"] = broken
		kc.Contexts["broken"] = &clientcmdapi.Context{Cluster: "broken", AuthInfo: "upstream"}
		kubeconfig = filepath.Join(env.Dir, "enroll.kubeconfig")
		downErr = clientcmd.WriteToFile(*kc, kubeconfig)
	})
	if downErr != nil {
		t.Fatalf("starting the downstream control planes: %v", downErr)
	}
	return downSet
}

func stopDownstreams() {
	if downSet != nil {
		_ = downSet.Stop()
	}
}

// startAgent runs the agent stand-in on downstream cluster c for the
// test (it also marks the chart's Deployment available, the part of a
// controller-manager these control planes lack).
func startAgent(t *testing.T, c *multicluster.Cluster, opts fleetagent.Options) *fleetagent.Agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 500 * time.Millisecond
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	a, err := fleetagent.Start(ctx, c.Config, opts)
	if err != nil {
		cancel()
		t.Fatalf("starting the agent stand-in on %s: %v", c.Name, err)
	}
	t.Cleanup(func() {
		cancel()
		a.Stop()
	})
	return a
}

// enrollFleet runs the Fleet controller emulator for namespace ns:
// values after 200 ms, grants after 200 ms, the upstream's own URL and CA
// (the downstream agents reach it on loopback, as they run in-process).
func enrollFleet(t *testing.T, ns string) *fleet.Emulator {
	t.Helper()
	return startEmulator(t, fleet.Options{
		Delay: 200 * time.Millisecond, GrantDelay: 200 * time.Millisecond, Namespace: ns,
		APIServerURL: env.Config.Host, APIServerCA: caPEM, Log: testLog{},
	})
}

func TestEnrollRegistersTwoClustersThroughTheRealHelm(t *testing.T) {
	set := downstreams(t)
	a, b := set.Clusters[0], set.Clusters[1]
	ns := newNamespace(t, "enroll")
	em := enrollFleet(t, ns)
	agentA := startAgent(t, a, fleetagent.Options{})
	agentB := startAgent(t, b, fleetagent.Options{})
	helm, chart := realHelm(t)
	r := newRunner(t)
	r.Timeout = 3 * time.Minute
	run := func(args ...string) (res struct {
		Code           int
		Stdout, Stderr string
	}) {
		out := r.Kubectl(append([]string{"regtoken", "enroll", "--kubeconfig", kubeconfig, "-n", ns, "--chart", chart, "--helm", helm}, args...)...)
		res.Code, res.Stdout, res.Stderr = out.Code, out.Stdout, out.Stderr
		return res
	}

	started := time.Now()
	// --keep-token: get and describe below read the token.
	res := run(a.Name, b.Name, "--token-name", "edge", "--ttl", "1h", "--keep-token", "--label", "env=e2e", "--timeout", "2m", "-o", "json")
	took := time.Since(started)
	if res.Code != 0 {
		t.Fatalf("enroll: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	t.Logf("enroll of 2 clusters took %s", took.Round(time.Millisecond))
	var got struct {
		Token    string
		Created  bool
		Clusters []struct {
			Context, ClientID, Cluster, Status, Registration string
			Helm                                             []string
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
	}
	if got.Token != "edge" || !got.Created || len(got.Clusters) != 2 {
		t.Fatalf("result %+v", got)
	}
	for i, c := range []*multicluster.Cluster{a, b} {
		cl := got.Clusters[i]
		uid := kubeSystemUID(t, c)
		if cl.Context != c.Name || cl.Status != "Registered" || cl.ClientID != uid || cl.Cluster != fleet.ClusterName(uid) {
			t.Errorf("%s: %+v (kube-system UID %s)", c.Name, cl, uid)
		}
		if cl.Helm[1] != "--kube-context" || cl.Helm[2] != c.Name || !strings.Contains(strings.Join(cl.Helm, " "), "upgrade --install") {
			t.Errorf("%s: helm argv %q", c.Name, cl.Helm)
		}
	}
	// Registered means the agent holds its credential: the Secret is
	// there the moment enroll returns, with no wait, so a re-run cannot
	// take the cluster for unregistered.
	for i, c := range []*multicluster.Cluster{a, b} {
		s, err := kubernetes.NewForConfigOrDie(c.Config).CoreV1().Secrets("cattle-fleet-system").Get(context.Background(), "fleet-agent", metav1.GetOptions{})
		if err != nil || string(s.Data["clusterName"]) != got.Clusters[i].Cluster {
			t.Errorf("%s: no credential of %s when enroll returned: %v", c.Name, got.Clusters[i].Cluster, err)
		}
	}
	for _, ag := range []*fleetagent.Agent{agentA, agentB} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := ag.WaitFor(ctx, func(s fleetagent.Status) bool { return s.State == fleetagent.Registered })
		cancel()
		if err != nil {
			t.Errorf("agent not registered: %+v: %v", s, err)
		}
	}
	if regs := em.Registrations(); len(regs) != 2 {
		t.Errorf("upstream registrations %+v", regs)
	}

	// regtoken get shows both registrations.
	get := kubectl(newRunner(t), "get", "edge", "-n", ns)
	mustSucceed(t, get, "regtoken get")
	for i, c := range []*multicluster.Cluster{a, b} {
		if !strings.Contains(get.Stdout, got.Clusters[i].Registration) || !strings.Contains(get.Stdout, fleet.ClusterName(kubeSystemUID(t, c))) {
			t.Errorf("regtoken get does not show %s's registration:\n%s", c.Name, get.Stdout)
		}
	}
	describe := kubectl(newRunner(t), "describe", "edge", "-n", ns)
	mustSucceed(t, describe, "regtoken describe")
	for i := range got.Clusters {
		if !strings.Contains(describe.Stdout, got.Clusters[i].Registration) || !strings.Contains(describe.Stdout, got.Clusters[i].Cluster) {
			t.Errorf("regtoken describe does not show %s's registration:\n%s", got.Clusters[i].Context, describe.Stdout)
		}
	}
	if !strings.Contains(describe.Stdout, "Values Secret:  edge (keys: values)") {
		t.Errorf("regtoken describe does not describe the values Secret:\n%s", describe.Stdout)
	}
	wide := kubectl(newRunner(t), "list", "-n", ns, "-o", "wide")
	if !strings.Contains(wide.Stdout, "REGISTERED") || !strings.Contains(strings.Fields(strings.Split(wide.Stdout, "\n")[1])[7], "2") {
		t.Errorf("list -o wide does not count 2 registrations:\n%s", wide)
	}

	// Again, with a new token: both are registered and left alone.
	res = run(a.Name, b.Name, "--ttl", "1h", "--timeout", "1m")
	if res.Code != 0 || strings.Count(res.Stdout, "AlreadyRegistered") != 2 || !strings.Contains(res.Stderr, "no token was created") {
		t.Fatalf("second enroll: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}

	// --reregister: a new token, the credential deleted, the agent
	// restarted; a new registration for the same Fleet Cluster.
	res = run(a.Name, "--token-name", "edge-2", "--ttl", "1h", "--reregister", "--timeout", "2m")
	if res.Code != 0 || !strings.Contains(res.Stdout, fleet.ClusterName(kubeSystemUID(t, a))) || !strings.Contains(res.Stdout, "Registered") {
		t.Fatalf("--reregister: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if s := agentA.Status(); s.Registrations != 2 || s.Starts != 2 {
		t.Errorf("agent after --reregister: %+v", s)
	}
	// Without --keep-token, the token is deleted once the cluster holds
	// its own credential: it could only register more clusters.
	if !strings.Contains(res.Stderr, `ClusterRegistrationToken "edge-2" was deleted: every cluster holds its own credential`) {
		t.Errorf("--reregister did not say the token was deleted:\n%s", res.Stderr)
	}
	if _, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), "edge-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("token edge-2 after a run without --keep-token: %v", err)
	}

	// The chart as helm package makes it (.tgz, its own version 0.16.1):
	// helm installs from the archive and the agent registers with the
	// new token.
	tgz := packagedChart(t)
	res = run(b.Name, "--token-name", "edge-tgz", "--ttl", "1h", "--reregister", "--chart", tgz, "--timeout", "2m", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("enroll --chart %s: exit %d\n%s\n%s", tgz, res.Code, res.Stdout, res.Stderr)
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
	}
	if cl := got.Clusters[0]; got.Token != "edge-tgz" || len(got.Clusters) != 1 || cl.Status != "Registered" || cl.Cluster != fleet.ClusterName(kubeSystemUID(t, b)) ||
		cl.Helm[len(cl.Helm)-1] != tgz || strings.Contains(strings.Join(cl.Helm, " "), "--version") {
		t.Errorf("enroll --chart %s: %+v", tgz, got)
	}
	if s := agentB.Status(); s.Registrations != 2 || s.Starts != 2 {
		t.Errorf("agent after the install from %s: %+v", tgz, s)
	}
}

// An expired token: the agent starts after the token is gone, gets 401
// and never registers; enroll sees the controller delete the token and
// says so at once, without waiting out --timeout.
func TestEnrollExpiredToken(t *testing.T) {
	set := downstreams(t)
	c := set.Clusters[2]
	ns := newNamespace(t, "enroll-expired")
	enrollFleet(t, ns)
	startAgent(t, c, fleetagent.Options{StartDelay: 6 * time.Second})
	helm, chart := realHelm(t)
	res := newRunner(t).Kubectl("regtoken", "enroll", c.Name, "--kubeconfig", kubeconfig, "-n", ns, "--chart", chart, "--helm", helm, "--ttl", "3s", "--timeout", "15s")
	if res.Code != 1 || !strings.Contains(res.Stderr, "was deleted (expired, or by hand) before the agent registered, so its registration cannot be granted") {
		t.Fatalf("%s", res)
	}
	oneErrorLine(t, res.Stderr)
}

// An apiServerURL the agent cannot reach: the agent runs and retries;
// enroll says the URL is the likely cause and how to look.
func TestEnrollUnreachableURL(t *testing.T) {
	set := downstreams(t)
	c := set.Clusters[3]
	ns := newNamespace(t, "enroll-url")
	enrollFleet(t, ns)
	startAgent(t, c, fleetagent.Options{})
	helm, chart := realHelm(t)
	res := newRunner(t).Kubectl("regtoken", "enroll", c.Name, "--kubeconfig", kubeconfig, "-n", ns, "--chart", chart, "--helm", helm,
		"--ttl", "1h", "--api-server-url", "https://127.0.0.1:1", "--timeout", "10s")
	want := fmt.Sprintf("the agent runs but has not registered: most likely it cannot reach the Fleet manager's apiServerURL (or does not trust its CA); look with kubectl logs deployment/fleet-agent -n cattle-fleet-system --kubeconfig=%s --context=%s", kubeconfig, c.Name)
	if res.Code != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "warning: apiServerURL https://127.0.0.1:1 is a loopback address") {
		t.Fatalf("want %q in %s", want, res)
	}
	oneErrorLine(t, res.Stderr)
}

// No helm: refused before anything is created.
func TestEnrollHelmMissing(t *testing.T) {
	set := downstreams(t)
	ns := newNamespace(t, "enroll-nohelm")
	enrollFleet(t, ns)
	_, chart := realHelm(t)
	r := newRunner(t)
	r.Env = append(r.Env, "PATH="+r.BinDir) // the plugins and kubectl, no helm
	res := r.Kubectl("regtoken", "enroll", set.Clusters[0].Name, "--kubeconfig", kubeconfig, "-n", ns, "--chart", chart, "--ttl", "1h")
	if res.Code != 1 || res.Stderr != "error: helm is not on PATH: install helm (https://helm.sh/docs/intro/install/) or pass --helm PATH; nothing was created\n" {
		t.Fatalf("%s", res)
	}
	noTokens(t, ns)
}

// A local chart has its own version: --chart-version with a .tgz is
// refused in one line before anything is created.
func TestEnrollRefusesAChartVersionForAPackagedChart(t *testing.T) {
	set := downstreams(t)
	ns := newNamespace(t, "enroll-tgz-version")
	enrollFleet(t, ns)
	helm, _ := realHelm(t)
	tgz := packagedChart(t)
	res := newRunner(t).Kubectl("regtoken", "enroll", set.Clusters[0].Name, "--kubeconfig", kubeconfig, "-n", ns, "--chart", tgz, "--chart-version", "0.16.1", "--helm", helm, "--ttl", "1h")
	want := fmt.Sprintf("error: --chart-version 0.16.1 does not apply to the local chart %s, which has its own version: leave out --chart-version\n", tgz)
	if res.Code != 1 || res.Stderr != want || res.Stdout != "" {
		t.Fatalf("want exit 1 and %q, got %s", want, res)
	}
	noTokens(t, ns)
}

// One of several contexts failing: the other registers, the exit code is
// 1 and one line names the failed context and why.
func TestEnrollOneOfSeveralContextsFailing(t *testing.T) {
	set := downstreams(t)
	c := set.Clusters[4]
	ns := newNamespace(t, "enroll-partial")
	enrollFleet(t, ns)
	startAgent(t, c, fleetagent.Options{})
	helm, chart := realHelm(t)
	res := newRunner(t).Kubectl("regtoken", "enroll", c.Name, "broken", "--kubeconfig", kubeconfig, "-n", ns, "--chart", chart, "--helm", helm,
		"--token-name", "partial", "--ttl", "1h", "--timeout", "2m")
	if res.Code != 1 || !strings.Contains(res.Stderr, "error: registered 1 of 2; failed: broken: ") || !strings.Contains(res.Stderr, "--reuse-token partial") {
		t.Fatalf("%s", res)
	}
	oneErrorLine(t, res.Stderr)
	rows := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(rows) != 3 || !strings.Contains(rows[1], "Registered") || !strings.Contains(rows[2], "Failed") {
		t.Errorf("table:\n%s", res.Stdout)
	}
}

func kubeSystemUID(t *testing.T, c *multicluster.Cluster) string {
	t.Helper()
	ns, err := kubernetes.NewForConfigOrDie(c.Config).CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(ns.UID)
}

// noTokens: a refused enroll created no token in ns.
func noTokens(t *testing.T, ns string) {
	t.Helper()
	list, err := dyn.Resource(fleet.GVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Errorf("tokens after a refused enroll: %v %v", list, err)
	}
}

// oneErrorLine: the failure is one "error: " line.
func oneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	if n := strings.Count(stderr, "error: "); n != 1 {
		t.Errorf("want one error line, got %d:\n%s", n, stderr)
	}
}
