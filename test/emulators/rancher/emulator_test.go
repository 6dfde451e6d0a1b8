//go:build e2e

package rancher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env   *testenv.Env
	emu   *rancher.Emulator
	alice *rancher.User
	bob   *rancher.User
	root  *rancher.User
	// rest configs of the Rancher users (impersonated with requesttokenid)
	aliceCfg, bobCfg, rootCfg, noTokenCfg *rest.Config
)

var tokensGVR = schema.GroupVersionResource{Group: "ext.cattle.io", Version: "v1", Resource: "tokens"}

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	env, err = testenv.Start(testenv.Options{FrontProxy: true, CRDDirs: []string{rancher.CRDDir}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if emu, err = rancher.Start(ctx, env.Config, env.FrontProxy, rancher.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = emu.Stop() }()
	if err := setupUsers(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func setupUsers(ctx context.Context) error {
	_, proxyKC, err := env.User("rancher-proxy")
	if err != nil {
		return err
	}
	if err := rancher.AllowImpersonation(ctx, env.Config, "rancher-proxy"); err != nil {
		return err
	}
	base, err := clientcmd.LoadFromFile(proxyKC)
	if err != nil {
		return err
	}
	cfgFor := func(u, tokenID string) (*rest.Config, error) {
		kc, err := rancher.UserKubeconfig(base, u, tokenID)
		if err != nil {
			return nil, err
		}
		return clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	}
	for _, s := range []struct {
		u   **rancher.User
		cfg **rest.Config
		o   rancher.UserOptions
	}{
		{&alice, &aliceCfg, rancher.UserOptions{Name: "u-alice", DisplayName: "Alice"}},
		{&bob, &bobCfg, rancher.UserOptions{Name: "u-bob"}},
		{&root, &rootCfg, rancher.UserOptions{Name: "u-root", Admin: true}},
	} {
		if *s.u, err = rancher.AddUser(ctx, env.Config, s.o); err != nil {
			return err
		}
		if *s.cfg, err = cfgFor((*s.u).Name, (*s.u).TokenID); err != nil {
			return err
		}
	}
	noTokenCfg, err = cfgFor("u-alice", "")
	return err
}

func tokens(t *testing.T, cfg *rest.Config) dynamic.NamespaceableResourceInterface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn.Resource(tokensGVR)
}

func newToken(spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "ext.cattle.io/v1", "kind": "Token", "spec": spec}}
}

func wantStatus(t *testing.T, err error, code int32, msg string) {
	t.Helper()
	var st apierrors.APIStatus
	if err == nil || !errorsAs(err, &st) {
		t.Fatalf("want status %d %q, got %v", code, msg, err)
	}
	if st.Status().Code != code || st.Status().Message != msg {
		t.Fatalf("want %d %q, got %d %q", code, msg, st.Status().Code, st.Status().Message)
	}
}

func errorsAs(err error, st *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*st = s
	}
	return ok
}

