package regtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// downstream is the fake of one downstream context: its kube-system
// namespace (UID uid) and objs.
func downstream(name, uid string, objs ...runtime.Object) *clitest.Factory {
	core := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: types.UID(uid)}}}
	var dyn []runtime.Object
	for _, o := range objs {
		if _, ok := o.(*unstructured.Unstructured); ok {
			dyn = append(dyn, o)
		} else {
			core = append(core, o)
		}
	}
	return clitest.NewFactory(clitest.Options{
		Core: core, Dynamic: dyn,
		ListKinds: map[schema.GroupVersionResource]string{fleet.DeploymentGVR: "DeploymentList"},
		Cluster:   kubeconfig.Cluster{Context: name, Server: "https://" + name + ".example.com:6443"},
	})
}

// registration is a ClusterRegistration made with token by the agent of
// clientID; cluster "" is one the controller has not granted.
func registration(name, token, clientID, cluster string, age time.Duration) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec":   map[string]any{"clientID": clientID},
		"status": map[string]any{},
	}}
	u.SetAPIVersion(fleet.RegistrationGVR.GroupVersion().String())
	u.SetKind(fleet.RegistrationKind)
	u.SetNamespace(testNS)
	u.SetName(name)
	u.SetResourceVersion("1")
	u.SetCreationTimestamp(metav1.NewTime(testNow.Add(-age)))
	if token != "" {
		u.SetLabels(map[string]string{fleet.RegistrationLabel: token})
	}
	if cluster != "" {
		_ = unstructured.SetNestedField(u.Object, cluster, "status", "clusterName")
		_ = unstructured.SetNestedField(u.Object, true, "status", "granted")
	}
	return u
}

// fleetController is the fleet-controller Deployment with image and env
// NAME=VALUE pairs.
func fleetController(image string, env ...string) *unstructured.Unstructured {
	var envs []any
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envs = append(envs, map[string]any{"name": k, "value": v})
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fleet.ControllerDeployment, "namespace": fleet.ControllerNamespace},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": fleet.ControllerDeployment, "image": image, "env": envs},
		}}}},
	}}
	return u
}

func agentCredential(cluster string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fleet.AgentCredentialSecret, Namespace: fleet.AgentNamespace}, Data: map[string][]byte{"clusterName": []byte(cluster)}}
}

// agentStoresCredential makes d's agent hold the credential of cluster by
// the time enroll looks for it, which it does only after the grant: the
// credential appears at the first list of the agent's Secrets.
func agentStoresCredential(d *clitest.Factory, cluster string) *clitest.Factory {
	d.Core.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if _, err := d.Core.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), fleet.AgentNamespace, fleet.AgentCredentialSecret); apierrors.IsNotFound(err) {
			if err := d.Core.Tracker().Add(agentCredential(cluster)); err != nil {
				return true, nil, err
			}
		}
		return false, nil, nil
	})
	return d
}

