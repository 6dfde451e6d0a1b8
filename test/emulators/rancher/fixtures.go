package rancher

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// CRDDir is the CRD directory relative to the repository root, for
// testenv.Options.CRDDirs.
const CRDDir = "test/emulators/rancher/crds"

//go:embed crds/*.yaml
var crdFiles embed.FS

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates the management.cattle.io CRDs that are missing and
// waits until each is Established.
func InstallCRDs(ctx context.Context, cfg *rest.Config) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	files, err := fs.Glob(crdFiles, "crds/*.yaml")
	if err != nil {
		return err
	}
	crds := dyn.Resource(crdGVR)
	for _, f := range files {
		b, err := crdFiles.ReadFile(f)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := crds.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("installing %s: %w", u.GetName(), err)
		}
		_, err = wait.Until(ctx, wait.ByName(crds, u.GetName()), "", func(ev watch.Event) (bool, error) {
			o, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", u.GetName(), err)
		}
	}
	return nil
}

// SettingDefault is one setting seeded with its documented default (§8).
type SettingDefault struct {
	Name, Default string
	MainOnly      bool
}

// DefaultSettings are the token-related settings with Rancher's
// defaults (2.8+); MainOnly ones exist only from the main branch on.
var DefaultSettings = []SettingDefault{
	{Name: "auth-token-max-ttl-minutes", Default: "129600"},
	{Name: "kubeconfig-default-token-ttl-minutes", Default: "43200"},
	{Name: "auth-user-session-ttl-minutes", Default: "960"},
	{Name: "auth-user-session-idle-ttl-minutes", Default: "960"},
	{Name: "kubeconfig-generate-token", Default: "true"},
	{Name: "auth-token-default-ttl-minutes", Default: "129600", MainOnly: true},
	{Name: "kubeconfig-max-token-ttl-minutes", Default: "129600", MainOnly: true},
}

// UserRole is the ClusterRole granting what Rancher's `user` role grants
// on tokens and settings (§3): no deletecollection.
const UserRole = "rancher-user"

// Seed creates what a fresh Rancher has and the emulator reads: the
// settings with their defaults, the token-hashing feature (off), the
// local cluster and the rancher-user ClusterRole. Existing objects are
// left as they are.
func Seed(ctx context.Context, cfg *rest.Config, v Version) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	create := func(gvr schema.GroupVersionResource, obj map[string]any) error {
		_, err := dyn.Resource(gvr).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	for _, s := range DefaultSettings {
		if s.MainOnly && !v.ingestWithDefault() {
			continue
		}
		if err := create(SettingsGVR, map[string]any{
			"apiVersion": "management.cattle.io/v3", "kind": "Setting",
			"metadata": map[string]any{"name": s.Name},
			"value":    "", "default": s.Default, "customized": false, "source": "",
		}); err != nil {
			return fmt.Errorf("setting %s: %w", s.Name, err)
		}
	}
	if err := create(FeaturesGVR, map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Feature",
		"metadata": map[string]any{"name": "token-hashing"},
		"spec":     map[string]any{"value": nil},
		"status": map[string]any{"default": false, "dynamic": false,
			"description": "Enable one-way hashing of tokens. Once enabled, token hashing can not be disabled"},
	}); err != nil {
		return fmt.Errorf("feature token-hashing: %w", err)
	}
	if err := create(ClustersGVR, map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Cluster",
		"metadata": map[string]any{"name": "local"},
		"spec":     map[string]any{"displayName": "local", "internal": true},
	}); err != nil {
		return fmt.Errorf("cluster local: %w", err)
	}
	rbac, err := rbacv1client.NewForConfig(cfg)
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: UserRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{Group}, Resources: []string{Resource, KubeconfigResource}, Verbs: []string{"get", "list", "watch", "create", "delete", "update", "patch"}},
			{APIGroups: []string{MgmtGroup}, Resources: []string{"settings"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("ClusterRole %s: %w", UserRole, err)
	}
	return nil
}

