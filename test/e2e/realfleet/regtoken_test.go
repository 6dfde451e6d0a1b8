//go:build e2e

package realfleet

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/realfleet"
)

// The limits below are generous bounds for a loaded 2-core machine, not
// budgets: a registration takes seconds, a replaced agent waits out its
// predecessor's 30 s Lease before it registers (§8.3).
const (
	registerLimit = 3 * time.Minute
	takeoverLimit = 5 * time.Minute
)

// create → the helm argv create prints, run by the real helm with the
// archive's fleet-agent chart → the real agent registers and regtoken get
// shows it. helm runs without --wait: nothing here makes ReplicaSets, so
// helm's readiness check would never pass.
func TestThePrintedHelmCommandRegistersTheCluster(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "printed")
	r := newRunner(t)
	res := regtoken(r, "create", "edge-printed", "-n", ns, "--ttl", "1h", "--label", "env=e2e", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("create: %s", res)
	}
	var created struct{ Helm []string }
	if err := json.Unmarshal([]byte(res.Stdout), &created); err != nil {
		t.Fatalf("create -o json: %v\n%s", err, res.Stdout)
	}
	c := down.Clusters[printed]
	argv := []string{"--kube-context", c.Name, "--kubeconfig", kubeconfig}
	for _, a := range created.Helm[1:] {
		switch a {
		case "--wait":
		case "fleet/fleet-agent":
			argv = append(argv, real.Bin.AgentChart())
		default:
			argv = append(argv, a)
		}
	}
	helm := exec.Command(real.Bin.Helm, argv...)
	helm.Dir = r.Dir
	home := t.TempDir()
	helm.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "HELM_CACHE_HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_DATA_HOME=" + home}
	var out bytes.Buffer
	helm.Stdout, helm.Stderr = &out, &out
	if err := helm.Run(); err != nil {
		t.Fatalf("the real helm refused the printed command %q: %v\n%s", argv, err, out.String())
	}
	cluster := fleet.ClusterName(kubeSystemUID(t, printed))
	reg := grantedRegistration(t, ns, "edge-printed", registerLimit)
	if got, _, _ := unstructured.NestedString(reg.Object, "status", "clusterName"); got != cluster {
		t.Errorf("registration %s: cluster %q, want %q", reg.GetName(), got, cluster)
	}
	agentCredential(t, printed, cluster, registerLimit)
	get := regtoken(newRunner(t), "get", "edge-printed", "-n", ns)
	if get.Code != 0 || !strings.Contains(get.Stdout, reg.GetName()) || !strings.Contains(get.Stdout, cluster) {
		t.Errorf("regtoken get does not show %s (%s):\n%s", reg.GetName(), cluster, get)
	}
}