// fakeHelm is a helm stand-in: it writes its argv (one per line) and
// stdin to dir/<kube-context, else "repo-add" or "repo-update">.argv/.stdin, and fails with a
// helm-like error for the contexts in $FAKE_HELM_FAIL.
func fakeHelm(t *testing.T) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "helm")
	script := `#!/bin/sh
name=$1-$2
prev=
for a in "$@"; do
	[ "$prev" = --kube-context ] && name=$a
	prev=$a
done
printf '%s\n' "$@" > "` + dir + `/$name.argv"
cat > "` + dir + `/$name.stdin"
case " $FAKE_HELM_FAIL " in *" $name "*)
	echo 'Error: INSTALLATION FAILED: Kubernetes cluster unreachable' >&2
	exit 1;;
esac
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_HELM_FAIL", "")
	return path, dir
}

func helmCall(t *testing.T, dir, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".argv"))
	if err != nil {
		t.Fatalf("helm was not run for %s: %v", name, err)
	}
	return append([]string{"helm"}, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
}

// enrollWorld is a management cluster with a v0.16.1 controller and two
// downstream contexts whose agents' registrations are granted.
func enrollWorld(t *testing.T, regs ...runtime.Object) (*clitest.Factory, map[string]*clitest.Factory) {
	t.Helper()
	if regs == nil {
		regs = []runtime.Object{
			registration("request-a", "edge", "uid-a", "cluster-aaaa", 0),
			registration("request-b", "edge", "uid-b", "cluster-bbbb", 0),
		}
	}
	f := world{controller: fleetValues, dynamic: append([]runtime.Object{fleetController("registry.example.com/rancher/fleet:v0.16.1")}, regs...)}.factory(t)
	others := map[string]*clitest.Factory{
		"ctx-a": agentStoresCredential(downstream("ctx-a", "uid-a"), "cluster-aaaa"),
		"ctx-b": agentStoresCredential(downstream("ctx-b", "uid-b"), "cluster-bbbb"),
	}
	f.Others = others
	return f, others
}

// withoutWatches drops watch requests: a watch opened after the list
// already held every answer may or may not be sent before the run ends.
func withoutWatches(reqs []string) []string {
	return slices.DeleteFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "watch ") })
}

// byContext orders the progress lines ("ctx-a: ...") by context, each
// context's own lines kept in order: contexts run in parallel, so the
// interleaving differs from run to run.
func byContext(out string) string {
	lines := strings.Split(out, "\n")
	var idx []int
	var progress []string
	for i, l := range lines {
		if strings.HasPrefix(l, "ctx-") && strings.Contains(l, ": ") {
			idx = append(idx, i)
			progress = append(progress, l)
		}
	}
	slices.SortStableFunc(progress, func(a, b string) int {
		return strings.Compare(strings.SplitN(a, ":", 2)[0], strings.SplitN(b, ":", 2)[0])
	})
	for k, i := range idx {
		lines[i] = progress[k]
	}
	return strings.Join(lines, "\n")
}

func TestEnrollInstallsEveryContextAndWaitsForTheirRegistrations(t *testing.T) {
	helm, dir := fakeHelm(t)
	f, others := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--token-name", "edge", "--ttl", "1h", "--label", "env=prod", "--helm", helm)
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "enroll", byContext(res.String()))
	// The preflight reads run at once, in any order; the token comes
	// after them, and is deleted once both agents hold their credential.
	// The token's own watch (its list comes first) runs beside the
	// registrations' and is checked on its own below.
	wantRequests(t, sortedFirst(withoutWatches(slices.DeleteFunc(apiRequests(f), func(r string) bool {
		return r == "list clusterregistrationtokens.fleet.cattle.io fleet-default"
	})), 2),
		"get deployments.apps cattle-fleet-system/fleet-controller",
		"get namespaces kube-system",
		"create clusterregistrationtokens.fleet.cattle.io fleet-default/edge",
		"get secrets fleet-default/edge",
		"list clusterregistrations.fleet.cattle.io fleet-default",
		"get clusterregistrationtokens.fleet.cattle.io fleet-default/edge",
		"get clusterregistrationtokens.fleet.cattle.io fleet-default/edge",
		"delete clusterregistrationtokens.fleet.cattle.io fleet-default/edge")
	if !slices.Contains(apiRequests(f), "list clusterregistrationtokens.fleet.cattle.io fleet-default") {
		t.Errorf("the token was not watched while the agents registered: %q", apiRequests(f))
	}
	for name, d := range others {
		wantRequests(t, d.Requests(), "get namespaces kube-system", "get secrets cattle-fleet-system/fleet-agent", "list secrets cattle-fleet-system")
		want := []string{"helm", "--kube-context", name, "-n", "cattle-fleet-system", "upgrade", "--install", "--create-namespace",
			"--set-string", "labels.env=prod", "--values", "-", "--version", "0.16.1", "fleet-agent", "fleet/fleet-agent"}
		if got := helmCall(t, dir, name); !slices.Equal(got, want) {
			t.Errorf("%s: helm ran\n %q\nwant %q", name, got, want)
		}
		if v := readFile(t, filepath.Join(dir, name+".stdin")); !strings.Contains(v, agentCredToken) || !strings.Contains(v, "tokenName: edge") {
			t.Errorf("%s: helm's stdin lacks the token's values:\n%s", name, v)
		}
	}
	if got, want := helmCall(t, dir, "repo-add"), fleet.RepoAddArgv(); !slices.Equal(got, want) {
		t.Errorf("repo add ran %q, want %q", got, want)
	}
	if got, want := helmCall(t, dir, "repo-update"), []string{"helm", "repo", "update", "fleet"}; !slices.Equal(got, want) {
		t.Errorf("repo update ran %q, want %q", got, want)
	}
}

// The helm argv enroll runs is create's, plus the context: one builder.
func TestEnrollRunsTheArgvCreatePrintsPlusTheContext(t *testing.T) {
	helm, dir := fakeHelm(t)
	inTempDir(t)
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--client-id", "store-1", "--helm", helm, "--chart-version", "0.16.0", "--wait-registration=false")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	c := run(t, world{controller: fleetValues}.factory(t), "create", "other", "--ttl", "1h", "--client-id", "store-1", "--values-file", "-", "--chart-version", "0.16.0")
	printed := helmArgv(t, c.Stderr)
	got := helmCall(t, dir, "ctx-a")
	want := slices.Concat([]string{"helm", "--kube-context", "ctx-a"}, printed[1:])
	want = slices.Replace(want, slices.Index(want, "install"), slices.Index(want, "install")+1, "upgrade", "--install")
	want = slices.DeleteFunc(want, func(s string) bool { return s == "--wait" })
	if !slices.Equal(got, want) {
		t.Errorf("enroll ran\n %q\ncreate prints\n %q", got, printed)
	}
}

func TestEnrollJSONIsOneResultObject(t *testing.T) {
	helm, _ := fakeHelm(t)
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "--kubeconfig", "/tmp/k", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var got fleet.Enrollment
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
	}
	if got.Kind != "Enrollment" || got.Token != "edge" || !got.Created || len(got.Clusters) != 2 {
		t.Fatalf("result %+v", got)
	}
	for _, cl := range got.Clusters {
		if cl.Status != fleet.StatusRegistered || cl.Cluster == "" || cl.Registration == "" || cl.Release != "cattle-fleet-system/fleet-agent" || !slices.Contains(cl.Helm, "/tmp/k") {
			t.Errorf("cluster %+v", cl)
		}
	}
	if strings.Contains(res.Stdout, agentCredToken) {
		t.Error("the result holds the token value")
	}
}

// elsewhereCredential is the credential of an agent registered with
// another Fleet manager: its kubeconfig talks to that manager, and the
// Fleet Cluster it names does not exist here.
func elsewhereCredential(server, clusterNS, cluster string) *corev1.Secret {
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: fleet\n  cluster:\n    server: %s\ncontexts:\n- name: fleet\n  context: {cluster: fleet, user: agent}\ncurrent-context: fleet\nusers:\n- name: agent\n  user: {token: not-shown}\n", server)
	s := agentCredential(cluster)
	s.Data["clusterNamespace"] = []byte(clusterNS)
	s.Data["kubeconfig"] = []byte(kc)
	return s
}

func TestEnrollReportsAClusterRegisteredWithAnotherManager(t *testing.T) {
	helm, dir := fakeHelm(t)
	f, others := enrollWorld(t)
	others["ctx-a"] = downstream("ctx-a", "uid-a", elsewhereCredential("https://other-fleet.example.com:6443", "cluster-fleet-default-x", "cluster-far"))
	f.Others = others
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--helm", helm)
	want := "the agent is registered with another Fleet manager (https://other-fleet.example.com:6443, as Cluster cluster-fleet-default-x/cluster-far): pass --reregister to move it to this one"
	if res.Exit != 1 || !strings.Contains(res.Stdout, fleet.StatusRegisteredElsewhere) || !strings.Contains(res.Stderr, want) ||
		!strings.Contains(res.Stderr, "--reregister") || strings.Contains(res.String(), "not-shown") {
		t.Fatalf("want %s and %q, got %s", fleet.StatusRegisteredElsewhere, want, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ctx-a.argv")); err == nil {
		t.Error("helm ran on a cluster of another manager")
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "create clusterregistrationtokens") {
			t.Errorf("a token was created for nothing to install: %q", f.Requests())
		}
	}
}

func TestEnrollLeavesRegisteredClustersAlone(t *testing.T) {
	helm, dir := fakeHelm(t)
	f, others := enrollWorld(t)
	others["ctx-a"] = downstream("ctx-a", "uid-a", agentCredential("cluster-old"))
	f.Others = others
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--token-name", "edge", "--ttl", "1h", "--helm", helm)
	if res.Exit != 0 || !strings.Contains(res.Stdout, "cluster-old") || !strings.Contains(res.Stdout, fleet.StatusAlreadyRegistered) || !strings.Contains(res.Stdout, "uid-a") {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ctx-a.argv")); err == nil {
		t.Error("helm ran on the registered cluster")
	}
	// All registered: no token at all.
	f, others = enrollWorld(t)
	for _, n := range []string{"ctx-a", "ctx-b"} {
		others[n] = downstream(n, "uid-"+n[4:], agentCredential("cluster-"+n))
	}
	res = run(t, f, "enroll", "ctx-a", "ctx-b", "--ttl", "1h", "--helm", helm)
	if res.Exit != 0 || !strings.Contains(res.Stderr, "no token was created") {
		t.Fatalf("%s", res)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "create clusterregistrationtokens") {
			t.Errorf("a token was created: %q", f.Requests())
		}
	}
}

func TestEnrollReregisterRestoresTheOldCredentialWhenTheNewRegistrationFails(t *testing.T) {
	helm, _ := fakeHelm(t)
	f, others := enrollWorld(t, registration("request-old", "edge", "uid-a", "cluster-aaaa", time.Hour))
	agent := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fleet.AgentRelease, "namespace": fleet.AgentNamespace}, "spec": map[string]any{}}}
	others["ctx-a"] = downstream("ctx-a", "uid-a", agentCredential("cluster-aaaa"), agent)
	// The restarted agent registers anew: the event is the restart, not a
	// time.
	restarted := false
	others["ctx-a"].Dyn.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !restarted {
			restarted = true
			_ = f.Dyn.Tracker().Add(registration("request-new", "edge", "uid-a", "", 0))
		}
		return false, nil, nil
	})
	f.Others = others
	// The old registration was granted; the new one is not, and nothing
	// grants it here: the run must not end on the old grant.
	expireWhen(t, "registration request-new waits for the Fleet controller")
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "--reregister", "--timeout", "10m")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "registration request-new waits for the Fleet controller") ||
		!strings.Contains(res.Stderr, "its previous credential (Cluster cluster-aaaa) was restored") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, sortedFirst(others["ctx-a"].Requests(), 2),
		"get namespaces kube-system",
		"get secrets cattle-fleet-system/fleet-agent",
		"get configmaps cattle-fleet-system/fleet-agent",
		"delete secrets cattle-fleet-system/fleet-agent",
		"patch deployments.apps cattle-fleet-system/fleet-agent",
		"delete secrets cattle-fleet-system/fleet-agent",
		"create secrets cattle-fleet-system/fleet-agent",
		"patch deployments.apps cattle-fleet-system/fleet-agent")
	if s, err := others["ctx-a"].Core.CoreV1().Secrets(fleet.AgentNamespace).Get(t.Context(), fleet.AgentCredentialSecret, metav1.GetOptions{}); err != nil || string(s.Data["clusterName"]) != "cluster-aaaa" {
		t.Errorf("the old credential is not back: %v %v", s, err)
	}
	got, err := others["ctx-a"].Dyn.Resource(fleet.DeploymentGVR).Namespace(fleet.AgentNamespace).Get(t.Context(), fleet.AgentRelease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if at, _, _ := unstructured.NestedString(got.Object, "spec", "template", "metadata", "annotations", fleet.RestartedAtAnnotation); at != testNow.Format(time.RFC3339) {
		t.Errorf("restartedAt %q", at)
	}
}

func TestEnrollOneFailingContextFailsAlone(t *testing.T) {
	helm, _ := fakeHelm(t)
	t.Setenv("FAKE_HELM_FAIL", "ctx-b")
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--token-name", "edge", "--ttl", "1h", "--helm", helm)
	if res.Exit != 1 {
		t.Fatalf("%s", res)
	}
	// The re-run hint repeats --helm, a temporary path here.
	golden(t, "enroll-partial", strings.ReplaceAll(byContext(res.String()), helm, "/path/to/helm"))
}

func TestEnrollWaitsByWatchForARegistrationMadeLater(t *testing.T) {
	helm, _ := fakeHelm(t)
	f, _ := enrollWorld(t, registration("request-other", "edge", "uid-zzz", "cluster-zzzz", 0))
	// The agent registers once enroll waits for it: an event, not a time.
	enrollChanged = func(_ *fleet.EnrolledCluster, state string) {
		if state == "waiting for the agent to register" {
			_ = f.Dyn.Tracker().Add(registration("request-a", "edge", "uid-a", "cluster-aaaa", 0))
		}
	}
	t.Cleanup(func() { enrollChanged = nil })
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "--timeout", "10m")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "cluster-aaaa") {
		t.Fatalf("%s", res)
	}
	if !slices.Contains(f.Requests(), "watch clusterregistrations.fleet.cattle.io fleet-default") {
		t.Errorf("no watch: %q", f.Requests())
	}
}

func TestEnrollTimeoutSaysTheMostLikelyCause(t *testing.T) {
	helm, _ := fakeHelm(t)
	for _, c := range []struct {
		name  string
		agent *unstructured.Unstructured
		want  string
	}{
		{"no agent Deployment", nil, "the agent is not running (no Deployment cattle-fleet-system/fleet-agent"},
		{"no available pod", &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": fleet.AgentRelease, "namespace": fleet.AgentNamespace}, "status": map[string]any{"availableReplicas": int64(0)}}},
			"Deployment cattle-fleet-system/fleet-agent has no available pod); look with kubectl describe deployment fleet-agent -n cattle-fleet-system --kubeconfig=/tmp/k --context=ctx-a"},
		{"agent runs", &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": fleet.AgentRelease, "namespace": fleet.AgentNamespace}, "status": map[string]any{"availableReplicas": int64(1)}}},
			"cannot reach the Fleet manager's apiServerURL (or does not trust its CA); look with kubectl logs deployment/fleet-agent -n cattle-fleet-system --kubeconfig=/tmp/k --context=ctx-a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, others := enrollWorld(t, registration("request-other", "edge", "uid-zzz", "cluster-zzzz", 0))
			if c.agent != nil {
				others["ctx-a"] = downstream("ctx-a", "uid-a", c.agent)
				f.Others = others
			}
			expireWhen(t, "waiting for the agent to register")
			res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "--timeout", "10m", "--kubeconfig", "/tmp/k")
			if res.Exit != 1 || !strings.Contains(res.Stderr, "error: not registered within --timeout 10m0s: "+strings.SplitN(c.want, "(", 2)[0]) && !strings.Contains(res.Stderr, c.want) {
				t.Fatalf("want %q in %s", c.want, res)
			}
			if !strings.Contains(res.Stderr, c.want) {
				t.Errorf("want %q in %s", c.want, res)
			}
		})
	}
}

func TestEnrollRefusesBeforeCreatingAnything(t *testing.T) {
	helm, _ := fakeHelm(t)
	for _, c := range []struct {
		name  string
		args  []string
		world func(*clitest.Factory)
		want  string
	}{
		{"unknown context", []string{"enroll", "ctx-x", "--ttl", "1h"}, nil, `context "ctx-x" does not exist in the merged kubeconfig`},
		{"the management context", []string{"enroll", "upstream", "--ttl", "1h"}, nil, `context "upstream" is the Fleet management cluster`},
		{"a context of the management server", []string{"enroll", "ctx-a", "--ttl", "1h"}, func(f *clitest.Factory) {
			f.Others["ctx-a"] = clitest.NewFactory(clitest.Options{Cluster: testCluster})
		}, `reaches the Fleet management cluster itself (server https://upstream.example.com:6443`},
		{"a context of the management cluster's kube-system", []string{"enroll", "ctx-a", "--ttl", "1h"}, func(f *clitest.Factory) {
			_ = f.Core.Tracker().Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "uid-a"}})
		}, `reaches the Fleet management cluster itself (kube-system UID uid-a)`},
		{"two contexts of one cluster", []string{"enroll", "ctx-a", "ctx-b", "--ttl", "1h"}, func(f *clitest.Factory) {
			f.Others["ctx-b"] = downstream("ctx-b", "uid-a")
		}, `contexts "ctx-a" and "ctx-b" reach the same cluster`},
		{"missing helm", []string{"enroll", "ctx-a", "--ttl", "1h", "--helm", "/nonexistent/helm"}, nil, "--helm /nonexistent/helm cannot be run"},
		{"shared client ID", []string{"enroll", "ctx-a", "ctx-b", "--ttl", "1h", "--client-id", "ctx-a=x", "--client-id", "ctx-b=x"}, nil, `would both get client ID "x" and become one Fleet Cluster`},
		{"plain client ID with two contexts", []string{"enroll", "ctx-a", "ctx-b", "--ttl", "1h", "--client-id", "x"}, nil, "with several contexts pass --client-id CONTEXT=ID"},
		{"client ID the chart cannot carry", []string{"enroll", "ctx-a", "--ttl", "1h", "--client-id", `a"b`}, nil, "without escaping"},
		{"TTL required", []string{"enroll", "ctx-a", "--ttl", "never"}, func(f *clitest.Factory) {
			_ = f.Dyn.Tracker().Update(fleet.DeploymentGVR, fleetController("rancher/fleet:v0.16.1", fleet.TtlRequiredEnv+"=true"), fleet.ControllerNamespace)
		}, "the Fleet controller requires a TTL (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true on Deployment cattle-fleet-system/fleet-controller) and deletes a token without one at once: pass --ttl"},
		{"both token flags", []string{"enroll", "ctx-a", "--token-name", "a", "--reuse-token", "b"}, nil, "--token-name and --reuse-token both given"},
		{"version for a local chart", []string{"enroll", "ctx-a", "--ttl", "1h", "--chart", "./chart.tgz", "--chart-version", "1.0.0"}, nil, "--chart ./chart.tgz"},
		{"repo URL for another chart", []string{"enroll", "ctx-a", "--ttl", "1h", "--chart", "oci://r.example.com/fleet-agent", "--repo-url", "https://x.example.com"}, nil, "--repo-url is the URL of the helm repository"},
		{"server dry run", []string{"enroll", "ctx-a", "--ttl", "1h", "--dry-run=server"}, nil, "--dry-run=server is not possible: helm and the registration have no server dry run"},
		{"zero parallel", []string{"enroll", "ctx-a", "--ttl", "1h", "--parallel", "0"}, nil, "--parallel 0 is less than 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, others := enrollWorld(t)
			if c.world != nil {
				c.world(f)
			}
			args := c.args
			if !slices.Contains(args, "--helm") {
				args = append(args, "--helm", helm)
			}
			res := run(t, f, args...)
			if res.Exit != 1 || !strings.Contains(res.Stderr, c.want) || strings.Count(res.Stderr, "\n") != 1 {
				t.Fatalf("want one error line with %q, got %s", c.want, res)
			}
			for _, d := range append([]*clitest.Factory{f}, others["ctx-a"], others["ctx-b"]) {
				for _, r := range d.Requests() {
					if !strings.HasPrefix(r, "get ") && !strings.HasPrefix(r, "create selfsubjectaccessreviews") {
						t.Errorf("%q sent before refusing", r)
					}
				}
			}
		})
	}
}

func TestEnrollPathWithoutHelmOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f, _ := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "--ttl", "1h")
	if res.Exit != 1 || res.Stderr != "error: helm is not on PATH: install helm (https://helm.sh/docs/intro/install/) or pass --helm PATH; nothing was created\n" {
		t.Fatalf("%s", res)
	}
	wantRequests(t, f.Requests())
}

// A grant is not the end: until the agent holds its credential, a second
// enroll would take the cluster for unregistered and wait in vain.
func TestEnrollWaitsForTheAgentsCredentialAfterTheGrant(t *testing.T) {
	helm, _ := fakeHelm(t)
	f, others := enrollWorld(t)
	others["ctx-a"] = downstream("ctx-a", "uid-a") // its agent never stores the credential
	f.Others = others
	expireWhen(t, "granted as cluster-aaaa; waiting for the agent to store its credential")
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "1h", "--helm", helm, "--timeout", "10m")
	want := "registration request-a was granted as cluster-aaaa, but the agent did not store its credential (Secret cattle-fleet-system/fleet-agent) within --timeout 10m0s"
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "kubectl logs deployment/fleet-agent -n cattle-fleet-system --context=ctx-a") {
		t.Fatalf("want %q and the logs hint:\n%s", want, res)
	}
}

func TestEnrollWarnsWhenTheTTLRequirementIsUnknown(t *testing.T) {
	helm, _ := fakeHelm(t)
	f := world{controller: fleetValues, noDeployment: true, dynamic: []runtime.Object{registration("request-a", "edge", "uid-a", "cluster-aaaa", 0)}}.factory(t)
	f.Others = map[string]*clitest.Factory{"ctx-a": agentStoresCredential(downstream("ctx-a", "uid-a"), "cluster-aaaa")}
	res := run(t, f, "enroll", "ctx-a", "--token-name", "edge", "--ttl", "never", "--helm", helm)
	if res.Exit != 0 || !strings.Contains(res.Stderr, "warning: whether the Fleet controller requires a TTL is unknown") ||
		!strings.Contains(res.Stderr, "note: the Fleet controller's version is unknown") {
		t.Fatalf("%s", res)
	}
}

