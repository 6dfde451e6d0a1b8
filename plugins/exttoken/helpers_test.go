package exttoken

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// fixedNow is the clock of every in-process test, so ages and expiries
// in golden files do not move.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func init() { now = func() time.Time { return fixedNow } }

var listKinds = map[schema.GroupVersionResource]string{
	tokensGVR:   "TokenList",
	legacyGVR:   "TokenList",
	settingsGVR: "SettingList",
	featuresGVR: "FeatureList",
}

// extTok is an ext token as Rancher returns it from get/list (hash
// included, as up to v2.15.0), created age ago with ttl ms.
func extTok(name, user string, age time.Duration, ttl int64, mods ...func(map[string]any)) *unstructured.Unstructured {
	obj := map[string]any{
		"apiVersion": "ext.cattle.io/v1", "kind": "Token",
		"metadata": map[string]any{
			"name": name, "uid": "uid-" + name, "resourceVersion": "1",
			"creationTimestamp": fixedNow.Add(-age).Format(time.RFC3339),
			"labels":            map[string]any{labelUserID: user, labelKind: ""},
		},
		"spec":   map[string]any{"userID": user, "kind": "", "ttl": ttl, "description": ""},
		"status": map[string]any{"hash": "$3:1:c2FsdA:aGFzaA", "current": false, "lastUpdateTime": fixedNow.Add(-age).Format(time.RFC3339)},
	}
	for _, m := range mods {
		m(obj)
	}
	return &unstructured.Unstructured{Object: obj}
}

// kindOf sets spec.kind and the label Rancher forces from it.
func kindOf(kind string) func(map[string]any) {
	return func(obj map[string]any) {
		_ = unstructured.SetNestedField(obj, kind, "spec", "kind")
		_ = unstructured.SetNestedField(obj, kind, "metadata", "labels", labelKind)
	}
}

func set(value any, path ...string) func(map[string]any) {
	return func(obj map[string]any) { _ = unstructured.SetNestedField(obj, value, path...) }
}

// v3Tok is a legacy v3 token with its plaintext value, as Rancher keeps
// it without token-hashing.
func v3Tok(name, user string, age time.Duration, ttl int64, mods ...func(map[string]any)) *unstructured.Unstructured {
	obj := map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Token",
		"metadata": map[string]any{
			"name": name, "uid": "uid-" + name,
			"creationTimestamp": fixedNow.Add(-age).Format(time.RFC3339),
			"labels":            map[string]any{labelV3UserID: user},
		},
		"token": "plaintext-" + name, "userId": user, "ttl": ttl, "isDerived": true,
		"providerInfo": map[string]any{"access_token": "oidc-" + name},
	}
	for _, m := range mods {
		m(obj)
	}
	return &unstructured.Unstructured{Object: obj}
}

func settingObj(name, value, def string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Setting",
		"metadata": map[string]any{"name": name}, "value": value, "default": def, "source": "", "customized": value != "",
	}}
}

// fakeRancher is cli.Clients on client-go fakes holding objs, plus a
// table endpoint built from the same objects (as Rancher's printHandler,
// docs/rancher-tokens.md §5).
type fakeRancher struct {
	*clitest.Factory
	mu     sync.Mutex
	tables []string
}

func newRancher(t *testing.T, objs ...runtime.Object) *fakeRancher {
	t.Helper()
	return newRancherOn(t, kubeconfig.Cluster{}, objs...)
}

// newRancherOn is newRancher with the kubeconfig's current cluster.
func newRancherOn(t *testing.T, cluster kubeconfig.Cluster, objs ...runtime.Object) *fakeRancher {
	t.Helper()
	f := &fakeRancher{}
	srv := httptest.NewServer(http.HandlerFunc(f.serveTable))
	t.Cleanup(srv.Close)
	f.Factory = clitest.NewFactory(clitest.Options{Dynamic: objs, ListKinds: listKinds, REST: &rest.Config{Host: srv.URL}, Cluster: cluster})
	return f
}

// react handles verb on resource after the request was recorded.
func (f *fakeRancher) react(verb, resource string, fn k8stesting.ReactionFunc) {
	r := &k8stesting.SimpleReactor{Verb: verb, Resource: resource, Reaction: fn}
	chain := append([]k8stesting.Reactor{}, f.Dyn.ReactionChain[:1]...)
	chain = append(chain, r)
	f.Dyn.ReactionChain = append(chain, f.Dyn.ReactionChain[1:]...)
}

// rancherCreates makes creates behave as Rancher's: a generated name, the
// value in the response only, the token stored unless a dry run; version
// 2.12 drops spec.clusterName and returns no bearerToken.
func (f *fakeRancher) rancherCreates(version string) {
	f.react("create", "tokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		u := ca.GetObject().(*unstructured.Unstructured).DeepCopy()
		u.SetName("token-abcde")
		u.SetUID("uid-token-abcde")
		u.SetCreationTimestamp(metav1.NewTime(fixedNow))
		_ = unstructured.SetNestedField(u.Object, "u-alice", "spec", "userID")
		if version == "2.12" {
			unstructured.RemoveNestedField(u.Object, "spec", "clusterName")
		}
		if len(ca.CreateOptions.DryRun) == 0 {
			if err := f.Dyn.Tracker().Create(tokensGVR, u.DeepCopy(), ""); err != nil {
				return true, nil, err
			}
		}
		_ = unstructured.SetNestedField(u.Object, "s3cr3tvalue", "status", "value")
		if version != "2.12" {
			_ = unstructured.SetNestedField(u.Object, "ext/token-abcde:s3cr3tvalue", "status", "bearerToken")
		}
		return true, u, nil
	})
}

