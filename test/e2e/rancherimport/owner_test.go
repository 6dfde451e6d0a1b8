//go:build e2e

package rancherimport

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// clusterCreator is a Rancher user who may create clusters (the global
// role clusters-create) and read settings (role user), nothing more: a
// kubeconfig whose current context "owner" is that user on Rancher's
// local cluster, plus admin contexts of the downstream clusters.
func clusterCreator(t *testing.T, ws string) string {
	t.Helper()
	ctx := context.Background()
	_, path, err := env.User("owner-" + ws)
	if err != nil {
		t.Fatal(err)
	}
	user := "owner-" + ws
	rbac := kubernetes.NewForConfigOrDie(env.Config).RbacV1()
	subject := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "clusters-create-" + ws},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"provisioning.cattle.io"}, Resources: []string{"clusters"}, Verbs: []string{"create"}},
			{APIGroups: []string{"management.cattle.io"}, Resources: []string{"settings"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitForAccess(ctx, env.Config, authorizationv1.SubjectAccessReviewSpec{User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Group: "provisioning.cattle.io", Resource: "clusters", Namespace: ws}}); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kc.Contexts["owner"] = kc.Contexts[user]
	delete(kc.Contexts, user)
	kc.CurrentContext = "owner"
	downSet.AddTo(kc)
	out := filepath.Join(t.TempDir(), "owner.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportByANonAdminClusterCreator(t *testing.T) {
	downstreams(t)
	im := startRancher(t, rancher.ImportOptions{Release: rancher.R2_15_0})
	startAgents(t, im)
	ws := im.Workspace()
	kc := clusterCreator(t, ws)
	// Someone else's cluster of the name the owner will ask for.
	taken := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "provisioning.cattle.io/v1", "kind": "Cluster",
		"metadata": map[string]any{"name": "taken"}, "spec": map[string]any{},
	}}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	if _, err := dyn.Resource(rancher.ProvisioningClustersGVR).Namespace(ws).Create(context.Background(), taken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := *runner
	r.Dir = t.TempDir()
	run := func(args ...string) plugintest.Result {
		return r.Kubectl(append([]string{"regtoken", "--kubeconfig", kc}, args...)...)
	}

	res := run("import", "edge-1", "-n", ws)
	if res.Code != 0 {
		t.Fatalf("a cluster creator imports without admin rights: %s", res)
	}
	wantStatus(t, res, map[string]string{"edge-1": "Active"})
	ids := clusterIDs(t, ws)
	noSecrets(t, res, tokensOf(t, ids)...)
	prov, err := dyn.Resource(rancher.ProvisioningClustersGVR).Namespace(ws).Get(context.Background(), "edge-1", metav1.GetOptions{})
	if err != nil || prov.GetAnnotations()[rancher.CreatorAnnotation] != "owner-"+ws {
		t.Errorf("edge-1's creator: %v (%v)", prov.GetAnnotations(), err)
	}

	res = run("import", "edge-2", "--name", "taken", "-n", ws)
	want := `error: Rancher cluster "taken" in namespace "` + ws + `" exists and is not yours (Rancher answers 403 to anyone but its owners): pick another --name, or ask its owner or an admin`
	if res.Code != 1 || strings.TrimSpace(res.Stderr[strings.LastIndex(strings.TrimSpace(res.Stderr), "\n")+1:]) != want {
		t.Errorf("someone else's cluster: %s\nwant last line %s", res, want)
	}
}