func TestEnrollDryRunPrintsEveryCommandAndSendsNothing(t *testing.T) {
	f, others := enrollWorld(t)
	res := run(t, f, "enroll", "ctx-a", "ctx-b", "--ttl", "1h", "--client-id", "ctx-b=store-2", "--reregister", "--dry-run=client", "--helm", "/nonexistent")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "enroll-dry-run", res.String())
	wantRequests(t, f.Requests())
	wantRequests(t, others["ctx-a"].Requests())
}

func TestEnrollHelp(t *testing.T) {
	res := run(t, world{}.factory(t), "enroll", "--help")
	golden(t, "enroll-help", res.Stdout)
}

func TestImageVersion(t *testing.T) {
	for image, want := range map[string]string{
		"rancher/fleet:v0.16.1":                           "0.16.1",
		"registry.example.com:5000/rancher/fleet:v0.16.1": "0.16.1",
		"rancher/fleet:v0.16.0-rc.2@sha256:abc":           "0.16.0-rc.2",
		"rancher/fleet:dev":                               "",
		"rancher/fleet":                                   "",
		"registry.example.com:5000/rancher/fleet":         "",
		"rancher/fleet:latest":                            "",
	} {
		if got := fleet.ImageVersion(image); got != want {
			t.Errorf("imageVersion(%q) = %q, want %q", image, got, want)
		}
	}
}

// sortedFirst sorts the first n requests: reads that run at once arrive
// in any order.
func sortedFirst(reqs []string, n int) []string {
	out := slices.Clone(reqs)
	slices.Sort(out[:min(n, len(out))])
	return out
}

// expireWhen makes the next enroll's --timeout run out the moment a
// cluster reaches state: the timeout paths are driven by the event they
// wait for, never by the clock (a short --timeout failed under -race and
// load).
func expireWhen(t *testing.T, state string) {
	t.Helper()
	expired := make(chan struct{})
	var once sync.Once
	enrollDeadline = func(parent context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		return deadlineOn{ctx, expired}, cancel
	}
	enrollChanged = func(_ *fleet.EnrolledCluster, s string) {
		if s == state {
			once.Do(func() { close(expired) })
		}
	}
	t.Cleanup(func() { enrollDeadline, enrollChanged = nil, nil })
}

// deadlineOn is a context whose deadline passes when expired closes.
type deadlineOn struct {
	context.Context
	expired chan struct{}
}

func (c deadlineOn) Done() <-chan struct{} { return c.expired }

func (c deadlineOn) Err() error {
	select {
	case <-c.expired:
		return context.DeadlineExceeded
	default:
		return c.Context.Err()
	}
}