// Tables are the table requests made, as "GET path?query".
func (f *fakeRancher) Tables() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tables)
}

func (f *fakeRancher) serveTable(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tables = append(f.tables, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	if !strings.Contains(r.Header.Get("Accept"), "as=Table") {
		f.ServeList(w, r) // a list the command decodes itself
		return
	}
	if strings.HasPrefix(r.URL.Path, kubeconfigsPath) {
		f.serveKubeconfigTable(w, r)
		return
	}
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, tokensPath), "/")
	var items []unstructured.Unstructured
	if name != "" {
		obj, err := f.Dyn.Tracker().Get(tokensGVR, "", name)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404,
				Message: `tokens.ext.cattle.io "` + name + `" not found`, Details: &metav1.StatusDetails{Name: name, Group: "ext.cattle.io", Kind: "tokens"}})
			return
		}
		items = append(items, *obj.(*unstructured.Unstructured))
	} else {
		obj, err := f.Dyn.Tracker().List(tokensGVR, schema.GroupVersionKind{Group: "ext.cattle.io", Version: "v1", Kind: "Token"}, "")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		items = obj.(*unstructured.UnstructuredList).Items
		slices.SortFunc(items, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	}
	table := metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"}, {Name: "User", Type: "string", Priority: 1}, {Name: "Kind", Type: "string"},
		{Name: "TTL", Type: "string"}, {Name: "Age", Type: "string"}, {Name: "Description", Type: "string", Priority: 1}}}
	for i := range items {
		tok := tokenFrom(&items[i])
		var raw []byte
		if r.URL.Query().Get("includeObject") == "Object" {
			raw, _ = json.Marshal(items[i].Object)
		} else {
			raw, _ = json.Marshal(map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": items[i].Object["metadata"]})
		}
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells:  []any{tok.Name, tok.UserID, tok.Kind, duration.HumanDuration(time.Duration(tok.TTL) * time.Millisecond), duration.HumanDuration(fixedNow.Sub(tok.Created)), tok.Description},
			Object: runtime.RawExtension{Raw: raw},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(table)
}

// run runs the plugin on f.
func run(t *testing.T, f *fakeRancher, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, NewRoot, f.Factory, "", args...)
}

// wantRequests compares the requests made with want.
func wantRequests(t *testing.T, f *fakeRancher, want ...string) {
	t.Helper()
	if got := f.Requests(); !slices.Equal(got, want) {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// leaks fails when out holds any copy of a secret of the fixtures.
func leaks(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{"s3cr3tvalue", "plaintext-", "oidc-", "aGFzaA", "$3:1:"} {
		if strings.Contains(out, s) {
			t.Errorf("output holds secret %q:\n%s", s, out)
		}
	}
}

// cmdCase is one row of a command's table test.
type cmdCase struct {
	name  string
	args  []string
	objs  []runtime.Object
	setup func(*fakeRancher)
	exit  int
	// golden names testdata/<golden>.golden holding exit code, stdout and
	// stderr; without it stdout and stderr must contain the strings given.
	golden         string
	stdout, stderr []string
	requests       []string // nil: not checked; use none for "no request"
	unordered      bool     // requests made in parallel: compare as a set
	check          func(*testing.T, *fakeRancher, clitest.Result)
}

var none = []string{}

func runCases(t *testing.T, cases []cmdCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newRancher(t, c.objs...)
			if c.setup != nil {
				c.setup(f)
			}
			res := run(t, f, c.args...)
			if res.Exit != c.exit {
				t.Errorf("exit %d, want %d\n%s", res.Exit, c.exit, res)
			}
			if c.golden != "" {
				clitest.Golden(t, c.golden, res.String())
			}
			for _, s := range c.stdout {
				if !strings.Contains(res.Stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res)
				}
			}
			for _, s := range c.stderr {
				if !strings.Contains(res.Stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, res)
				}
			}
			if c.exit == 1 && strings.Count(res.Stderr, "error: ") != 1 {
				t.Errorf("want exactly one error line:\n%s", res)
			}
			if c.requests != nil {
				got, want := f.Requests(), slices.Clone(c.requests)
				if c.unordered {
					slices.Sort(got)
					slices.Sort(want)
				}
				if !slices.Equal(got, want) {
					t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			}
			leaks(t, strings.ReplaceAll(res.Stdout, "s3cr3tvalue", "")+res.Stderr)
			if c.check != nil {
				c.check(t, f, res)
			}
		})
	}
}

func toUnstructured(o runtime.Object) *unstructured.Unstructured {
	return o.(*unstructured.Unstructured)
}
