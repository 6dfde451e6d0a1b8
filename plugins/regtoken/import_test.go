package regtoken

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/rancherimport"
)

// The in-process Rancher: a fake local cluster whose "controllers" are
// reactors (a created provisioning cluster gets its ID, management
// cluster, import token and Secret at once), an httptest TLS server for
// /v3/import, and downstream fakes where applying the agent's Deployment
// with the right token turns the management cluster Ready.

// tokenMode is where the fake Rancher keeps import tokens.
type tokenMode string

const (
	inStatus   tokenMode = "status.token"     // up to 2.12.12
	inSecret   tokenMode = "Secret"           // 2.13.8, 2.14.4
	inRotating tokenMode = "Secret, rotating" // 2.15.0
)

var (
	secretsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	importKinds = map[schema.GroupVersionResource]string{
		rancherimport.ProvisioningClustersGVR: "ClusterList",
		rancherimport.ManagementClustersGVR:   "ClusterList",
		rancherimport.ImportTokensGVR:         "ClusterRegistrationTokenList",
		rancherimport.SettingsGVR:             "SettingList",
		fleet.DeploymentGVR:                   "DeploymentList",
	}
	testTokenExpires = testNow.Add(29 * 24 * time.Hour)
)

type fakeRancher struct {
	t    *testing.T
	mode tokenMode
	mgmt *clitest.Factory
	srv  *httptest.Server

	mu     sync.Mutex
	tokens map[string]string // cluster ID -> token
	// applied are the server-side applies per downstream context, with
	// their field manager.
	applied map[string][]string
	answer  int // non-zero: /v3/import answers this
	body    string
	paths   []string
}

// tokenFor is a cluster's 54-character token, distinct per cluster.
func tokenFor(id string) string {
	return (strings.Repeat("t", 54-len(id)) + strings.ReplaceAll(id, "-", "x"))[:54]
}

func newFakeRancher(t *testing.T, mode tokenMode, objs ...runtime.Object) *fakeRancher {
	t.Helper()
	fr := &fakeRancher{t: t, mode: mode, tokens: map[string]string{}, applied: map[string][]string{}}
	fr.srv = httptest.NewTLSServer(http.HandlerFunc(fr.serve))
	t.Cleanup(fr.srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fr.srv.Certificate().Raw})
	dyn := append([]runtime.Object{setting("server-url", fr.srv.URL), setting("cacerts", string(caPEM))}, objs...)
	fr.mgmt = clitest.NewFactory(clitest.Options{Dynamic: dyn, ListKinds: importKinds, Cluster: testCluster,
		Core: []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "uid-rancher"}}}})
	fr.mgmt.Others = map[string]*clitest.Factory{}
	fr.mgmt.Dyn.PrependReactor("create", "clusters", fr.provision)
	return fr
}

func setting(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Setting",
		"metadata": map[string]any{"name": name}, "value": value, "default": "",
	}}
}

// provision is Rancher's controllers for a new provisioning cluster.
func (fr *fakeRancher) provision(a k8stesting.Action) (bool, runtime.Object, error) {
	ca := a.(k8stesting.CreateAction)
	if ca.GetResource() != rancherimport.ProvisioningClustersGVR {
		return false, nil, nil
	}
	u := ca.GetObject().(*unstructured.Unstructured)
	id := "c-m-" + u.GetName()
	_ = unstructured.SetNestedField(u.Object, id, "status", "clusterName")
	fr.addCluster(id, false)
	return false, nil, nil
}