// UserOptions describe a Rancher user fixture.
type UserOptions struct {
	Name        string // users.management.cattle.io name, e.g. u-alice
	DisplayName string
	// Admin also binds cluster-admin, which makes the user a global admin
	// for the ext API (full access on resource "*").
	Admin bool
	// Disabled sets enabled: false.
	Disabled bool
	// Clusters the user may `get` (clusters.management.cattle.io), for
	// cluster-scoped tokens.
	Clusters []string
}

// User is a created Rancher user and the v3 session token that
// "authenticated" it: its name is the requesttokenid extra.
type User struct {
	Name    string
	TokenID string
	// SessionValue is the plaintext `token` field of that v3 token, for
	// tests that check it never shows up in output.
	SessionValue string
}

// AddUser creates a Rancher user, a v3 session token of it (as a login
// through Rancher would) and RBAC: the rancher-user role, cluster-admin
// for admins, and get on the given clusters.
func AddUser(ctx context.Context, cfg *rest.Config, o UserOptions) (*User, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if o.DisplayName == "" {
		o.DisplayName = o.Name
	}
	user := map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "User",
		"metadata":     map[string]any{"name": o.Name},
		"displayName":  o.DisplayName,
		"username":     o.Name,
		"principalIds": []any{"local://" + o.Name},
	}
	if o.Disabled {
		user["enabled"] = false
	}
	if _, err := dyn.Resource(UsersGVR).Create(ctx, &unstructured.Unstructured{Object: user}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("user %s: %w", o.Name, err)
	}
	value := utilrand.String(54)
	session := map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Token",
		"metadata": map[string]any{
			"generateName": "token-",
			"labels": map[string]any{
				"authn.management.cattle.io/token-userId": o.Name,
				"authn.management.cattle.io/kind":         "session",
			},
		},
		"token":        value,
		"userId":       o.Name,
		"authProvider": "local",
		"userPrincipal": map[string]any{
			"metadata":      map[string]any{"name": "local://" + o.Name},
			"displayName":   o.DisplayName,
			"loginName":     o.Name,
			"principalType": "user",
			"provider":      "local",
			"me":            true,
		},
		"ttl":       int64(960 * minute),
		"isDerived": false,
	}
	tok, err := dyn.Resource(V3TokensGVR).Create(ctx, &unstructured.Unstructured{Object: session}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("session token of %s: %w", o.Name, err)
	}
	rbac, err := rbacv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	bind := func(name, role string) error {
		b := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: o.Name}},
		}
		_, err := rbac.ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		return err
	}
	if err := bind(UserRole+"-"+o.Name, UserRole); err != nil {
		return nil, err
	}
	if o.Admin {
		if err := bind("rancher-admin-"+o.Name, "cluster-admin"); err != nil {
			return nil, err
		}
	}
	if len(o.Clusters) > 0 {
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "rancher-clusters-" + o.Name},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{MgmtGroup}, Resources: []string{"clusters"}, ResourceNames: o.Clusters, Verbs: []string{"get"}}},
		}
		if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		if err := bind(role.Name, role.Name); err != nil {
			return nil, err
		}
	}
	// The apiserver's RBAC authorizer learns of the bindings through an
	// informer: wait until it lets the user at their tokens.
	if err := testenv.WaitForAccess(ctx, cfg, authorizationv1.SubjectAccessReviewSpec{User: o.Name,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Group: Group, Resource: "tokens"}}); err != nil {
		return nil, err
	}
	return &User{Name: o.Name, TokenID: tok.GetName(), SessionValue: value}, nil
}

// ImpersonatorRole lets a credential act as Rancher's proxy does:
// impersonate users and groups and the requesttokenid extra.
const ImpersonatorRole = "rancher-impersonator"

