//go:build e2e

package rancher_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

var workspaceCounter int

// startImport runs the import side of release in a workspace of its own.
func startImport(t *testing.T, r rancher.Release) *rancher.Importer {
	t.Helper()
	workspaceCounter++
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	im, err := rancher.StartImport(ctx, env.Config, rancher.ImportOptions{Release: r, Workspace: fmt.Sprintf("ws-%d", workspaceCounter)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.Stop)
	return im
}

// importedCluster creates a provisioning cluster in im's workspace and
// waits for its management ID and import token; it returns the ID and the
// token read where the release keeps it.
func importedCluster(t *testing.T, im *rancher.Importer, ws, name string) (id, token string, crt *unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	prov := dyn.Resource(rancher.ProvisioningClustersGVR).Namespace(ws)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "provisioning.cattle.io/v1", "kind": "Cluster",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{},
	}}
	if _, err := prov.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := wait.Until(ctx, wait.ByName(prov, name), "", func(ev watch.Event) (bool, error) {
		u, _ := ev.Object.(*unstructured.Unstructured)
		if u == nil {
			return false, nil
		}
		id, _, _ = unstructured.NestedString(u.Object, "status", "clusterName")
		return id != "", nil
	})
	if err != nil {
		t.Fatalf("no management ID for %s: %v", name, err)
	}
	crts := dyn.Resource(rancher.ImportTokensGVR).Namespace(id)
	ev, err := wait.Until(ctx, wait.ByName(crts, rancher.DefaultTokenName), "", func(ev watch.Event) (bool, error) {
		_, ok := ev.Object.(*unstructured.Unstructured)
		return ok && ev.Type != watch.Deleted, nil
	})
	if err != nil {
		t.Fatalf("no import token for %s: %v", id, err)
	}
	crt = ev.Object.(*unstructured.Unstructured)
	token = tokenOf(t, crt)
	return id, token, crt
}

// tokenOf reads the token as §13 says: the Secret status.tokenSecretName
// names, else status.token.
func tokenOf(t *testing.T, crt *unstructured.Unstructured) string {
	t.Helper()
	if name, _, _ := unstructured.NestedString(crt.Object, "status", "tokenSecretName"); name != "" {
		s, err := kubernetes.NewForConfigOrDie(env.Config).CoreV1().Secrets(crt.GetNamespace()).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(s.Data["token"])
	}
	tok, _, _ := unstructured.NestedString(crt.Object, "status", "token")
	return tok
}