// addCluster adds the management cluster, import token and Secret of id.
func (fr *fakeRancher) addCluster(id string, ready bool) {
	tok := tokenFor(id)
	fr.mu.Lock()
	fr.tokens[id] = tok
	fr.mu.Unlock()
	tr := fr.mgmt.Dyn.Tracker()
	must(fr.t, tr.Create(rancherimport.ManagementClustersGVR, mgmtCluster(id, ready), ""))
	status := map[string]any{"command": "kubectl apply -f " + fr.srv.URL + "/v3/import/{token}_" + id + ".yaml"}
	if fr.mode == inStatus {
		status["token"] = tok
		status["command"] = "kubectl apply -f " + fr.srv.URL + "/v3/import/" + tok + "_" + id + ".yaml"
	} else {
		status["tokenSecretName"] = "crt-token-default-token"
		data := map[string][]byte{"token": []byte(tok)}
		if fr.mode == inRotating {
			status["expiresAt"] = testTokenExpires.Format(time.RFC3339)
			data["expiresAt"] = []byte(testTokenExpires.Format(time.RFC3339))
		}
		must(fr.t, fr.mgmt.Core.Tracker().Create(secretsGVR, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "crt-token-default-token", Namespace: id}, Data: data}, id))
	}
	crt := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": "default-token", "namespace": id},
		"spec":     map[string]any{"clusterName": id}, "status": status,
	}}
	must(fr.t, tr.Create(rancherimport.ImportTokensGVR, crt, id))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mgmtCluster(id string, ready bool) *unstructured.Unstructured {
	conds := []any{}
	if ready {
		conds = []any{map[string]any{"type": "AgentDeployed", "status": "True"}, map[string]any{"type": "Ready", "status": "True"}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Cluster",
		"metadata": map[string]any{"name": id}, "status": map[string]any{"conditions": conds},
	}}
}

func provCluster(name, id string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "provisioning.cattle.io/v1", "kind": "Cluster",
		"metadata": map[string]any{"name": name, "namespace": "fleet-default", "creationTimestamp": testCreated.Format(time.RFC3339)},
		"spec":     map[string]any{}, "status": map[string]any{"clusterName": id},
	}}
	u.SetLabels(labels)
	return u
}

// serve is Rancher's /v3/import.
func (fr *fakeRancher) serve(w http.ResponseWriter, r *http.Request) {
	fr.mu.Lock()
	fr.paths = append(fr.paths, r.URL.Path)
	answer, body := fr.answer, fr.body
	fr.mu.Unlock()
	if answer != 0 {
		http.Error(w, body, answer)
		return
	}
	file, _ := strings.CutPrefix(r.URL.Path, "/v3/import/")
	tok, rest, _ := strings.Cut(file, "_")
	id := strings.TrimSuffix(rest, ".yaml")
	fr.mu.Lock()
	want := fr.tokens[id]
	fr.mu.Unlock()
	if want == "" || tok != want {
		http.Error(w, "cluster not found or invalid token", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, `---
apiVersion: v1
kind: Namespace
metadata:
  name: cattle-system
---
apiVersion: v1
kind: Secret
metadata:
  name: cattle-credentials-abc1234
  namespace: cattle-system
stringData:
  url: %q
  token: %q
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cattle-cluster-agent
  namespace: cattle-system
spec:
  template:
    spec:
      volumes:
      - name: cattle-credentials
        secret:
          secretName: cattle-credentials-abc1234
`, fr.srv.URL, tok)
}

// addDownstream adds context name (kube-system UID uid) whose applies are
// stored, and where the agent's Deployment "connects" with the token of
// the applied credentials Secret.
func (fr *fakeRancher) addDownstream(name, uid string, objs ...runtime.Object) *clitest.Factory {
	d := downstream(name, uid, objs...)
	d.Dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		if pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(pa.GetPatch(), &u.Object); err != nil {
			return true, nil, err
		}
		// The fake tracker applies only onto existing typed objects:
		// create or replace, as an apply of the whole manifest object.
		tr := d.Dyn.Tracker()
		var err error
		if _, gerr := tr.Get(pa.GetResource(), pa.GetNamespace(), pa.GetName()); apierrors.IsNotFound(gerr) {
			err = tr.Create(pa.GetResource(), u, pa.GetNamespace())
		} else {
			err = tr.Update(pa.GetResource(), u, pa.GetNamespace())
		}
		fr.mu.Lock()
		fr.applied[name] = append(fr.applied[name], clitest.Describe(a)+" as "+fieldManager(pa))
		fr.mu.Unlock()
		if err == nil && u.GetKind() == "Deployment" {
			fr.connect(d)
		}
		return true, u, err
	})
	fr.mgmt.Others[name] = d
	return d
}

