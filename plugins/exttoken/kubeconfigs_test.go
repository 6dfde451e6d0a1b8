package exttoken

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func init() {
	listKinds[kubeconfigsGVR] = "KubeconfigList"
	listKinds[clustersGVR] = "ClusterList"
}

const (
	kcCreateReq = "create kubeconfigs.ext.cattle.io"
	kcUndoReq   = "delete kubeconfigs.ext.cattle.io kubeconfig-abcde"
	kcMaxReq    = "get settings.management.cattle.io kubeconfig-max-token-ttl-minutes"
	kcDefReq    = "get settings.management.cattle.io kubeconfig-default-token-ttl-minutes"
	// the generated kubeconfig of the fake: its token is the secret
	kcValue = "apiVersion: v1\nkind: Config\nclusters:\n- name: c-m-abc12\n  cluster:\n    server: https://rancher.example.com/k8s/clusters/c-m-abc12\nusers:\n- name: c-m-abc12\n  user:\n    token: ext/token-kcabc:s3cr3tvalue\ncontexts:\n- name: c-m-abc12\n  context:\n    cluster: c-m-abc12\n    user: c-m-abc12\ncurrent-context: c-m-abc12\n"
)

// kcObj is a Kubeconfig as Rancher returns it from get/list, created age
// ago with ttl seconds, and its tokens.
func kcObj(name, user string, age time.Duration, ttl int64, clusters []any, tokens ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ext.cattle.io/v1", "kind": "Kubeconfig",
		"metadata": map[string]any{"name": name, "uid": "uid-" + name, "creationTimestamp": fixedNow.Add(-age).Format(time.RFC3339),
			"labels": map[string]any{labelUserID: user}},
		"spec":   map[string]any{"clusters": clusters, "ttl": ttl, "currentContext": "", "description": ""},
		"status": map[string]any{"summary": "Complete", "tokens": tokens},
	}}
}

// kcToken is an ext token of kubeconfig kc.
func kcToken(name, kc, user string, age time.Duration, ttlMs int64, mods ...func(map[string]any)) *unstructured.Unstructured {
	return extTok(name, user, age, ttlMs, append([]func(map[string]any){kindOf("kubeconfig"), set(kc, "metadata", "labels", labelKubeconfigID)}, mods...)...)
}

func kcSetting(name, value string) *unstructured.Unstructured { return settingObj(name, value, "") }

// rancherKubeconfigs makes kubeconfig creates behave as Rancher's: a
// generated name, the content and tokens in the response, stored without
// the content unless a dry run; 2.14 drops includeDefaultEntry.
func (f *fakeRancher) rancherKubeconfigs(version string) {
	f.react("create", "kubeconfigs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		u := ca.GetObject().(*unstructured.Unstructured).DeepCopy()
		u.SetName("kubeconfig-abcde")
		u.SetUID("uid-kubeconfig-abcde")
		u.SetCreationTimestamp(metav1.NewTime(fixedNow))
		u.SetLabels(map[string]string{labelUserID: "u-alice"})
		if version == "2.14" {
			unstructured.RemoveNestedField(u.Object, "spec", "includeDefaultEntry")
		}
		if ttl, _, _ := unstructured.NestedInt64(u.Object, "spec", "ttl"); ttl == 0 {
			_ = unstructured.SetNestedField(u.Object, int64(2592000), "spec", "ttl")
		}
		if cur, _, _ := unstructured.NestedString(u.Object, "spec", "currentContext"); cur == "" {
			cl, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "clusters")
			_ = unstructured.SetNestedField(u.Object, append(cl, "rancher")[0], "spec", "currentContext")
		}
		_ = unstructured.SetNestedField(u.Object, "Complete", "status", "summary")
		_ = unstructured.SetNestedStringSlice(u.Object, []string{"token-kcabc"}, "status", "tokens")
		if len(ca.CreateOptions.DryRun) == 0 {
			if err := f.Dyn.Tracker().Create(kubeconfigsGVR, u.DeepCopy(), ""); err != nil {
				return true, nil, err
			}
			_ = unstructured.SetNestedField(u.Object, kcValue, "status", "value")
		}
		return true, u, nil
	})
}