func TestCreateValueOnceAndStorage(t *testing.T) {
	ctx := context.Background()
	created, err := tokens(t, aliceCfg).Create(ctx, newToken(map[string]any{"description": "ci", "ttl": int64(3600000)}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.GetName()
	value, _, _ := unstructured.NestedString(created.Object, "status", "value")
	bearer, _, _ := unstructured.NestedString(created.Object, "status", "bearerToken")
	if !strings.HasPrefix(name, "token-") || len(value) != 54 || bearer != "ext/"+name+":"+value {
		t.Fatalf("create response: name %q value %q bearer %q", name, value, bearer)
	}
	if p, _, _ := unstructured.NestedString(created.Object, "spec", "userPrincipal", "name"); p != "local://u-alice" {
		t.Errorf("principal %q, want the request token's", p)
	}
	got, err := tokens(t, aliceCfg).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got.Object)
	if strings.Contains(string(raw), value) || strings.Contains(string(raw), `"hash"`) {
		t.Errorf("get returns the value or (on main) the hash: %s", raw)
	}
	sec, err := env.Clientset().CoreV1().Secrets("cattle-tokens").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels["cattle.io/kind"] != "token" || sec.Labels["cattle.io/user-id"] != "u-alice" || string(sec.Data["kube-uid"]) != string(got.GetUID()) {
		t.Errorf("secret: %+v", sec.ObjectMeta)
	}
	if !strings.HasPrefix(string(sec.Data["hash"]), "$3:1:") || strings.Contains(fmt.Sprint(sec.Data), value) {
		t.Errorf("secret stores %q as hash", sec.Data["hash"])
	}
	// Other users get 404; admins see it.
	_, err = tokens(t, bobCfg).Get(ctx, name, metav1.GetOptions{})
	wantStatus(t, err, 404, fmt.Sprintf("tokens.ext.cattle.io %q not found", name))
	if _, err := tokens(t, rootCfg).Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Errorf("admin get: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	_, err := tokens(t, env.Config).Create(ctx, newToken(map[string]any{}), metav1.CreateOptions{})
	wantStatus(t, err, 403, "tokens.ext.cattle.io is forbidden: user admin is not a Rancher user")
	_, err = tokens(t, aliceCfg).Create(ctx, newToken(map[string]any{"userID": "u-bob"}), metav1.CreateOptions{})
	wantStatus(t, err, 400, "unable to create token for other user")
	_, err = tokens(t, noTokenCfg).Create(ctx, newToken(map[string]any{}), metav1.CreateOptions{})
	wantStatus(t, err, 403, "tokens.ext.cattle.io is forbidden: missing authentication token ID")
	_, err = tokens(t, aliceCfg).Create(ctx, newToken(map[string]any{"clusterName": "c-nope"}), metav1.CreateOptions{})
	wantStatus(t, err, 400, "cluster c-nope not found")
	_, err = tokens(t, aliceCfg).Create(ctx, newToken(map[string]any{"clusterName": "local"}), metav1.CreateOptions{})
	wantStatus(t, err, 403, "tokens.ext.cattle.io is forbidden: user u-alice is not allowed to access cluster local")
}

func TestUpdateRules(t *testing.T) {
	ctx := context.Background()
	c := tokens(t, aliceCfg)
	created, err := c.Create(ctx, newToken(map[string]any{"ttl": int64(7200000)}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.GetName()
	patch := func(p string) error {
		_, err := c.Patch(ctx, name, types.MergePatchType, []byte(p), metav1.PatchOptions{})
		return err
	}
	wantStatus(t, patch(`{"spec":{"ttl":7200001}}`), 400, "forbidden to extend time-to-live")
	wantStatus(t, patch(`{"spec":{"ttl":-1}}`), 400, "forbidden to extend time-to-live")
	wantStatus(t, patch(`{"spec":{"kind":"session"}}`), 400, "spec.kind is immutable")
	wantStatus(t, patch(`{"spec":{"userID":"u-bob"}}`), 400, "spec.userID is immutable")
	wantStatus(t, patch(`{"metadata":{"uid":"x"}}`), 400, "meta.UID is immutable")
	// Admins may not extend either (Rancher passes fullPermission=false).
	_, err = tokens(t, rootCfg).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"ttl":7200001}}`), metav1.PatchOptions{})
	wantStatus(t, err, 400, "forbidden to extend time-to-live")
	if err := patch(`{"spec":{"ttl":60000,"enabled":false,"description":"short"}}`); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ttl, _, _ := unstructured.NestedInt64(got.Object, "spec", "ttl")
	enabled, _, _ := unstructured.NestedBool(got.Object, "spec", "enabled")
	if ttl != 60000 || enabled {
		t.Errorf("after patch ttl=%d enabled=%v", ttl, enabled)
	}
	_, err = tokens(t, bobCfg).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"description":"x"}}`), metav1.PatchOptions{})
	wantStatus(t, err, 404, fmt.Sprintf("tokens.ext.cattle.io %q not found", name))
}