func fieldManager(pa k8stesting.PatchAction) string {
	if p, ok := pa.(k8stesting.PatchActionImpl); ok {
		return p.PatchOptions.FieldManager
	}
	return ""
}

// connect is the agent: its token opens the cluster it belongs to.
func (fr *fakeRancher) connect(d *clitest.Factory) {
	obj, err := d.Dyn.Tracker().Get(secretsGVR, "cattle-system", "cattle-credentials-abc1234")
	if err != nil {
		return
	}
	tok, _, _ := unstructured.NestedString(obj.(*unstructured.Unstructured).Object, "stringData", "token")
	fr.mu.Lock()
	defer fr.mu.Unlock()
	for id, want := range fr.tokens {
		if want == tok {
			_ = fr.mgmt.Dyn.Tracker().Update(rancherimport.ManagementClustersGVR, mgmtCluster(id, true), "")
		}
	}
}

func (fr *fakeRancher) run(args ...string) clitest.Result {
	fr.t.Helper()
	return clitest.Run(fr.t, NewRoot, fr.mgmt, "", args...)
}

// noToken fails when a token or the import path shows in a result.
func (fr *fakeRancher) noToken(res clitest.Result) {
	fr.t.Helper()
	fr.mu.Lock()
	defer fr.mu.Unlock()
	for _, tok := range fr.tokens {
		if strings.Contains(res.Stdout+res.Stderr, tok) {
			fr.t.Errorf("an import token shows in the output:\n%s", res)
		}
	}
	if strings.Contains(res.Stdout+res.Stderr, "/v3/import/") {
		fr.t.Errorf("an import URL shows in the output:\n%s", res)
	}
}

// scrub replaces the test server's random port for goldens.
func (fr *fakeRancher) scrub(s string) string {
	return strings.ReplaceAll(s, fr.srv.URL, "https://rancher.test")
}

func creates(f *clitest.Factory) []string {
	var out []string
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "create ") || strings.HasPrefix(r, "patch ") {
			out = append(out, r)
		}
	}
	return out
}

