//go:build e2e

package realfleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

var clusterGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusters"}

// checkInLimit bounds a manager-mode registration and a redeploy: Fleet
// deploys the agent in seconds, its first check-in comes ~25 s later, a
// redeployed agent waits out its predecessor's lease (§8.11).
const checkInLimit = 4 * time.Minute

// enroll --mode manager of two planes on the real Fleet: Fleet's own
// controller deploys the agents (no helm here) and they check in;
// clusters lists both with their contexts; repair redeploys one; remove
// leaves nothing of either on either side.
func TestManagerModeLifecycleOnTheRealFleet(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "manager")
	a, b := down.Clusters[managerA], down.Clusters[managerB]
	var got struct {
		Mode     string
		Clusters []struct{ Context, ClientID, Cluster, Status, KubeconfigSecret, CredentialExpires string }
	}

	t.Run("enroll --mode manager registers both through Fleet's controller", func(t *testing.T) {
		started := time.Now()
		res := regtoken(newRunner(t), "enroll", a.Name, b.Name, "-n", ns, "--mode", "manager", "--credential-ttl", "30d", "--label", "env=e2e", "--timeout", checkInLimit.String(), "-o", "json")
		if res.Code != 0 {
			t.Fatalf("enroll --mode manager: %s", res)
		}
		t.Logf("enroll --mode manager of 2 clusters on the real Fleet took %s (until both agents checked in)", time.Since(started).Round(time.Millisecond))
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.Stdout)
		}
		if got.Mode != "manager" || len(got.Clusters) != 2 {
			t.Fatalf("result %+v", got)
		}
		for i, plane := range []int{managerA, managerB} {
			c := got.Clusters[i]
			if c.Context != down.Clusters[plane].Name || c.Status != "Registered" || c.ClientID != kubeSystemUID(t, plane) || c.KubeconfigSecret != c.Cluster+"-kubeconfig" || c.CredentialExpires == "" {
				t.Errorf("%+v", c)
			}
			// The real agent Fleet deployed holds its credential.
			agentCredential(t, plane, c.Cluster, time.Second)
		}
	})

	t.Run("a re-run skips both and updates their labels", func(t *testing.T) {
		res := regtoken(newRunner(t), "enroll", a.Name, b.Name, "-n", ns, "--mode", "manager", "--label", "env=e2e-2", "--timeout", "1m")
		if res.Code != 0 || strings.Count(res.Stdout, "AlreadyRegistered") != 2 {
			t.Fatalf("re-run: %s", res)
		}
		for _, c := range got.Clusters {
			cl, err := dyn.Resource(clusterGVR).Namespace(ns).Get(context.Background(), c.Cluster, metav1.GetOptions{})
			if err != nil || cl.GetLabels()["env"] != "e2e-2" {
				t.Errorf("Cluster %s labels after the re-run: %v (%v)", c.Cluster, cl.GetLabels(), err)
			}
		}
	})

	t.Run("clusters lists both with their contexts", func(t *testing.T) {
		res := regtoken(newRunner(t), "clusters", "-n", ns, "-o", "json")
		var list struct {
			Items []struct {
				Metadata                                                    struct{ Name string }
				Mode, Ready, AgentLastSeen, RegisteredBy, Context, ClientID string
			}
		}
		if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &list) != nil || len(list.Items) != 2 {
			t.Fatalf("clusters -o json: %s", res)
		}
		for i, item := range list.Items {
			c := got.Clusters[i]
			if item.Metadata.Name != c.Cluster || item.Mode != "manager" || item.AgentLastSeen == "" || item.RegisteredBy != "secret/"+c.KubeconfigSecret || item.Context != c.Context {
				t.Errorf("clusters item %+v, want cluster %s of context %s", item, c.Cluster, c.Context)
			}
		}
		table := regtoken(newRunner(t), "clusters", "-n", ns)
		if table.Code != 0 || !strings.Contains(table.Stdout, a.Name) || !strings.Contains(table.Stdout, b.Name) {
			t.Errorf("clusters:\n%s", table)
		}
	})

	t.Run("repair redeploys the agent and waits for its check-in", func(t *testing.T) {
		before := agents[managerA].Starts("cattle-fleet-system", "fleet-agent")
		started := time.Now()
		res := regtoken(newRunner(t), "repair", a.Name, "-n", ns, "--timeout", checkInLimit.String())
		if res.Code != 0 || !strings.Contains(res.Stdout, "Repaired") {
			t.Fatalf("repair: %s", res)
		}
		t.Logf("repair (redeploy) took %s", time.Since(started).Round(time.Millisecond))
		if after := agents[managerA].Starts("cattle-fleet-system", "fleet-agent"); after <= before {
			t.Errorf("the agent was not redeployed (%d starts before, %d after)", before, after)
		}
	})

	t.Run("remove leaves nothing behind on either side", func(t *testing.T) {
		dry := regtoken(newRunner(t), "remove", a.Name, b.Name, "-n", ns, "--dry-run")
		if dry.Code != 0 || !strings.Contains(dry.Stdout, "deployment.apps/fleet-agent deleted from namespace cattle-fleet-system on context "+a.Name+" (dry run)") {
			t.Fatalf("remove --dry-run: %s", dry)
		}
		for _, plane := range []int{managerA, managerB} {
			if left := leftovers(t, plane); len(left) == 0 {
				t.Fatalf("a dry run removed the agent of %s", down.Clusters[plane].Name)
			}
		}
		res := regtoken(newRunner(t), "remove", a.Name, b.Name, "-n", ns)
		if res.Code != 0 {
			t.Fatalf("remove: %s", res)
		}
		for i, plane := range []int{managerA, managerB} {
			c := got.Clusters[i]
			untilGone(t, "Fleet Cluster "+c.Cluster, 2*time.Minute, dynamicLW(clusterGVR, ns, byName(c.Cluster)), &unstructured.Unstructured{})
			if _, err := kube.CoreV1().Secrets(ns).Get(context.Background(), c.KubeconfigSecret, metav1.GetOptions{}); err == nil {
				t.Errorf("the kubeconfig Secret %s/%s is left", ns, c.KubeconfigSecret)
			}
			if left := leftovers(t, plane); len(left) > 0 {
				t.Errorf("left on %s after remove: %s", down.Clusters[plane].Name, strings.Join(left, ", "))
			}
		}
	})
}