// refuses makes creates of kubeconfigs fail as the server would.
func refuses(code int32, reason metav1.StatusReason, msg string) func(*fakeRancher) {
	return func(f *fakeRancher) {
		f.react("create", "kubeconfigs", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, statusErr(code, reason, msg)
		})
	}
}

// serveKubeconfigTable is Rancher's Kubeconfig table (§12) of the fake's
// objects: NAME TTL TOKENS STATUS AGE, wide USER CLUSTERS DESCRIPTION.
func (f *fakeRancher) serveKubeconfigTable(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, kubeconfigsPath), "/")
	var items []unstructured.Unstructured
	if name != "" {
		obj, err := f.Dyn.Tracker().Get(kubeconfigsGVR, "", name)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404,
				Message: `kubeconfigs.ext.cattle.io "` + name + `" not found`, Details: &metav1.StatusDetails{Name: name, Group: "ext.cattle.io", Kind: "kubeconfigs"}})
			return
		}
		items = append(items, *obj.(*unstructured.Unstructured))
	} else {
		obj, _ := f.Dyn.Tracker().List(kubeconfigsGVR, schema.GroupVersionKind{Group: "ext.cattle.io", Version: "v1", Kind: "Kubeconfig"}, "")
		items = obj.(*unstructured.UnstructuredList).Items
		slices.SortFunc(items, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	}
	table := metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"}, {Name: "TTL", Type: "string"}, {Name: "Tokens", Type: "string"}, {Name: "Status", Type: "string"}, {Name: "Age", Type: "string"},
		{Name: "User", Type: "string", Priority: 1}, {Name: "Clusters", Type: "string", Priority: 1}, {Name: "Description", Type: "string", Priority: 1}}}
	for i := range items {
		k := kubeconfigFrom(&items[i])
		raw, _ := json.Marshal(map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": items[i].Object["metadata"]})
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells: []any{k.Name, duration.HumanDuration(time.Duration(k.TTL) * time.Second), fmt.Sprintf("%d/%d", len(k.Tokens), len(k.Tokens)), k.Summary,
				duration.HumanDuration(fixedNow.Sub(k.Created)), k.User, strings.Join(k.Clusters, ","), k.Description},
			Object: runtime.RawExtension{Raw: raw},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(table)
}

// someKubeconfigs: alice's CI kubeconfig with two tokens, bob's for every
// cluster with a description a terminal must not obey.
func someKubeconfigs() []runtime.Object {
	return []runtime.Object{
		kcObj("kubeconfig-ci", "u-alice", 2*time.Hour, 8*3600, []any{"c-m-abc12", "c-m-def34"}, "token-kca", "token-kcb"),
		kcToken("token-kca", "kubeconfig-ci", "u-alice", 2*time.Hour, 8*msPerHour, set("2026-11-22T11:30:00Z", "status", "lastUsedAt")),
		kcToken("token-kcb", "kubeconfig-ci", "u-alice", 2*time.Hour, 8*msPerHour, set("c-m-def34", "spec", "clusterName")),
		kcObj("kubeconfig-bob", "u-bob", 3*day, 30*24*3600, []any{"*"}),
	}
}

func withDescription(o runtime.Object, d string) runtime.Object {
	u := o.(*unstructured.Unstructured)
	_ = unstructured.SetNestedField(u.Object, d, "spec", "description")
	return u
}

func TestKubeconfigCreate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ci.kubeconfig")
	existing := filepath.Join(t.TempDir(), "existing.kubeconfig")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := []runtime.Object{kcSetting("kubeconfig-default-token-ttl-minutes", "43200"), kcSetting("auth-token-max-ttl-minutes", "129600")}
	v2_15 := func(f *fakeRancher) { f.rancherKubeconfigs("2.15") }
	v2_14 := func(f *fakeRancher) { f.rancherKubeconfigs("2.14") }
	stdout := []string{"kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", "-"}
	runCases(t, []cmdCase{
		{name: "the kubeconfig on stdout when asked, the summary on stderr", args: append(stdout, "--ttl", "2h", "--description", "CI"), objs: settings, setup: v2_15,
			golden: "kubeconfig-create-stdout", requests: []string{kcMaxReq, kcDefReq, maxTTLReq, kcCreateReq}},
		{name: "the TTL is sent in seconds", args: append(stdout, "--ttl", "1d12h"), setup: v2_15,
			check: sent("spec", "ttl", int64(129600))},
		{name: "no --ttl asks for the server default and reads no settings", args: stdout, setup: v2_15,
			requests: []string{kcCreateReq}, stderr: []string{"expires 2026-12-22T12:00:00Z (TTL 30d)"}},
		{name: "a TTL above the maximum is refused with the server's numbers before anything is sent", args: append(stdout, "--ttl", "31d"), objs: settings,
			exit: 1, golden: "kubeconfig-create-ttl-too-long", requests: []string{kcMaxReq, kcDefReq, maxTTLReq}},
		{name: "the maximum is kubeconfig-max-token-ttl-minutes where it exists", args: append(stdout, "--ttl", "91d"),
			objs: append(settings, kcSetting("kubeconfig-max-token-ttl-minutes", "129600")), exit: 1,
			stderr: []string{"--ttl 91d (7862400 s) exceeds this Rancher's maximum for kubeconfigs, 90d (7776000 s; kubeconfig-max-token-ttl-minutes=129600): pass --ttl 90d or less"}},
		{name: "the server's own refusal of a long TTL says the same", args: append(stdout, "--ttl", "40d"),
			setup: refuses(400, metav1.StatusReasonBadRequest, "spec.ttl 3456000 exceeds max ttl 2592000"), exit: 1,
			stderr: []string{"--ttl 40d (3456000 s) exceeds this Rancher's maximum for kubeconfigs, 30d (2592000 s; spec.ttl 3456000 exceeds max ttl 2592000): pass --ttl 30d or less"}},
		{name: "never is refused", args: append(stdout, "--ttl", "never"), exit: 1, requests: none,
			stderr: []string{"--ttl never: Rancher kubeconfigs always expire"}},
		{name: "a TTL in fractions of a second is refused", args: append(stdout, "--ttl", "1500ms"), exit: 1, requests: none,
			stderr: []string{"this API counts whole seconds"}},
		{name: "without --kubeconfig-file nothing is sent", args: []string{"kubeconfig", "create", "c-m-abc12"}, exit: 1, requests: none,
			golden: "kubeconfig-create-no-file"},
		{name: "an existing file is refused before anything is sent", args: []string{"kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", existing}, exit: 1, requests: none,
			stderr: []string{"refusing to overwrite " + existing + ": it exists; pass --force"}},
		{name: "-o with stdout is refused", args: append(stdout, "-o", "name"), exit: 1, requests: none, stderr: []string{"both want stdout"}},
		{name: "a bare * is refused", args: []string{"kubeconfig", "create", "*", "--kubeconfig-file", "-"}, exit: 1, requests: none, stderr: []string{"pass --all-clusters"}},
		{name: "a cluster named twice is refused", args: []string{"kubeconfig", "create", "c-m-abc12", "c-m-abc12", "--kubeconfig-file", "-"}, exit: 1, requests: none,
			stderr: []string{"cluster c-m-abc12 is named twice"}},
		{name: "--all-clusters sends *", args: []string{"kubeconfig", "create", "--all-clusters", "--kubeconfig-file", "-"}, setup: v2_15,
			check: sent("spec", "clusters", []any{"*"})},
		{name: "--include-default-entry=false without clusters is refused", args: []string{"kubeconfig", "create", "--include-default-entry=false", "--kubeconfig-file", "-"},
			exit: 1, requests: none, stderr: []string{"Rancher requires at least one cluster then"}},
		{name: "--include-default-entry=false is sent on 2.15", args: append(stdout, "--include-default-entry=false"), setup: v2_15,
			check: sent("spec", "includeDefaultEntry", false)},
		{name: "--include-default-entry is not sent unless given", args: stdout, setup: v2_15, check: notSent("spec", "includeDefaultEntry")},
		{name: "--include-default-entry=false dropped by 2.14 deletes the kubeconfig again", args: append(stdout, "--include-default-entry=false"), setup: v2_14,
			exit: 1, golden: "kubeconfig-create-default-entry-dropped", requests: []string{kcCreateReq, kcUndoReq}},
		{name: "-o name prints the name for delete", args: []string{"kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", out, "-o", "name"}, setup: v2_15,
			stdout: []string{"kubeconfig.ext.cattle.io/kubeconfig-abcde\n"}},
		{name: "client dry run sends nothing and needs no file", args: []string{"kubeconfig", "create", "c-m-abc12", "--ttl", "2h", "--dry-run", "-o", "yaml"}, requests: none,
			golden: "kubeconfig-create-dry-run"},
		{name: "server dry run writes nothing", args: []string{"kubeconfig", "create", "c-m-abc12", "--dry-run=server"}, setup: v2_15,
			stdout: []string{"kubeconfig.ext.cattle.io/kubeconfig-abcde created (server dry run)\n"}, requests: []string{kcCreateReq}},
	})
}