func TestImportTwoContextsCreatesAppliesAndWaitsForReady(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	fr.addDownstream("edge-2", "uid-2")
	res := fr.run("import", "edge-1", "edge-2", "--label", "env=prod", "--parallel", "1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "import-two", fr.scrub(res.String()))
	fr.noToken(res)
	wantCreates := []string{"create clusters.provisioning.cattle.io fleet-default/edge-1", "create clusters.provisioning.cattle.io fleet-default/edge-2"}
	if got := creates(fr.mgmt); !slices.Equal(got, wantCreates) {
		t.Errorf("writes on Rancher: %q, want %q", got, wantCreates)
	}
	for _, d := range []string{"edge-1", "edge-2"} {
		want := []string{"patch namespaces cattle-system as kubectl-regtoken", "patch secrets cattle-system/cattle-credentials-abc1234 as kubectl-regtoken", "patch deployments.apps cattle-system/cattle-cluster-agent as kubectl-regtoken"}
		if got := fr.applied[d]; !slices.Equal(got, want) {
			t.Errorf("writes downstream: %q, want the manifest's objects applied in order %q", got, want)
		}
	}
	prov, err := fr.mgmt.Dyn.Resource(rancherimport.ProvisioningClustersGVR).Namespace("fleet-default").Get(t.Context(), "edge-1", metav1.GetOptions{})
	if err != nil || prov.GetLabels()["env"] != "prod" {
		t.Errorf("edge-1's labels: %v (%v)", prov.GetLabels(), err)
	}
}

func TestImportReadsTheTokenWhereEachReleaseKeepsItNeverFromTheCommands(t *testing.T) {
	for _, mode := range []tokenMode{inStatus, inSecret, inRotating} {
		t.Run(string(mode), func(t *testing.T) {
			fr := newFakeRancher(t, mode)
			fr.addDownstream("edge-1", "uid-1")
			res := fr.run("import", "edge-1", "-o", "json")
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			fr.noToken(res)
			var got RancherImport
			must(t, json.Unmarshal([]byte(res.Stdout), &got))
			c := got.Clusters[0]
			wantSource := "status.token"
			if mode != inStatus {
				wantSource = "Secret c-m-edge-1/crt-token-default-token"
			}
			wantExpires := ""
			if mode == inRotating {
				wantExpires = testTokenExpires.Format(time.RFC3339)
			}
			if got.Kind != "RancherImport" || c.Status != "Active" || c.ID != "c-m-edge-1" || c.TokenSource != wantSource || c.TokenExpires != wantExpires || !c.Created || c.Applied != 3 {
				t.Errorf("result %+v, want Active c-m-edge-1 read from %s expiring %q, created, 3 applied", c, wantSource, wantExpires)
			}
		})
	}
}

func TestImportTurnsEachRancherAnswerIntoOneLine(t *testing.T) {
	cases := []struct {
		name, body string
		code       int
		want       string
	}{
		{"invalid token", "cluster not found or invalid token", 400, "https://rancher.test refused the import token of cluster c-m-edge-1 (400 cluster not found or invalid token): the token was rotated after its grace period, or the cluster is being deleted; run the import again: cluster not found or invalid token"},
		{"invalid filename", "invalid filename", 400, "https://rancher.test refused the manifest's name (400 invalid filename): the token or cluster ID c-m-edge-1 is not of the form Rancher expects; report it with your Rancher version"},
		{"forbidden", "Forbidden", 403, "https://rancher.test answered 403 Forbidden to the import route /v3/import: something in front of Rancher (a proxy, WAF or ingress rule) blocks it; allow /v3/import, or pass --rancher-url with an address that reaches Rancher"},
		{"not found", "404 page not found", 404, "https://rancher.test has no import route (404 on /v3/import): it is not Rancher, or a proxy hides the route; pass --rancher-url with Rancher's address"},
		{"an error echoing the request", "failed: GET /v3/import/" + tokenFor("c-m-edge-1") + "_c-m-edge-1.yaml", 500, "https://rancher.test answered 500 Internal Server Error to the import manifest request: failed: GET /v3/import/<redacted>_c-m-edge-1.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := newFakeRancher(t, inSecret)
			fr.addDownstream("edge-1", "uid-1")
			fr.answer, fr.body = c.code, c.body
			res := fr.run("import", "edge-1")
			lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
			last := fr.scrub(lines[len(lines)-1])
			want := "error: " + c.want + `; the Rancher clusters stay in namespace "fleet-default" for a re-run (kubectl regtoken import edge-1), or delete them with kubectl delete clusters.provisioning.cattle.io -n fleet-default edge-1`
			if res.Exit != 1 || last != want {
				t.Errorf("got exit %d, last line\n%s\nwant\n%s", res.Exit, last, want)
			}
			if c.code != 500 {
				fr.noToken(res)
			}
			if strings.Contains(res.Stdout+res.Stderr, tokenFor("c-m-edge-1")) {
				t.Errorf("the token shows:\n%s", res)
			}
		})
	}
}

func TestImportRefusesBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists.yaml")
	must(t, os.WriteFile(existing, nil, 0o600))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"--name with two contexts", []string{"edge-1", "edge-2", "--name", "x"}, "error: --name names one Rancher cluster but 2 contexts are given: import them one at a time, or leave out --name to name each after its context"},
		{"unknown context", []string{"nope"}, `error: context "nope" does not exist in the merged kubeconfig $KUBECONFIG: pass a context it names (kubectl config get-contexts lists them); nothing was created`},
		{"Rancher's own context", []string{"upstream"}, `error: context "upstream" is Rancher's local cluster (the current context): name downstream contexts, or pass --context with Rancher's; nothing was created`},
		{"a context name that is no cluster name", []string{"Edge_3"}, `error: context "Edge_3" is not a valid Rancher cluster name: ` + validation.IsDNS1123Label("Edge_3")[0] + `; pass --name with lower-case letters, digits and '-' (with several contexts, import that one alone)`},
		{"local", []string{"edge-1", "--name", "local"}, `error: --name "local" is Rancher's own cluster: pass another --name`},
		{"two contexts of one cluster", []string{"edge-1", "twin"}, `error: contexts "edge-1" and "twin" reach the same cluster (kube-system UID uid-1): name each cluster once; nothing was created`},
		{"a context reaching Rancher", []string{"rancher-again"}, `error: context "rancher-again" reaches Rancher's local cluster itself (kube-system UID uid-rancher): name downstream contexts; nothing was created`},
		{"--manifest-file alone", []string{"edge-1", "--manifest-file", "x"}, "error: --manifest-file needs --manifest-only"},
		{"an existing --manifest-file", []string{"edge-1", "--manifest-only", "--manifest-file", existing}, "error: refusing to overwrite " + existing + ": it exists; pass --force to replace it or choose another path"},
		{"-o wide", []string{"edge-1", "-o", "wide"}, "error: -o wide is not supported here: use -o json, yaml or jsonl"},
		{"plain http", []string{"edge-1", "--rancher-url", "http://rancher.example.com"}, `error: invalid --rancher-url "http://rancher.example.com": give Rancher's https address, e.g. https://rancher.example.com`},
		{"a CA file without PEM", []string{"edge-1", "--rancher-ca-file", existing}, "error: --rancher-ca-file " + existing + " holds no PEM certificate: give Rancher's CA in PEM (-----BEGIN CERTIFICATE-----)"},
		{"a bad label", []string{"edge-1", "--label", "env"}, `error: --label "env" has no '=': pass KEY=VALUE, e.g. --label env=prod`},
		{"no timeout", []string{"edge-1", "--timeout", "0s"}, "error: --timeout 0s is not positive: pass e.g. --timeout 10m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := newFakeRancher(t, inStatus)
			fr.addDownstream("edge-1", "uid-1")
			fr.addDownstream("edge-2", "uid-2")
			fr.addDownstream("twin", "uid-1")
			fr.addDownstream("Edge_3", "uid-3")
			fr.addDownstream("rancher-again", "uid-rancher")
			res := fr.run(append([]string{"import"}, c.args...)...)
			// One line: runs of spaces in library text are folded.
			if res.Exit != 1 || strings.Join(strings.Fields(res.Stderr), " ") != strings.Join(strings.Fields(c.want), " ") || strings.Count(strings.TrimSpace(res.Stderr), "\n") > 0 || res.Stdout != "" {
				t.Errorf("%s\nwant exit 1 and stderr\n%s", res, c.want)
			}
			if got := creates(fr.mgmt); len(got) > 0 {
				t.Errorf("wrote before refusing: %q", got)
			}
		})
	}
}

func TestImportRerunLeavesAnActiveClusterWithItsAgentAloneAndRepairsOneWithout(t *testing.T) {
	agent := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "cattle-cluster-agent", "namespace": "cattle-system"}}}
	fr := newFakeRancher(t, inSecret, provCluster("edge-1", "c-m-edge-1", nil), provCluster("edge-2", "c-m-edge-2", nil))
	fr.addCluster("c-m-edge-1", true)
	fr.addCluster("c-m-edge-2", true)
	fr.addDownstream("edge-1", "uid-1", agent)
	fr.addDownstream("edge-2", "uid-2")
	res := fr.run("import", "edge-1", "edge-2", "--label", "env=prod", "--parallel", "1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "import-rerun", fr.scrub(res.String()))
	if got := fr.applied["edge-1"]; len(got) > 0 {
		t.Errorf("edge-1 is Active with its agent, yet import applied %q", got)
	}
	if got := fr.applied["edge-2"]; len(got) != 3 {
		t.Errorf("edge-2 lost its agent: want the manifest applied again, got %q", got)
	}
	want := []string{"patch clusters.provisioning.cattle.io fleet-default/edge-1", "patch clusters.provisioning.cattle.io fleet-default/edge-2"}
	if got := creates(fr.mgmt); !slices.Equal(got, want) {
		t.Errorf("writes on Rancher: %q, want only the missing labels added %q", got, want)
	}
}