// An agent-mode cluster (helm install from here) is removed on both
// sides too: both helm releases' objects and records downstream, the
// Cluster upstream.
func TestRemoveOfAnAgentModeClusterOnTheRealFleet(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "remove-agent")
	c := down.Clusters[removeAgent]
	cluster := fleet.ClusterName(kubeSystemUID(t, removeAgent))
	res := regtoken(newRunner(t), "enroll", c.Name, "-n", ns, "--chart", real.Bin.AgentChart(), "--helm", real.Bin.Helm, "--ttl", "1h", "--timeout", checkInLimit.String())
	if res.Code != 0 {
		t.Fatalf("enroll: %s", res)
	}
	takenOver(t, removeAgent, cluster, takeoverLimit)
	list := regtoken(newRunner(t), "clusters", "-n", ns)
	if list.Code != 0 || !strings.Contains(list.Stdout, cluster) || !strings.Contains(list.Stdout, " agent ") || !strings.Contains(list.Stdout, c.Name) {
		t.Errorf("clusters does not show %s (agent mode, context %s):\n%s", cluster, c.Name, list)
	}
	res = regtoken(newRunner(t), "remove", cluster, "-n", ns)
	if res.Code != 0 || !strings.Contains(res.Stdout, "cluster.fleet.cattle.io/"+cluster+" deleted from namespace "+ns) {
		t.Fatalf("remove: %s", res)
	}
	untilGone(t, "Fleet Cluster "+cluster, 2*time.Minute, dynamicLW(clusterGVR, ns, byName(cluster)), &unstructured.Unstructured{})
	if left := leftovers(t, removeAgent); len(left) > 0 {
		t.Errorf("left on %s after remove: %s", c.Name, strings.Join(left, ", "))
	}
}

// leftovers are the agent's and the credential's objects on plane i. The
// namespace may stay Terminating: these planes run no namespace
// controller, which on a real cluster finishes its deletion.
func leftovers(t *testing.T, i int) []string {
	t.Helper()
	ctx := context.Background()
	k := downClient(i)
	var left []string
	add := func(kind string, names ...string) {
		for _, n := range names {
			left = append(left, kind+"/"+n)
		}
	}
	const ns = "cattle-fleet-system"
	if d, err := k.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range d.Items {
			add("deployment", x.Name)
		}
	}
	if s, err := k.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range s.Items {
			add("secret", x.Name)
		}
	}
	if s, err := k.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range s.Items {
			add("configmap", x.Name)
		}
	}
	if s, err := k.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range s.Items {
			add("serviceaccount", x.Name)
		}
	}
	if s, err := k.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range s.Items {
			add("networkpolicy", x.Name)
		}
	}
	if n, err := k.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.DeletionTimestamp == nil {
		add("namespace", ns)
	}
	if r, err := k.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range r.Items {
			if strings.Contains(x.Name, "fleet-agent") || x.Name == "kubectl-regtoken-fleet" {
				add("clusterrole", x.Name)
			}
		}
	}
	if r, err := k.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{}); err == nil {
		for _, x := range r.Items {
			if strings.Contains(x.Name, "fleet-agent") || x.Name == "kubectl-regtoken-fleet" {
				add("clusterrolebinding", x.Name)
			}
		}
	}
	if _, err := k.CoreV1().ServiceAccounts("kube-system").Get(ctx, "kubectl-regtoken-fleet", metav1.GetOptions{}); err == nil {
		add("serviceaccount", "kube-system/kubectl-regtoken-fleet")
	}
	if agents[i].PodName(ns, "fleet-agent") != "" {
		left = append(left, fmt.Sprintf("a running agent pod %s", agents[i].PodName(ns, "fleet-agent")))
	}
	return left
}