// TestKubeconfigCreateServerAnswers: each documented refusal (§12, §13)
// is one line that says what to do.
func TestKubeconfigCreateServerAnswers(t *testing.T) {
	args := []string{"kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", "-"}
	forbidden := func(msg string) func(*fakeRancher) {
		return refuses(403, metav1.StatusReasonForbidden, "kubeconfigs.ext.cattle.io is forbidden: "+msg)
	}
	bad := func(msg string) func(*fakeRancher) { return refuses(400, metav1.StatusReasonBadRequest, msg) }
	runCases(t, []cmdCase{
		{name: "not a Rancher user", args: args, setup: forbidden("user system:admin is not a Rancher user"), exit: 1,
			stderr: []string{"only Rancher users can create kubeconfigs; use a kubeconfig Rancher issued"}},
		{name: "an ext-token caller on 2.14", args: args, setup: forbidden("error getting request token"), exit: 1,
			golden: "kubeconfig-create-request-token"},
		{name: "cluster not found", args: args, setup: bad("cluster c-m-abc12 not found"), exit: 1,
			stderr: []string{`Rancher has no cluster "c-m-abc12"`, "kubectl get clusters.management.cattle.io"}},
		{name: "not allowed", args: args, setup: forbidden("user u-alice is not allowed to access cluster c-m-abc12"), exit: 1,
			stderr: []string{"is not allowed to access cluster c-m-abc12: leave that cluster out, or ask a Rancher administrator"}},
		{name: "invalid currentContext", args: append(args, "--current-context", "prod"), setup: bad("invalid currentContext prod"), exit: 1,
			stderr: []string{"Rancher refused --current-context (invalid currentContext prod): it must name one of the kubeconfig's entries"}},
		{name: "negative ttl", args: args, setup: bad("spec.ttl can't be negative"), exit: 1, stderr: []string{"Rancher kubeconfigs always expire"}},
		{name: "duplicate clusters", args: args, setup: bad("spec.clusters must be unique"), exit: 1, stderr: []string{"name each cluster once"}},
		{name: "no cluster without the default entry", args: args, setup: bad("at least one cluster is required when includeDefaultEntry is false"), exit: 1,
			stderr: []string{"name a cluster, or drop --include-default-entry=false"}},
	})
}

