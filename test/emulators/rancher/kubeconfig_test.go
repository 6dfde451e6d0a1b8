//go:build e2e

package rancher_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

var kubeconfigsGVR = schema.GroupVersionResource{Group: "ext.cattle.io", Version: "v1", Resource: "kubeconfigs"}

func kubeconfigs(t *testing.T, cfg *rest.Config) dynamic.ResourceInterface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn.Resource(kubeconfigsGVR)
}

func newKubeconfig(spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "ext.cattle.io/v1", "kind": "Kubeconfig",
		"metadata": map[string]any{"generateName": "kubeconfig-"}, "spec": spec}}
}

// kcUser is a Rancher user who may reach the given clusters, with the
// rest config of its session.
func kcUser(t *testing.T, name string, clusters ...string) (*rancher.User, *rest.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := rancher.AddUser(ctx, env.Config, rancher.UserOptions{Name: name, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	base, err := clientcmd.LoadFromFile(filepath.Join(env.Dir, "rancher-proxy.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := rancher.UserKubeconfig(base, u.Name, u.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return u, cfg
}

func addCluster(t *testing.T, name, aceFQDN string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{"displayName": name}
	if aceFQDN != "" {
		spec["localClusterAuthEndpoint"] = map[string]any{"enabled": true, "fqdn": aceFQDN}
	}
	_, err = dyn.Resource(rancher.ClustersGVR).Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Cluster", "metadata": map[string]any{"name": name}, "spec": spec}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// whoami asks the apiserver behind context ctxName of kubeconfig value
// who the request was, as kubectl auth whoami does.
func whoami(t *testing.T, value, ctxName string) (*authenticationv1.SelfSubjectReview, error) {
	t.Helper()
	kc, err := clientcmd.Load([]byte(value))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{CurrentContext: ctxName}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
}

// TestKubeconfigWorksForEachClusterUntilDeleted: create mints a shared
// token plus one per ACE cluster, owned by the Kubeconfig; the kubeconfig
// reaches each cluster through the cluster proxy as its user; delete
// takes the tokens with it and the kubeconfig stops working.
func TestKubeconfigWorksForEachClusterUntilDeleted(t *testing.T) {
	addCluster(t, "c-m-kca", "")
	addCluster(t, "c-m-kcb", "kcb.example.com")
	u, cfg := kcUser(t, "u-kcuser", "c-m-kca", "c-m-kcb")
	ri := kubeconfigs(t, cfg)
	ctx := context.Background()
	created, err := ri.Create(ctx, newKubeconfig(map[string]any{"clusters": []any{"c-m-kca", "c-m-kcb"}, "ttl": int64(3600), "description": "CI"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.GetName()
	value, _, _ := unstructured.NestedString(created.Object, "status", "value")
	toks, _, _ := unstructured.NestedStringSlice(created.Object, "status", "tokens")
	if !strings.HasPrefix(name, "kubeconfig-") || value == "" || len(toks) != 2 {
		t.Fatalf("create response: %v", created.Object)
	}
	kc, err := clientcmd.Load([]byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if kc.CurrentContext != "c-m-kca" || len(kc.Contexts) != 4 { // rancher, both clusters, c-m-kcb-fqdn
		t.Errorf("contexts %v, current %s", kc.Contexts, kc.CurrentContext)
	}
	// The tokens: kind kubeconfig, the TTL in ms, labelled and owned.
	for i, tn := range toks {
		tok, err := tokens(t, cfg).Get(ctx, tn, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kind, _, _ := unstructured.NestedString(tok.Object, "spec", "kind")
		ttl, _, _ := unstructured.NestedInt64(tok.Object, "spec", "ttl")
		cl, _, _ := unstructured.NestedString(tok.Object, "spec", "clusterName")
		owners := tok.GetOwnerReferences()
		wantCluster := []string{"", "c-m-kcb"}[i]
		if kind != "kubeconfig" || ttl != 3600*1000 || cl != wantCluster || tok.GetLabels()[rancher.LabelKubeconfigID] != name ||
			len(owners) != 1 || owners[0].Kind != "Kubeconfig" || owners[0].UID != created.GetUID() {
			t.Errorf("token %s: kind %q ttl %d cluster %q labels %v owners %v", tn, kind, ttl, cl, tok.GetLabels(), owners)
		}
	}
	// get never returns the value.
	got, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, found, _ := unstructured.NestedString(got.Object, "status", "value"); found || v != "" {
		t.Errorf("get returned the value")
	}
	for _, cx := range []string{"c-m-kca", "c-m-kcb", "rancher"} {
		ssr, err := whoami(t, value, cx)
		if err != nil {
			t.Fatalf("context %s: %v", cx, err)
		}
		want := cx
		if cx == "rancher" {
			want = "local"
		}
		if ssr.Status.UserInfo.Username != u.Name || strings.Join(ssr.Status.UserInfo.Extra[rancher.ProxiedClusterExtra], ",") != want {
			t.Errorf("context %s: %+v", cx, ssr.Status.UserInfo)
		}
	}
	if _, err := ri.Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ri.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tn := range toks {
		if _, err := tokens(t, cfg).Get(ctx, tn, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("token %s outlived its kubeconfig: %v", tn, err)
		}
	}
	if _, err := whoami(t, value, "c-m-kca"); !apierrors.IsUnauthorized(err) {
		t.Errorf("a deleted kubeconfig still works: %v", err)
	}
}

// TestKubeconfigAnswers pins each documented refusal (§12, §13).
func TestKubeconfigAnswers(t *testing.T) {
	addCluster(t, "c-m-kcc", "")
	addCluster(t, "c-m-kcd", "")
	u, cfg := kcUser(t, "u-kcanswers", "c-m-kcc")
	ctx := context.Background()
	// 2.12-2.15: kubeconfig-default-token-ttl-minutes is also the maximum.
	emu.SetVersion(rancher.V2_15)
	defer emu.SetVersion(rancher.Main)
	create := func(cfg *rest.Config, spec map[string]any) error {
		_, err := kubeconfigs(t, cfg).Create(ctx, newKubeconfig(spec), metav1.CreateOptions{})
		return err
	}
	wantStatus(t, create(env.Config, map[string]any{}), 403, "kubeconfigs.ext.cattle.io is forbidden: user admin is not a Rancher user")
	wantStatus(t, create(noTokenCfg, map[string]any{}), 403, "kubeconfigs.ext.cattle.io is forbidden: error getting request token")
	wantStatus(t, create(cfg, map[string]any{"clusters": []any{"c-m-kcc", "c-m-kcc"}}), 400, "spec.clusters must be unique")
	wantStatus(t, create(cfg, map[string]any{"clusters": []any{"c-m-nope"}}), 400, "cluster c-m-nope not found")
	wantStatus(t, create(cfg, map[string]any{"clusters": []any{"c-m-kcd"}}), 403, "kubeconfigs.ext.cattle.io is forbidden: user "+u.Name+" is not allowed to access cluster c-m-kcd")
	wantStatus(t, create(cfg, map[string]any{"clusters": []any{"c-m-kcc"}, "currentContext": "c-m-kcd"}), 400, "invalid currentContext c-m-kcd")
	wantStatus(t, create(cfg, map[string]any{"ttl": int64(-1)}), 400, "spec.ttl can't be negative")
	// kubeconfig-default-token-ttl-minutes 43200 is the maximum.
	wantStatus(t, create(cfg, map[string]any{"ttl": int64(43200*60 + 1)}), 400, "spec.ttl 2592001 exceeds max ttl 2592000")

	// "*" is every cluster the user may get.
	all, err := kubeconfigs(t, cfg).Create(ctx, newKubeconfig(map[string]any{"clusters": []any{"*"}}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	value, _, _ := unstructured.NestedString(all.Object, "status", "value")
	kc, err := clientcmd.Load([]byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kc.Contexts["c-m-kcc"]; !ok || len(kc.Contexts) != 2 {
		t.Errorf("clusters * gave contexts %v", kc.Contexts)
	}
	if ttl, _, _ := unstructured.NestedInt64(all.Object, "spec", "ttl"); ttl != 43200*60 {
		t.Errorf("ttl 0 became %d, want the default 2592000", ttl)
	}

	// includeDefaultEntry exists from 2.15; ext-token callers only then.
	ext := newTokenFor(t, cfg)
	extCfg := withRequestToken(t, u, ext)
	for _, v := range []rancher.Version{rancher.V2_14, rancher.V2_15} {
		emu.SetVersion(v)
		noDefault := map[string]any{"includeDefaultEntry": false}
		err := create(cfg, noDefault)
		errExt := create(extCfg, map[string]any{"clusters": []any{"c-m-kcc"}})
		if v == rancher.V2_14 {
			if err != nil {
				t.Errorf("2.14 should drop includeDefaultEntry: %v", err)
			}
			wantStatus(t, errExt, 403, "kubeconfigs.ext.cattle.io is forbidden: error getting request token")
		} else {
			wantStatus(t, err, 400, "at least one cluster is required when includeDefaultEntry is false")
			if errExt != nil {
				t.Errorf("2.15 refused an ext-token caller: %v", errExt)
			}
		}
	}
}

// newTokenFor creates an ext token and returns its name.
func newTokenFor(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	tok, err := tokens(t, cfg).Create(context.Background(), newToken(map[string]any{}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.GetName()
}

// withRequestToken is u's config as authenticated by ext token name.
func withRequestToken(t *testing.T, u *rancher.User, name string) *rest.Config {
	t.Helper()
	base, err := clientcmd.LoadFromFile(filepath.Join(env.Dir, "rancher-proxy.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := rancher.UserKubeconfig(base, u.Name, "ext/"+name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