func TestImportTellsAClusterThatIsNotYoursFromAnAbsentOne(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	gr := schema.GroupResource{Group: "provisioning.cattle.io", Resource: "clusters"}
	fr.mgmt.Dyn.PrependReactor("get", "clusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetResource().Group != "provisioning.cattle.io" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(gr, "edge-1", fmt.Errorf("not an owner"))
	})
	fr.mgmt.Dyn.PrependReactor("create", "clusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewAlreadyExists(gr, "edge-1")
	})
	res := fr.run("import", "edge-1")
	want := `error: Rancher cluster "edge-1" in namespace "fleet-default" exists and is not yours (Rancher answers 403 to anyone but its owners): pick another --name, or ask its owner or an admin`
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) {
		t.Errorf("%s\nwant %s", res, want)
	}
}

func TestImportManifestOnlyWritesTheTokenOnlyToA0600File(t *testing.T) {
	fr := newFakeRancher(t, inSecret)
	path := filepath.Join(t.TempDir(), "edge.yaml")
	res := fr.run("import", "edge-1", "--manifest-only", "--manifest-file", path)
	if res.Exit != 0 || res.Stdout != "" {
		t.Fatalf("%s", res)
	}
	fr.noToken(res)
	st, err := os.Stat(path)
	must(t, err)
	b, err := os.ReadFile(path)
	must(t, err)
	if st.Mode().Perm() != 0o600 || !strings.Contains(string(b), tokenFor("c-m-edge-1")) || !strings.HasPrefix(string(b), "# Rancher cluster edge-1 (c-m-edge-1): holds its import token, keep it secret\n") {
		t.Errorf("mode %v, content:\n%s", st.Mode().Perm(), b)
	}
	if !strings.Contains(res.Stderr, path+" written (mode 0600): it holds the clusters' import tokens, keep it secret") {
		t.Errorf("stderr: %s", res.Stderr)
	}
}

func TestImportJSONLPrintsEachClusterAsItFinishes(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	fr.addDownstream("edge-2", "uid-2")
	res := fr.run("import", "edge-1", "edge-2", "-o", "jsonl", "--parallel", "1")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if res.Exit != 0 || len(lines) != 2 {
		t.Fatalf("%s", res)
	}
	for i, l := range lines {
		var c rancherimport.Cluster
		must(t, json.Unmarshal([]byte(l), &c))
		if c.Context != fmt.Sprintf("edge-%d", i+1) || c.Status != "Active" {
			t.Errorf("line %d: %s", i, l)
		}
	}
}

func TestImportListShowsStateAndTokenExpiry(t *testing.T) {
	fr := newFakeRancher(t, inRotating, provCluster("edge-1", "c-m-edge-1", map[string]string{"env": "prod"}), provCluster("edge-2", "c-m-edge-2", nil), provCluster("pending", "", nil))
	fr.addCluster("c-m-edge-1", true)
	fr.addCluster("c-m-edge-2", false)
	crt, err := fr.mgmt.Dyn.Resource(rancherimport.ImportTokensGVR).Namespace("c-m-edge-2").Get(t.Context(), "default-token", metav1.GetOptions{})
	must(t, err)
	_ = unstructured.SetNestedField(crt.Object, testNow.Add(2*time.Hour).Format(time.RFC3339), "status", "gracePeriodExpiresAt")
	_ = unstructured.SetNestedField(crt.Object, testNow.Add(30*24*time.Hour).Format(time.RFC3339), "status", "expiresAt")
	_, err = fr.mgmt.Dyn.Resource(rancherimport.ImportTokensGVR).Namespace("c-m-edge-2").Update(t.Context(), crt, metav1.UpdateOptions{})
	must(t, err)

	res := fr.run("import", "list", "-o", "wide")
	golden(t, "import-list", res.String())
	res = fr.run("import", "list", "--expiring-within", "1d", "--fail-if-any")
	if res.Exit != 3 || !strings.Contains(res.Stdout, "edge-2") || strings.Contains(res.Stdout, "edge-1") {
		t.Errorf("edge-2 is in its grace period, edge-1 rotates in 29d: %s", res)
	}
	for _, r := range fr.mgmt.Requests() {
		if strings.Contains(r, "secrets") {
			t.Errorf("list read a Secret: %s", r)
		}
	}
}

