//go:build e2e

package rancherimport

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// clusterIDs reads the management IDs of the workspace's provisioning
// clusters by name.
func clusterIDs(t *testing.T, ws string) map[string]string {
	t.Helper()
	list, err := dynamic.NewForConfigOrDie(env.Config).Resource(rancher.ProvisioningClustersGVR).Namespace(ws).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, u := range list.Items {
		ids[u.GetName()], _, _ = unstructured.NestedString(u.Object, "status", "clusterName")
	}
	return ids
}

// tokensOf reads every import token (current and previous) of the
// clusters, to check none leaks into output.
func tokensOf(t *testing.T, ids map[string]string) []string {
	t.Helper()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	var out []string
	for _, id := range ids {
		crt, err := dyn.Resource(rancher.ImportTokensGVR).Namespace(id).Get(context.Background(), rancher.DefaultTokenName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tok, _, _ := unstructured.NestedString(crt.Object, "status", "token"); tok != "" {
			out = append(out, tok)
		}
		s, err := kube.CoreV1().Secrets(id).Get(context.Background(), rancher.TokenSecretPrefix+rancher.DefaultTokenName, metav1.GetOptions{})
		if err == nil {
			out = append(out, string(s.Data["token"]), string(s.Data["previousToken"]))
		}
	}
	return out
}

// statusLines maps CONTEXT to STATUS from import's table.
func statusLines(t *testing.T, res plugintest.Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "CONTEXT") {
		t.Fatalf("no table on stdout:\n%s", res)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		out[f[0]] = f[len(f)-1]
	}
	return out
}

func wantStatus(t *testing.T, res plugintest.Result, want map[string]string) {
	t.Helper()
	got := statusLines(t, res)
	for ctx, st := range want {
		if got[ctx] != st {
			t.Errorf("context %s: status %q, want %q:\n%s", ctx, got[ctx], st, res)
		}
	}
}