// enroll of two clusters on the real Fleet; a re-run leaves them alone;
// get, describe and list -o wide show the registrations; after Fleet
// took the agent over into its own helm release, --reregister registers
// the cluster again with a new token.
func TestEnrollOnTheRealFleet(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "enroll")
	a, b := down.Clusters[enrollA], down.Clusters[enrollB]
	enroll := func(args ...string) (res struct {
		Code           int
		Stdout, Stderr string
	}) {
		out := regtoken(newRunner(t), append([]string{"enroll", "-n", ns, "--chart", real.Bin.AgentChart(), "--helm", real.Bin.Helm}, args...)...)
		res.Code, res.Stdout, res.Stderr = out.Code, out.Stdout, out.Stderr
		return res
	}
	clusterA, clusterB := fleet.ClusterName(kubeSystemUID(t, enrollA)), fleet.ClusterName(kubeSystemUID(t, enrollB))
	var got struct {
		Token    string
		Created  bool
		Clusters []struct{ Context, ClientID, Cluster, Status, Registration string }
	}

	t.Run("two clusters register", func(t *testing.T) {
		started := time.Now()
		res := enroll(a.Name, b.Name, "--token-name", "edge", "--ttl", "1h", "--keep-token", "--label", "env=e2e", "--timeout", "4m", "-o", "json")
		if res.Code != 0 {
			t.Fatalf("enroll: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
		}
		t.Logf("enroll of 2 clusters on the real Fleet took %s", time.Since(started).Round(time.Millisecond))
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
		}
		if got.Token != "edge" || !got.Created || len(got.Clusters) != 2 {
			t.Fatalf("result %+v", got)
		}
		for i, want := range []struct{ ctx, cluster string }{{a.Name, clusterA}, {b.Name, clusterB}} {
			if c := got.Clusters[i]; c.Context != want.ctx || c.Status != "Registered" || c.Cluster != want.cluster || c.Registration == "" {
				t.Errorf("%s: %+v, want cluster %s", want.ctx, c, want.cluster)
			}
		}
		for i, cluster := range map[int]string{enrollA: clusterA, enrollB: clusterB} {
			agentCredential(t, i, cluster, time.Second) // there when enroll returned
		}
	})

	t.Run("get describe and list -o wide show the registrations", func(t *testing.T) {
		for _, verb := range []string{"get", "describe"} {
			res := regtoken(newRunner(t), verb, "edge", "-n", ns)
			for _, c := range got.Clusters {
				if res.Code != 0 || !strings.Contains(res.Stdout, c.Registration) || !strings.Contains(res.Stdout, c.Cluster) {
					t.Errorf("regtoken %s does not show %s's registration %s:\n%s", verb, c.Context, c.Registration, res)
				}
			}
		}
		wide := regtoken(newRunner(t), "list", "-n", ns, "-o", "wide")
		lines := strings.Split(strings.TrimSpace(wide.Stdout), "\n")
		if wide.Code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[0], "REGISTERED") || !strings.HasSuffix(lines[1], " 2") {
			t.Errorf("list -o wide does not count 2 registrations:\n%s", wide)
		}
	})

	t.Run("a re-run reports them registered and creates nothing", func(t *testing.T) {
		res := enroll(a.Name, b.Name, "--ttl", "1h", "--timeout", "2m")
		if res.Code != 0 || strings.Count(res.Stdout, "AlreadyRegistered") != 2 || !strings.Contains(res.Stderr, "no token was created") {
			t.Fatalf("second enroll: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
		}
		list, err := dyn.Resource(realfleet.TokenGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(list.Items) != 1 {
			t.Errorf("tokens after the re-run: %d (want only edge): %v", len(list.Items), err)
		}
	})

	t.Run("reregister after Fleet took the agent over", func(t *testing.T) {
		takenOver(t, enrollA, clusterA, takeoverLimit)
		before := agents[enrollA].Starts("cattle-fleet-system", "fleet-agent")
		res := enroll(a.Name, "--token-name", "edge-2", "--ttl", "1h", "--reregister", "--timeout", "4m", "-o", "json")
		if res.Code != 0 {
			t.Fatalf("--reregister: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
		}
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
		}
		if len(got.Clusters) != 1 || got.Clusters[0].Status != "Registered" || got.Clusters[0].Cluster != clusterA {
			t.Errorf("--reregister: %+v, want %s registered again", got, clusterA)
		}
		reg := grantedRegistration(t, ns, "edge-2", time.Second)
		if reg.GetName() != got.Clusters[0].Registration {
			t.Errorf("registration with edge-2 is %s, enroll reported %s", reg.GetName(), got.Clusters[0].Registration)
		}
		if after := agents[enrollA].Starts("cattle-fleet-system", "fleet-agent"); after <= before {
			t.Errorf("the agent's pod was not replaced (%d starts before, %d after)", before, after)
		}
	})
}

// An expired token: the agent starts only after the real controller
// deleted the token at its expiry, gets 401 and never registers; enroll
// says the token expired.
func TestEnrollWithATokenThatExpiresBeforeTheAgentStarts(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "expired")
	c := down.Clusters[expired]
	agents[expired].Hold("cattle-fleet-system", "fleet-agent")
	cmd := newRunner(t).Command(context.Background(), "kubectl", "regtoken", "enroll", c.Name, "--kubeconfig", kubeconfig, "-n", ns,
		"--chart", real.Bin.AgentChart(), "--helm", real.Bin.Helm, "--token-name", "short", "--ttl", "8s", "--timeout", "90s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	until(t, "the token short", time.Minute, dynamicLW(realfleet.TokenGVR, ns, byName("short")), &unstructured.Unstructured{}, func(runtime.Object) bool { return true })
	untilGone(t, "the expired token short", time.Minute, dynamicLW(realfleet.TokenGVR, ns, byName("short")), &unstructured.Unstructured{})
	agents[expired].Release("cattle-fleet-system", "fleet-agent")
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "was deleted (expired, or by hand) before the agent registered, so its registration cannot be granted") {
		t.Fatalf("enroll with a token that expired: exit %d (%v)\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	if n := strings.Count(stderr.String(), "error: "); n != 1 {
		t.Errorf("want one error line, got %d:\n%s", n, stderr.String())
	}
}

// An apiServerURL the agent cannot reach: the real agent runs and
// retries; enroll says the URL is the likely cause and how to look.
func TestEnrollWithAnUnreachableAPIServerURL(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "unreachable")
	c := down.Clusters[unreachble]
	res := regtoken(newRunner(t), "enroll", c.Name, "-n", ns, "--chart", real.Bin.AgentChart(), "--helm", real.Bin.Helm,
		"--ttl", "1h", "--api-server-url", "https://127.0.0.1:1", "--timeout", "30s")
	want := "the agent runs but has not registered: most likely it cannot reach the Fleet manager's apiServerURL (or does not trust its CA); look with kubectl logs deployment/fleet-agent -n cattle-fleet-system --kubeconfig=" + kubeconfig + " --context=" + c.Name
	if res.Code != 1 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("want %q in %s", want, res)
	}
	if n := strings.Count(res.Stderr, "error: "); n != 1 {
		t.Errorf("want one error line, got %d:\n%s", n, res.Stderr)
	}
	if agents[unreachble].PodName("cattle-fleet-system", "fleet-agent") == "" {
		t.Error("no agent pod runs on the plane: the failure is not the URL's")
	}
}

// A controller with controller.registrationTokenTTL.required refuses a
// token without a TTL before anything is created (the real controller
// would delete it silently).
func TestTTLRequiredControllerRefusesATTLLessTokenBeforeCreatingIt(t *testing.T) {
	logsOnFailure(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := real.SetTTLRequired(ctx, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := real.SetTTLRequired(ctx, false); err != nil {
			t.Errorf("turning the TTL requirement off again: %v", err)
		}
	})
	ns := newNamespace(t, "ttlreq")
	res := regtoken(newRunner(t), "create", "no-ttl", "-n", ns)
	if res.Code != 1 || strings.Count(res.Stderr, "\n") != 1 || !strings.Contains(res.Stderr, "TTL") || res.Stdout != "" {
		t.Errorf("create without --ttl: want one error line about the TTL, got %s", res)
	}
	list, err := dyn.Resource(realfleet.TokenGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Errorf("tokens after the refusal: %v %v", list, err)
	}
	res = regtoken(newRunner(t), "create", "with-ttl", "-n", ns, "--ttl", "1h", "--values-file", "v.yaml")
	if res.Code != 0 {
		t.Errorf("create --ttl 1h on a TTL-required controller: %s", res)
	}
}