func TestImportCommandHidesTheTokenUnlessAsked(t *testing.T) {
	fr := newFakeRancher(t, inSecret, provCluster("edge-1", "c-m-edge-1", nil))
	fr.addCluster("c-m-edge-1", true)
	res := fr.run("import", "command", "edge-1")
	golden(t, "import-command", fr.scrub(res.String()))
	if strings.Contains(res.Stdout+res.Stderr, tokenFor("c-m-edge-1")) {
		t.Errorf("the token shows without --show-token:\n%s", res)
	}
	res = fr.run("import", "command", "edge-1", "--show-token")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "/v3/import/"+tokenFor("c-m-edge-1")+"_c-m-edge-1.yaml") || !strings.Contains(res.Stderr, "a credential: keep it secret") {
		t.Errorf("--show-token: %s", res)
	}
}

func TestImportDryRunSendsNothing(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	res := fr.run("import", "edge-1", "--dry-run=client")
	want := "clusters.provisioning.cattle.io/edge-1 created or reused in namespace fleet-default (dry run)\nRancher's import manifest for edge-1 applied server-side to context edge-1 (dry run)\n"
	if res.Exit != 0 || res.Stdout != want {
		t.Errorf("%s\nwant stdout\n%s", res, want)
	}
	if len(fr.mgmt.Requests()) > 0 || len(fr.paths) > 0 {
		t.Errorf("a dry run sent %q and fetched %q", fr.mgmt.Requests(), fr.paths)
	}
}

func TestImportYAMLIsOneResultObjectWithoutSecrets(t *testing.T) {
	fr := newFakeRancher(t, inRotating)
	fr.addDownstream("edge-1", "uid-1")
	res := fr.run("import", "edge-1", "-o", "yaml")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "import-yaml", fr.scrub(res.Stdout))
	fr.noToken(res)
}

func TestImportOfAContextNamedLikeASubcommandAfterDashDash(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("list", "uid-1")
	res := fr.run("import", "--", "list")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "c-m-list") {
		t.Errorf("%s", res)
	}
}

func TestImportJSONPathReadsTheResult(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	res := fr.run("import", "edge-1", "-o", "jsonpath={.clusters[0].clusterID} {.clusters[0].status}")
	if res.Exit != 0 || res.Stdout != "c-m-edge-1 Active" {
		t.Errorf("%s", res)
	}
}

// import takes the same inventory as enroll: the entry's labels over
// --label on its Rancher cluster, the selector narrowing the contexts.
func TestImportReadsAnInventoryWithLabels(t *testing.T) {
	fr := newFakeRancher(t, inStatus)
	fr.addDownstream("edge-1", "uid-1")
	fr.addDownstream("edge-2", "uid-2")
	fr.addDownstream("core-1", "uid-3")
	stdin := "- name: edge-1\n  labels: {env: staging, site: berlin}\n- name: edge-2\n- name: core-1\n"
	res := clitest.Run(t, NewRoot, fr.mgmt, stdin, "import", "--contexts-from", "-", "--context-selector", "edge-.*", "--label", "env=prod", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	want := map[string]map[string]string{"edge-1": {"env": "staging", "site": "berlin"}, "edge-2": {"env": "prod"}}
	got := map[string]map[string]string{}
	for _, o := range fr.mgmt.Dyn.Actions() {
		if ca, ok := o.(k8stesting.CreateAction); ok && ca.GetResource() == rancherimport.ProvisioningClustersGVR {
			u := ca.GetObject().(*unstructured.Unstructured)
			got[u.GetName()] = u.GetLabels()
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rancher clusters created with labels %v, want %v", got, want)
	}
}