// TestWrapKubeconfigNotServed: a cluster without the API says which
// Rancher serves it (the runner's own /version probe is not faked here).
func TestWrapKubeconfigNotServed(t *testing.T) {
	err := kubeconfigClient{}.wrap(statusErr(404, metav1.StatusReasonNotFound, "the server could not find the requested resource"), "create", "")
	if err == nil || !strings.Contains(err.Error(), kubeconfigNotServed) {
		t.Errorf("got %v", err)
	}
}

// TestKubeconfigCreateWritesPrivateFile: the content goes to a new 0600
// file and nowhere else; --force replaces a file.
func TestKubeconfigCreateWritesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ci.kubeconfig")
	f := newRancher(t)
	f.rancherKubeconfigs("2.15")
	res := run(t, f, "kubeconfig", "create", "c-m-abc12", "--ttl", "2h", "--kubeconfig-file", path)
	if res.Exit != 0 || res.Stdout != "" || strings.Contains(res.Stderr, "s3cr3tvalue") ||
		!strings.Contains(res.Stderr, "written to "+path+" (mode 0600)") || !strings.Contains(res.Stderr, "kubectl exttoken kubeconfig delete kubeconfig-abcde") {
		t.Fatalf("%s", res)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st, err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil || kc.AuthInfos["c-m-abc12"].Token != "ext/token-kcabc:s3cr3tvalue" {
		t.Fatalf("file: %v %v", kc, err)
	}
	// The stored object never holds the content.
	obj, _ := f.Dyn.Tracker().Get(kubeconfigsGVR, "", "kubeconfig-abcde")
	if v, found, _ := unstructured.NestedString(obj.(*unstructured.Unstructured).Object, "status", "value"); found || v != "" {
		t.Errorf("stored content %q", v)
	}
	// A second create into the same file is refused before a request;
	// --force replaces it.
	f2 := newRancher(t)
	f2.rancherKubeconfigs("2.15")
	if res := run(t, f2, "kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", path); res.Exit != 1 || len(f2.Requests()) != 0 {
		t.Errorf("existing file: %s, requests %q", res, f2.Requests())
	}
	if res := run(t, f2, "kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", path, "--force"); res.Exit != 0 {
		t.Errorf("--force: %s", res)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file mode %v, %v", st, err)
	}
	// -o yaml shows the object without its content.
	f3 := newRancher(t)
	f3.rancherKubeconfigs("2.15")
	res = run(t, f3, "kubeconfig", "create", "c-m-abc12", "--kubeconfig-file", filepath.Join(t.TempDir(), "k"), "-o", "yaml")
	if res.Exit != 0 || strings.Contains(res.Stdout, "s3cr3tvalue") || !strings.Contains(res.Stdout, "name: kubeconfig-abcde") {
		t.Errorf("-o yaml: %s", res)
	}
}

