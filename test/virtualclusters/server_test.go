package virtualclusters

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// world is three virtual clusters and a kubeconfig naming them next to
// a management context nobody contacts.
func world(t *testing.T) (*Server, *cli.Factory) {
	t.Helper()
	s, err := Start(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	if err := os.WriteFile(base, []byte(`apiVersion: v1
kind: Config
clusters: [{name: mgmt, cluster: {server: "https://mgmt.invalid:6443"}}]
users: [{name: mgmt, user: {token: x}}]
contexts: [{name: mgmt, context: {cluster: mgmt, user: mgmt}}]
current-context: mgmt
`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	names, err := s.WriteKubeconfig(base, path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"virtual-0000", "virtual-0001", "virtual-0002"}) {
		t.Fatalf("contexts %v", names)
	}
	f := cli.NewFactory("kubectl-regtoken")
	f.ConfigFlags.KubeConfig = &path
	return s, f
}

func clientsFor(t *testing.T, f *cli.Factory, i int) (cli.Clients, *kubernetes.Clientset) {
	t.Helper()
	c, err := f.ForContext(ContextName(i))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, cs
}

// The preflight of enroll --mode manager, through the plugin's own code
// on clients made from the generated kubeconfig: every context reaches
// its own cluster (its own kube-system UID) and is allowed what manager
// mode checks.
func TestVirtualClustersAnswerManagerPreflightWithDistinctKubeSystemUIDs(t *testing.T) {
	s, f := world(t)
	ctx := context.Background()
	seen := map[string]bool{}
	for i := range 3 {
		c, _ := clientsFor(t, f, i)
		core, err := c.CoreV1()
		if err != nil {
			t.Fatal(err)
		}
		uid, err := fleet.KubeSystemUID(ctx, core)
		if err != nil {
			t.Fatalf("cluster %d: %v", i, err)
		}
		if uid != s.UID(i) || seen[uid] {
			t.Errorf("cluster %d: kube-system UID %q, want its own %q", i, uid, s.UID(i))
		}
		seen[uid] = true
		dyn, err := c.Dynamic()
		if err != nil {
			t.Fatal(err)
		}
		if err := fleet.CheckAccessOn(ctx, c, dyn, fleet.CredentialNamespace, "enroll", fleet.AccessCreateServiceAccounts, fleet.AccessCreateSATokens, fleet.AccessCreateBindings); err != nil {
			t.Errorf("cluster %d: %v", i, err)
		}
	}
	want := []string{"GET /api/v1/namespaces/kube-system 3", "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews 9"}
	if got := s.Requests(); !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

// Each request manager mode sends downstream, answered as kube-apiserver
// answers it, so that client-go's error helpers classify it the same.
func TestVirtualClustersAnswerLikeKubeAPIServer(t *testing.T) {
	s, f := world(t)
	ctx := context.Background()
	_, cs := clientsFor(t, f, 1)
	sas := cs.CoreV1().ServiceAccounts(fleet.CredentialNamespace)
	crbs := cs.RbacV1().ClusterRoleBindings()
	secs := int64(3600)
	short := int64(60)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fleet.CredentialAccount}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fleet.CredentialAccount}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: fleet.CredentialRole}}
	tests := []struct {
		name  string
		do    func() error
		check func(error) bool
	}{
		{"a TokenRequest for a missing ServiceAccount is NotFound", func() error {
			_, err := sas.CreateToken(ctx, fleet.CredentialAccount, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
			return err
		}, apierrors.IsNotFound},
		{"creating the ServiceAccount succeeds", func() error { _, err := sas.Create(ctx, sa, metav1.CreateOptions{}); return err }, isNil},
		{"creating it again is AlreadyExists", func() error { _, err := sas.Create(ctx, sa, metav1.CreateOptions{}); return err }, apierrors.IsAlreadyExists},
		{"getting a missing binding is NotFound", func() error { _, err := crbs.Get(ctx, fleet.CredentialAccount, metav1.GetOptions{}); return err }, apierrors.IsNotFound},
		{"creating the binding succeeds", func() error { _, err := crbs.Create(ctx, crb, metav1.CreateOptions{}); return err }, isNil},
		{"creating it again is AlreadyExists", func() error { _, err := crbs.Create(ctx, crb, metav1.CreateOptions{}); return err }, apierrors.IsAlreadyExists},
		{"the binding reads back with its role", func() error {
			got, err := crbs.Get(ctx, fleet.CredentialAccount, metav1.GetOptions{})
			if err == nil && got.RoleRef.Name != fleet.CredentialRole {
				return apierrors.NewBadRequest("role " + got.RoleRef.Name)
			}
			return err
		}, isNil},
		{"a TokenRequest under 10 minutes is Invalid", func() error {
			_, err := sas.CreateToken(ctx, fleet.CredentialAccount, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}}, metav1.CreateOptions{})
			return err
		}, apierrors.IsInvalid},
		{"a TokenRequest issues a token with its expiry", func() error {
			tr, err := sas.CreateToken(ctx, fleet.CredentialAccount, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
			if err == nil && (tr.Status.Token == "" || tr.Status.ExpirationTimestamp.IsZero()) {
				return apierrors.NewBadRequest("empty token")
			}
			return err
		}, isNil},
		{"a request manager mode never sends is NotFound", func() error { _, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); return err }, apierrors.IsNotFound},
	}
	for _, tt := range tests {
		if err := tt.do(); !tt.check(err) {
			t.Errorf("%s: got %v", tt.name, err)
		}
	}
	if !s.Has(1, "serviceaccounts/"+fleet.CredentialAccount) || s.Has(0, "serviceaccounts/"+fleet.CredentialAccount) || s.TokensIssued(1) != 1 {
		t.Errorf("cluster 1 should hold the ServiceAccount and one token, cluster 0 nothing: %v", s.Requests())
	}
	if s.Unexpected() != 1 {
		t.Errorf("unexpected requests %d, want 1 (the pod list): %v", s.Unexpected(), s.Requests())
	}
}

func TestVirtualClustersRefuseAnotherClustersToken(t *testing.T) {
	_, f := world(t)
	c, _ := clientsFor(t, f, 0)
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.BearerToken = Token(2)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("cluster 0 with cluster 2's token: got %v, want Unauthorized", err)
	}
}

func TestVirtualClustersResetGivesNewUIDsAndForgetsObjects(t *testing.T) {
	s, f := world(t)
	_, cs := clientsFor(t, f, 0)
	if _, err := cs.CoreV1().ServiceAccounts("kube-system").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := s.UID(0)
	s.Reset()
	if s.UID(0) == before || s.Has(0, "serviceaccounts/a") || len(s.Requests()) != 0 {
		t.Errorf("after Reset: UID %s (was %s), has SA %v, requests %v", s.UID(0), before, s.Has(0, "serviceaccounts/a"), s.Requests())
	}
}

func isNil(err error) bool { return err == nil }