// AllowImpersonation binds ImpersonatorRole to the named (certificate)
// user, whose kubeconfig UserKubeconfig then turns into a Rancher user's.
func AllowImpersonation(ctx context.Context, cfg *rest.Config, impersonator string) error {
	rbac, err := rbacv1client.NewForConfig(cfg)
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: ImpersonatorRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"users", "groups"}, Verbs: []string{"impersonate"}},
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"userextras/" + ExtraRequestTokenID, "uids"}, Verbs: []string{"impersonate"}},
		},
	}
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ImpersonatorRole + "-" + impersonator},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: ImpersonatorRole},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: impersonator}},
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return testenv.WaitForAccess(ctx, cfg, authorizationv1.SubjectAccessReviewSpec{User: impersonator,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users"}})
}

// UserKubeconfig turns the impersonator's kubeconfig into one for a
// Rancher user: the current context's credential acts as user with the
// requesttokenid extra (omitted when tokenID is ""). kube-apiserver then
// forwards user, groups and the extra to the emulator as X-Remote-*.
func UserKubeconfig(impersonator *clientcmdapi.Config, user, tokenID string) (*clientcmdapi.Config, error) {
	kc := impersonator.DeepCopy()
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("kubeconfig has no current context %q", kc.CurrentContext)
	}
	auth, ok := kc.AuthInfos[ctx.AuthInfo]
	if !ok {
		return nil, fmt.Errorf("kubeconfig has no user %q", ctx.AuthInfo)
	}
	auth = auth.DeepCopy()
	auth.Impersonate = user
	auth.ImpersonateUserExtra = nil
	if tokenID != "" {
		auth.ImpersonateUserExtra = map[string][]string{ExtraRequestTokenID: {tokenID}}
	}
	kc.AuthInfos = map[string]*clientcmdapi.AuthInfo{user: auth}
	ctx = ctx.DeepCopy()
	ctx.AuthInfo = user
	kc.Contexts = map[string]*clientcmdapi.Context{user: ctx}
	kc.CurrentContext = user
	return kc, nil
}

// LegacyToken describes a v3 token to seed for audits.
type LegacyToken struct {
	Name        string
	User        string
	Kind        string // authn.management.cattle.io/kind label; "" = none
	TTL         int64  // ms; 0 = never expires
	Value       string // the plaintext `token` field
	Description string
	Derived     bool
	// ProviderInfo is the legacy provider data; for OIDC providers it
	// holds an access_token, a secret as well.
	ProviderInfo map[string]string
	// Labels are added to the ones Rancher sets; Name "" generates one.
	Labels map[string]string
}

// SeedLegacyToken creates a v3 token.
func SeedLegacyToken(ctx context.Context, cfg *rest.Config, t LegacyToken) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = dyn.Resource(V3TokensGVR).Create(ctx, &unstructured.Unstructured{Object: legacyObject(t)}, metav1.CreateOptions{})
	return err
}

// legacyObject is a v3 token object as Rancher stores it (§7).
func legacyObject(t LegacyToken) map[string]any {
	labels := map[string]any{"authn.management.cattle.io/token-userId": t.User}
	if t.Kind != "" {
		labels["authn.management.cattle.io/kind"] = t.Kind
	}
	for k, v := range t.Labels {
		labels[k] = v
	}
	obj := map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "Token",
		"metadata":     map[string]any{"name": t.Name, "labels": labels},
		"token":        t.Value,
		"userId":       t.User,
		"authProvider": "local",
		"userPrincipal": map[string]any{
			"metadata": map[string]any{"name": "local://" + t.User}, "principalType": "user", "provider": "local",
		},
		"ttl":         t.TTL,
		"isDerived":   t.Derived,
		"description": t.Description,
		"expired":     false,
		"expiresAt":   "",
	}
	if t.Name == "" {
		delete(obj["metadata"].(map[string]any), "name")
		obj["metadata"].(map[string]any)["generateName"] = "token-"
	}
	if len(t.ProviderInfo) > 0 {
		pi := map[string]any{}
		for k, v := range t.ProviderInfo {
			pi[k] = v
		}
		obj["providerInfo"] = pi
	}
	return obj
}