// fetch GETs path from im over HTTPS trusting its CA.
func fetch(t *testing.T, im *rancher.Importer, path string) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(im.CAPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get(im.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestImportTokenIsWhereEachReleaseKeepsIt(t *testing.T) {
	for _, r := range rancher.Releases {
		t.Run(string(r), func(t *testing.T) {
			im := startImport(t, r)
			id, token, crt := importedCluster(t, im, im.Workspace(), "edge")
			if !strings.HasPrefix(id, "c-m-") || len(token) != 54 {
				t.Fatalf("management ID %q, token of %d characters: want c-m-… and 54", id, len(token))
			}
			st := crt.Object["status"].(map[string]any)
			inSecret := r != rancher.R2_12_11 && r != rancher.R2_12_12
			command, _ := st["command"].(string)
			switch {
			case inSecret && (st["token"] != nil || st["tokenSecretName"] != "crt-token-default-token"):
				t.Errorf("status %v: want tokenSecretName crt-token-default-token and no token", st)
			case inSecret && (!strings.Contains(command, "{token}_"+id) || strings.Contains(command, token)):
				t.Errorf("command %q: want the literal {token} placeholder", command)
			case !inSecret && (st["token"] != token || !strings.Contains(command, token+"_"+id)):
				t.Errorf("status %v: want the token in status.token and the command", st)
			}
			_, expires := st["expiresAt"]
			if expires != (r == rancher.R2_15_0) {
				t.Errorf("expiresAt present %t on %s: only 2.15.0 rotates", expires, r)
			}
			if r == rancher.R2_15_0 {
				at, err := time.Parse(time.RFC3339, st["expiresAt"].(string))
				if d := time.Until(at); err != nil || d < 30*24*time.Hour-time.Minute || d > 33*24*time.Hour {
					t.Errorf("expiresAt %v (%v): want 30 days plus at most 10 %% jitter", st["expiresAt"], err)
				}
			}
		})
	}
}

func TestImportRouteAnswersPerRelease(t *testing.T) {
	other := strings.Repeat("x", 54)
	for _, r := range rancher.Releases {
		t.Run(string(r), func(t *testing.T) {
			im := startImport(t, r)
			id, token, _ := importedCluster(t, im, im.Workspace(), "edge")
			wrongTokenCode := http.StatusBadRequest
			if r == rancher.R2_12_11 {
				wrongTokenCode = http.StatusOK
			}
			cases := []struct {
				name, path string
				code       int
				body       string
			}{
				{"the cluster's token renders the manifest", "/v3/import/" + token + "_" + id + ".yaml", 200, "name: cattle-cluster-agent"},
				{"another token", "/v3/import/" + other + "_" + id + ".yaml", wrongTokenCode, ""},
				{"an unknown cluster", "/v3/import/" + token + "_c-m-unknown.yaml", 400, "cluster not found or invalid token"},
				{"no underscore never reaches the handler", "/v3/import/" + token + id + ".yaml", 404, ""},
				{"no .yaml never reaches the handler", "/v3/import/" + token + "_" + id, 404, ""},
				{"a token of the wrong shape", "/v3/import/" + "TOKEN_" + id + ".yaml", 400, "invalid filename"},
			}
			for _, c := range cases {
				code, body := fetch(t, im, c.path)
				if code != c.code || !strings.Contains(body, c.body) {
					t.Errorf("%s: %d %q, want %d containing %q", c.name, code, body, c.code, c.body)
				}
				if code == 200 && !strings.Contains(body, "namespace: cattle-system") {
					t.Errorf("%s: the manifest has no cattle-system objects:\n%s", c.name, body)
				}
			}
			_, body := fetch(t, im, "/v3/import/"+token+"_"+id+".yaml")
			registry := "CATTLE_CLUSTER_REGISTRY"
			if r == rancher.R2_15_0 {
				registry = "CATTLE_SYSTEM_DEFAULT_REGISTRY"
			}
			if !strings.Contains(body, "name: "+registry) || !strings.Contains(body, fmt.Sprintf("token: %q", token)) {
				t.Errorf("manifest lacks %s or the token:\n%s", registry, body)
			}
			for _, code := range []int{403, 404} {
				im.RouteAnswer(code)
				if got, _ := fetch(t, im, "/v3/import/"+token+"_"+id+".yaml"); got != code {
					t.Errorf("RouteAnswer(%d): got %d", code, got)
				}
			}
			im.RouteAnswer(0)
			for _, req := range im.Requests() {
				if strings.Contains(req.Path, token) {
					t.Errorf("the request log holds the token: %s", req.Path)
				}
			}
		})
	}
}

func TestImportTokenRotationKeepsThePreviousOneForTheGracePeriod(t *testing.T) {
	im := startImport(t, rancher.R2_15_0)
	id, old, _ := importedCluster(t, im, im.Workspace(), "edge")
	for _, r := range []rancher.Release{rancher.R2_13_8, rancher.R2_14_4} {
		if err := startImport(t, r).Rotate(context.Background(), id); err == nil {
			t.Errorf("%s rotated a token: rotation is off before 2.15", r)
		}
	}
	if err := im.Rotate(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	crt, err := dynamic.NewForConfigOrDie(env.Config).Resource(rancher.ImportTokensGVR).Namespace(id).Get(context.Background(), rancher.DefaultTokenName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	current := tokenOf(t, crt)
	grace, _, _ := unstructured.NestedString(crt.Object, "status", "gracePeriodExpiresAt")
	if current == old || grace == "" {
		t.Fatalf("after rotation: token changed %t, gracePeriodExpiresAt %q", current != old, grace)
	}
	for _, tok := range []string{old, current} {
		if code, body := fetch(t, im, "/v3/import/"+tok+"_"+id+".yaml"); code != 200 {
			t.Errorf("within the grace period: %d %s", code, body)
		}
	}
	im.Advance(3*time.Hour + time.Minute)
	if code, _ := fetch(t, im, "/v3/import/"+old+"_"+id+".yaml"); code != 400 {
		t.Errorf("previous token after the grace period: %d, want 400", code)
	}
	if code, _ := fetch(t, im, "/v3/import/"+current+"_"+id+".yaml"); code != 200 {
		t.Errorf("current token after the grace period: %d, want 200", code)
	}
	// Past its own expiry the token is rotated on the next read.
	im.Advance(34 * 24 * time.Hour)
	if code, _ := fetch(t, im, "/v3/import/"+current+"_"+id+".yaml"); code != 200 {
		t.Errorf("expired token, rotated on read, within its grace: %d, want 200", code)
	}
}

// applyManifest creates the manifest's objects on env (the downstream of
// these tests) as an admin would, server-side.
func applyManifest(t *testing.T, manifest string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	gvr := map[string]schema.GroupVersionResource{
		"Namespace": {Version: "v1", Resource: "namespaces"}, "ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
		"Secret": {Version: "v1", Resource: "secrets"}, "Service": {Version: "v1", Resource: "services"},
		"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) == 0 {
			continue
		}
		g, ok := gvr[u.GetKind()]
		if !ok {
			t.Fatalf("manifest kind %s", u.GetKind())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(g)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(g).Namespace(u.GetNamespace())
		}
		if _, err := ri.Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: "test", Force: true}); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func deleteAgent(t *testing.T) {
	t.Helper()
	err := kubernetes.NewForConfigOrDie(env.Config).AppsV1().Deployments(rancher.AgentNamespace).Delete(context.Background(), rancher.AgentDeployment, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// waitCondition waits until the management cluster's condition typ has
// status.
func waitCondition(t *testing.T, id, typ, status string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := wait.Until(ctx, wait.ByName(dynamic.NewForConfigOrDie(env.Config).Resource(rancher.ClustersGVR), id), "", func(ev watch.Event) (bool, error) {
		u, _ := ev.Object.(*unstructured.Unstructured)
		if u == nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == typ && m["status"] == status {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("cluster %s never had %s=%s: %v", id, typ, status, err)
	}
}

func TestImportAgentStandInConnectsWithTheManifestsToken(t *testing.T) {
	im := startImport(t, rancher.R2_12_11)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent, err := rancher.StartAgent(ctx, env.Config, rancher.AgentOptions{RootCAs: im.CAPEM, RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Stop()
	defer deleteAgent(t)
	id, token, _ := importedCluster(t, im, im.Workspace(), "edge")

	// 2.12.11 renders a manifest for any token, but the agent's tunnel
	// checks it: the cluster never turns Ready.
	_, wrong := fetch(t, im, "/v3/import/"+strings.Repeat("x", 54)+"_"+id+".yaml")
	applyManifest(t, wrong)
	if _, err := agent.WaitFor(ctx, func(s rancher.AgentStatus) bool { return s.State == rancher.AgentRefused }); err != nil {
		t.Fatal(err)
	}
	deleteAgent(t)

	_, manifest := fetch(t, im, "/v3/import/"+token+"_"+id+".yaml")
	applyManifest(t, manifest)
	s, err := agent.WaitFor(ctx, func(s rancher.AgentStatus) bool { return s.State == rancher.AgentConnected })
	if err != nil || s.Cluster != id {
		t.Fatalf("agent: %+v, %v; want connected as %s", s, err, id)
	}
	waitCondition(t, id, "AgentDeployed", "True")
	waitCondition(t, id, "Ready", "True")
	// The provisioning cluster follows.
	prov := dynamic.NewForConfigOrDie(env.Config).Resource(rancher.ProvisioningClustersGVR).Namespace(im.Workspace())
	if _, err := wait.Until(ctx, wait.ByName(prov, "edge"), "", func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil // the Listed event carries the list
		}
		ready, _, _ := unstructured.NestedBool(u.Object, "status", "ready")
		deployed, _, _ := unstructured.NestedBool(u.Object, "status", "agentDeployed")
		return ready && deployed, nil
	}); err != nil {
		t.Errorf("provisioning status.ready and agentDeployed never turned true: %v", err)
	}

	// A lost agent: the tunnel closes and the cluster is no longer Ready.
	deleteAgent(t)
	waitCondition(t, id, "Ready", "False")
}