// sent checks a field of the object the command created.
func sent(path ...any) func(*testing.T, *fakeRancher, clitest.Result) {
	want := path[len(path)-1]
	fields := make([]string, len(path)-1)
	for i := range fields {
		fields[i] = path[i].(string)
	}
	return func(t *testing.T, f *fakeRancher, res clitest.Result) {
		t.Helper()
		obj, err := f.Dyn.Tracker().Get(kubeconfigsGVR, "", "kubeconfig-abcde")
		if err != nil {
			t.Fatalf("nothing created: %v\n%s", err, res)
		}
		got, found, _ := unstructured.NestedFieldCopy(obj.(*unstructured.Unstructured).Object, fields...)
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !found || string(gotJSON) != string(wantJSON) {
			t.Errorf("%s = %s, want %s", strings.Join(fields, "."), gotJSON, wantJSON)
		}
	}
}

func notSent(fields ...string) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, f *fakeRancher, res clitest.Result) {
		t.Helper()
		obj, err := f.Dyn.Tracker().Get(kubeconfigsGVR, "", "kubeconfig-abcde")
		if err != nil {
			t.Fatalf("nothing created: %v\n%s", err, res)
		}
		if _, found, _ := unstructured.NestedFieldCopy(obj.(*unstructured.Unstructured).Object, fields...); found {
			t.Errorf("%s was sent", strings.Join(fields, "."))
		}
	}
}