// agentManagedByUs checks the downstream agent Deployment was applied
// server-side with our field manager.
func agentManagedByUs(t *testing.T, i int) {
	t.Helper()
	d, err := kubernetes.NewForConfigOrDie(downSet.Clusters[i].Config).AppsV1().Deployments(rancher.AgentNamespace).Get(context.Background(), rancher.AgentDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range d.ManagedFields {
		if mf.Manager == "kubectl-regtoken" && mf.Operation == metav1.ManagedFieldsOperationApply {
			return
		}
	}
	t.Errorf("Deployment %s/%s on %s was not applied server-side by kubectl-regtoken: %+v", rancher.AgentNamespace, rancher.AgentDeployment, downSet.Clusters[i].Name, d.ManagedFields)
}

func TestImportMakesTwoClustersActiveOnEveryRelease(t *testing.T) {
	downstreams(t)
	for _, r := range rancher.Releases {
		t.Run(string(r), func(t *testing.T) {
			im := startRancher(t, rancher.ImportOptions{Release: r, Delay: 100 * time.Millisecond})
			agents := startAgents(t, im)
			ws := im.Workspace()
			res := regtoken(t, "import", "edge-1", "edge-2", "-n", ws, "--label", "env=e2e")
			if res.Code != 0 {
				t.Fatalf("import: %s", res)
			}
			wantStatus(t, res, map[string]string{"edge-1": "Active", "edge-2": "Active"})
			ids := clusterIDs(t, ws)
			noSecrets(t, res, tokensOf(t, ids)...)
			for i, a := range agents {
				if s := a.Status(); s.State != rancher.AgentConnected || s.Cluster != ids[downSet.Clusters[i].Name] {
					t.Errorf("agent on %s: %+v, want connected as %s", downSet.Clusters[i].Name, s, ids[downSet.Clusters[i].Name])
				}
				agentManagedByUs(t, i)
			}
			prov, err := dynamic.NewForConfigOrDie(env.Config).Resource(rancher.ProvisioningClustersGVR).Namespace(ws).Get(context.Background(), "edge-1", metav1.GetOptions{})
			if err != nil || prov.GetLabels()["env"] != "e2e" {
				t.Errorf("Rancher cluster edge-1 lacks label env=e2e: %v %v", prov.GetLabels(), err)
			}

			// A re-run leaves Active clusters with their agent alone.
			res = regtoken(t, "import", "edge-1", "edge-2", "-n", ws)
			if res.Code != 0 {
				t.Fatalf("re-run: %s", res)
			}
			wantStatus(t, res, map[string]string{"edge-1": "AlreadyActive", "edge-2": "AlreadyActive"})

			// A lost agent: the re-run applies the manifest again.
			err = kubernetes.NewForConfigOrDie(downSet.Clusters[0].Config).AppsV1().Deployments(rancher.AgentNamespace).Delete(context.Background(), rancher.AgentDeployment, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			res = regtoken(t, "import", "edge-1", "edge-2", "-n", ws)
			if res.Code != 0 {
				t.Fatalf("repair: %s", res)
			}
			wantStatus(t, res, map[string]string{"edge-1": "Active", "edge-2": "AlreadyActive"})
			noSecrets(t, res, tokensOf(t, ids)...)
		})
	}
}

func TestImportSurvivesATokenRotatedDuringTheRun(t *testing.T) {
	downstreams(t)
	for _, c := range []struct {
		name       string
		pastGrace  bool
		wantImport int // /v3/import requests per cluster
	}{
		{"within the grace period the fetched token still works", false, 1},
		{"past the grace period import reads the new token and fetches again", true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var im *rancher.Importer
			var mu sync.Mutex
			rotated := map[string]bool{}
			im = startRancher(t, rancher.ImportOptions{Release: rancher.R2_15_0, BeforeImport: func(id string) {
				mu.Lock()
				defer mu.Unlock()
				if rotated[id] {
					return
				}
				rotated[id] = true
				if err := im.Rotate(context.Background(), id); err != nil {
					t.Errorf("rotating %s: %v", id, err)
				}
				if c.pastGrace {
					im.Advance(3*time.Hour + time.Minute)
				}
			}})
			startAgents(t, im)
			res := regtoken(t, "import", "edge-1", "edge-2", "-n", im.Workspace(), "-o", "json")
			if res.Code != 0 {
				t.Fatalf("import: %s", res)
			}
			noSecrets(t, res, tokensOf(t, clusterIDs(t, im.Workspace()))...)
			if !strings.Contains(res.Stdout, `"status": "Active"`) || strings.Count(res.Stdout, `"tokenExpires"`) != 2 {
				t.Errorf("result: %s", res.Stdout)
			}
			fetches := 0
			for _, r := range im.Requests() {
				if strings.HasPrefix(r.Path, "/v3/import/") {
					fetches++
				}
			}
			if fetches != 2*c.wantImport {
				t.Errorf("%d manifest requests, want %d: %+v", fetches, 2*c.wantImport, im.Requests())
			}
		})
	}
}

func TestImportReportsAProxyBlockingTheRouteAndARerunFinishes(t *testing.T) {
	downstreams(t)
	im := startRancher(t, rancher.ImportOptions{Release: rancher.R2_12_12})
	startAgents(t, im)
	ws := im.Workspace()
	im.RouteAnswer(403)
	res := regtoken(t, "import", "edge-1", "edge-2", "-n", ws)
	if res.Code != 1 {
		t.Fatalf("want exit 1: %s", res)
	}
	wantStatus(t, res, map[string]string{"edge-1": "Failed", "edge-2": "Failed"})
	last := strings.TrimSpace(res.Stderr[strings.LastIndex(strings.TrimSpace(res.Stderr), "\n")+1:])
	for _, want := range []string{"error: imported 0 of 2; failed: edge-1: ", "403 Forbidden", "kubectl regtoken import edge-1 edge-2 -n " + ws + " --kubeconfig=" + kubeconfig, "kubectl delete clusters.provisioning.cattle.io -n " + ws + " edge-1 edge-2"} {
		if !strings.Contains(last, want) {
			t.Errorf("the error line lacks %q:\n%s", want, last)
		}
	}
	im.RouteAnswer(0)
	res = regtoken(t, "import", "edge-1", "edge-2", "-n", ws)
	if res.Code != 0 {
		t.Fatalf("re-run: %s", res)
	}
	wantStatus(t, res, map[string]string{"edge-1": "Active", "edge-2": "Active"})
}

func TestImportListAndCommandShowStateExpiryAndTheTokenOnlyWhenAsked(t *testing.T) {
	downstreams(t)
	im := startRancher(t, rancher.ImportOptions{Release: rancher.R2_15_0})
	startAgents(t, im)
	ws := im.Workspace()
	if res := regtoken(t, "import", "edge-1", "edge-2", "-n", ws); res.Code != 0 {
		t.Fatalf("import: %s", res)
	}
	ids := clusterIDs(t, ws)
	tokens := tokensOf(t, ids)

	res := regtoken(t, "import", "list", "-n", ws)
	if res.Code != 0 || !strings.Contains(res.Stdout, "TOKEN-EXPIRES") || strings.Count(res.Stdout, "Active") != 2 || !strings.Contains(res.Stdout, ids["edge-1"]) {
		t.Fatalf("list: %s", res)
	}
	noSecrets(t, res, tokens...)
	if res := regtoken(t, "import", "list", "-n", ws, "--expiring-within", "1d", "--fail-if-any"); res.Code != 0 {
		t.Errorf("no token rotates within a day: %s", res)
	}
	if err := im.Rotate(context.Background(), ids["edge-2"]); err != nil {
		t.Fatal(err)
	}
	res = regtoken(t, "import", "list", "-n", ws, "--expiring-within", "1d", "--fail-if-any")
	if res.Code != 3 || !strings.Contains(res.Stdout, "edge-2") || strings.Contains(res.Stdout, "edge-1") {
		t.Errorf("edge-2's previous token is in its grace period: %s", res)
	}

	res = regtoken(t, "import", "command", "edge-1", "-n", ws)
	if res.Code != 0 || !strings.Contains(res.Stdout, "/v3/import/<token>_"+ids["edge-1"]+".yaml") {
		t.Fatalf("command: %s", res)
	}
	noSecrets(t, res, tokens...)
	res = regtoken(t, "import", "command", "edge-1", "-n", ws, "--show-token")
	if res.Code != 0 || !strings.Contains(res.Stdout, "rancher-ca.pem") || !strings.Contains(res.Stderr, "credential") {
		t.Fatalf("command --show-token: %s", res)
	}
	shown := false
	for _, tok := range tokensOf(t, map[string]string{"edge-1": ids["edge-1"]}) {
		shown = shown || (tok != "" && strings.Contains(res.Stdout, tok))
	}
	if !shown {
		t.Errorf("--show-token printed no token: %s", res)
	}
}