func TestListVisibilityAndTable(t *testing.T) {
	ctx := context.Background()
	if _, err := tokens(t, bobCfg).Create(ctx, newToken(map[string]any{"description": "bob's"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := tokens(t, aliceCfg).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if u, _, _ := unstructured.NestedString(it.Object, "spec", "userID"); u != "u-alice" {
			t.Errorf("alice sees %s of %s", it.GetName(), u)
		}
	}
	all, err := tokens(t, rootCfg).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) <= len(l.Items) {
		t.Errorf("admin sees %d tokens, alice %d", len(all.Items), len(l.Items))
	}
	// The server-side Table, as kubectl asks for it.
	rc, err := rest.RESTClientFor(tableConfig(rootCfg))
	if err != nil {
		t.Fatal(err)
	}
	body, err := rc.Get().AbsPath("/apis/ext.cattle.io/v1/tokens").Param("limit", "1").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").DoRaw(ctx)
	if err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var tb metav1.Table
	if err := json.Unmarshal(body, &tb); err != nil {
		t.Fatal(err)
	}
	if len(tb.ColumnDefinitions) != 6 || len(tb.Rows) != 1 || tb.Continue == "" {
		t.Errorf("table page: %s", body)
	}
}

func tableConfig(cfg *rest.Config) *rest.Config {
	c := dynamic.ConfigFor(cfg)
	c.GroupVersion = &schema.GroupVersion{}
	c.APIPath = "/apis"
	return c
}

func TestWatchDeleteCollectionAndPaging(t *testing.T) {
	ctx := context.Background()
	c := tokens(t, bobCfg)
	w, err := c.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created, err := c.Create(ctx, newToken(map[string]any{"description": "watched"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	value, _, _ := unstructured.NestedString(created.Object, "status", "value")
	for ev := range w.ResultChan() {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || u.GetName() != created.GetName() {
			continue
		}
		raw, _ := json.Marshal(u.Object)
		if strings.Contains(string(raw), value) || u.GetNamespace() != "" || u.GetLabels()["cattle.io/kind"] != "" {
			t.Errorf("watch event %s: %s", ev.Type, raw)
		}
		if owner, _, _ := unstructured.NestedString(u.Object, "spec", "userID"); owner != "u-bob" {
			t.Errorf("bob's watch shows %s's token", owner)
		}
		break
	}
	// Pages follow continue tokens.
	for range 3 {
		if _, err := c.Create(ctx, newToken(map[string]any{}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.GetContinue() == "" {
		t.Fatalf("page 1: %v %v", page, err)
	}
	rest, err := c.List(ctx, metav1.ListOptions{Limit: 100, Continue: page.GetContinue()})
	if err != nil || len(rest.Items) < 2 {
		t.Fatalf("page 2: %v", err)
	}
	// A server dry run creates nothing.
	dry, err := c.Create(ctx, newToken(map[string]any{}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || !strings.HasPrefix(dry.GetName(), "token-") {
		t.Fatalf("dry run: %v %v", dry, err)
	}
	if _, err := c.Get(ctx, dry.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run stored %s", dry.GetName())
	}
	// deletecollection (admins only: Rancher's user role lacks the verb)
	// with a selector removes just bob's tokens; 2.12 has no such verb.
	admin := tokens(t, rootCfg)
	bobs := metav1.ListOptions{LabelSelector: "cattle.io/user-id=u-bob"}
	emu.SetVersion(rancher.V2_12)
	err = admin.DeleteCollection(ctx, metav1.DeleteOptions{}, bobs)
	emu.SetVersion(rancher.Main)
	if !apierrors.IsMethodNotSupported(err) {
		t.Errorf("2.12 deletecollection: %v", err)
	}
	err = c.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a user's deletecollection: %v", err)
	}
	before, _ := admin.List(ctx, metav1.ListOptions{})
	own, _ := c.List(ctx, metav1.ListOptions{})
	if err := admin.DeleteCollection(ctx, metav1.DeleteOptions{}, bobs); err != nil {
		t.Fatal(err)
	}
	left, _ := c.List(ctx, metav1.ListOptions{})
	after, _ := tokens(t, rootCfg).List(ctx, metav1.ListOptions{})
	if len(own.Items) < 4 || len(left.Items) != 0 || len(after.Items) != len(before.Items)-len(own.Items) {
		t.Errorf("deletecollection: bob has %d left; all %d -> %d", len(left.Items), len(before.Items), len(after.Items))
	}
}

// TestFrontProxyRequired: without kube-apiserver's front-proxy
// certificate, X-Remote-User is not believed.
func TestFrontProxyRequired(t *testing.T) {
	cfg := &rest.Config{Host: fmt.Sprintf("https://127.0.0.1:%d", emu.Port), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	rc, err := rest.RESTClientFor(tableConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	err = rc.Get().AbsPath("/apis/ext.cattle.io/v1/tokens").SetHeader("X-Remote-User", "u-root").SetHeader("X-Remote-Group", "system:masters").Do(context.Background()).Error()
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("a direct request with forged headers: %v", err)
	}
}