func TestKubeconfigListGetDescribe(t *testing.T) {
	objs := someKubeconfigs()
	objs[3] = withDescription(objs[3], "evil\x1b[31m\nforged")
	runCases(t, []cmdCase{
		{name: "the server's table", args: []string{"kubeconfig", "list"}, objs: objs, golden: "kubeconfig-list", requests: none,
			check: tables("GET " + kubeconfigsPath + "?limit=500")},
		{name: "the server's wide table", args: []string{"kubeconfig", "list", "-o", "wide"}, objs: objs, golden: "kubeconfig-list-wide"},
		{name: "names", args: []string{"kubeconfig", "list", "-o", "name"}, objs: objs,
			stdout: []string{"kubeconfig.ext.cattle.io/kubeconfig-bob\nkubeconfig.ext.cattle.io/kubeconfig-ci\n"}},
		{name: "no kubeconfigs", args: []string{"kubeconfig", "list"}, stderr: []string{"No kubeconfigs found."}},
		{name: "get: the server's row", args: []string{"kubeconfig", "get", "kubeconfig-ci"}, objs: objs, golden: "kubeconfig-get",
			check: tables("GET " + kubeconfigsPath + "/kubeconfig-ci")},
		{name: "get accepts what -o name printed", args: []string{"kubeconfig", "get", "kubeconfig.ext.cattle.io/kubeconfig-ci", "-o", "name"}, objs: objs,
			stdout: []string{"kubeconfig.ext.cattle.io/kubeconfig-ci\n"}, requests: []string{"get kubeconfigs.ext.cattle.io kubeconfig-ci"}},
		{name: "get: not found points at kubeconfig list", args: []string{"kubeconfig", "get", "kubeconfig-nope", "-o", "yaml", "--context", "prod"}, objs: objs, exit: 1,
			golden: "kubeconfig-get-not-found"},
		{name: "describe: owner, clusters, expiry and each token", args: []string{"kubeconfig", "describe", "kubeconfig-ci"}, objs: objs, golden: "kubeconfig-describe",
			requests: []string{"get kubeconfigs.ext.cattle.io kubeconfig-ci", "get tokens.ext.cattle.io token-kca", "get tokens.ext.cattle.io token-kcb"}},
		{name: "describe escapes server text", args: []string{"kubeconfig", "describe", "kubeconfig-bob"}, objs: objs, golden: "kubeconfig-describe-escaped"},
	})
}

func TestKubeconfigDelete(t *testing.T) {
	gone := func(names ...string) func(*testing.T, *fakeRancher, clitest.Result) {
		return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
			t.Helper()
			for _, n := range names {
				if _, err := f.Dyn.Tracker().Get(kubeconfigsGVR, "", n); err == nil {
					t.Errorf("%s still exists", n)
				}
			}
		}
	}
	runCases(t, []cmdCase{
		{name: "says it takes its tokens with it", args: []string{"kubeconfig", "delete", "kubeconfig-ci"}, objs: someKubeconfigs(), golden: "kubeconfig-delete",
			requests: []string{"get kubeconfigs.ext.cattle.io kubeconfig-ci", "delete kubeconfigs.ext.cattle.io kubeconfig-ci"}, check: gone("kubeconfig-ci")},
		{name: "accepts what create -o name printed", args: []string{"kubeconfig", "delete", "kubeconfig.ext.cattle.io/kubeconfig-bob"}, objs: someKubeconfigs(),
			stdout: []string{`kubeconfig.ext.cattle.io "kubeconfig-bob" deleted`}, check: gone("kubeconfig-bob")},
		{name: "one missing fails with one line, the others go", args: []string{"kubeconfig", "delete", "kubeconfig-nope", "kubeconfig-bob"}, objs: someKubeconfigs(), exit: 1,
			golden: "kubeconfig-delete-partial", check: gone("kubeconfig-bob")},
		{name: "dry run deletes nothing", args: []string{"kubeconfig", "delete", "kubeconfig-ci", "--dry-run"}, objs: someKubeconfigs(),
			stdout: []string{"and its tokens (token-kca, token-kcb) deleted (dry run)"}, requests: []string{"get kubeconfigs.ext.cattle.io kubeconfig-ci"}},
		{name: "a name that cannot be one", args: []string{"kubeconfig", "delete", "Kube_X"}, exit: 1, requests: none, stderr: []string{"invalid kubeconfig name"}},
	})
}
