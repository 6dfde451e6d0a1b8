package fleet

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// The static credential enroll --mode manager mints in every downstream
// cluster for the Fleet controller (docs/fleet-registration.md §8.10):
// the controller applies the agent's namespace, ClusterRole and
// Deployment with it, so it is bound to cluster-admin. Its token comes
// from a TokenRequest with a long expiry: a legacy token Secret needs the
// downstream token controller, and exec-plugin credentials cannot run
// inside the Fleet controller.
const (
	CredentialAccount   = "kubectl-regtoken-fleet"
	CredentialNamespace = "kube-system"
	// CredentialRole is what the binding grants.
	CredentialRole = "cluster-admin"
	// DefaultCredentialTTL is --credential-ttl's default: long enough that
	// the controller's re-imports (redeploys, config changes) keep
	// working, short enough that a forgotten cluster's credential ends.
	DefaultCredentialTTL = 365 * 24 * time.Hour
)

// Labels and annotations of what manager mode writes.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-regtoken"
	// ModeAnnotation is on every Cluster enroll --mode manager creates.
	ModeAnnotation = "regtoken.kubectl-tokens.io/mode"
	// ContextAnnotation names the kubeconfig context a Cluster was made
	// from (on the Cluster and its kubeconfig Secret).
	ContextAnnotation = "regtoken.kubectl-tokens.io/context"
	// CredentialExpiresAnnotation is the minted token's expiry, RFC3339.
	CredentialExpiresAnnotation = "regtoken.kubectl-tokens.io/credential-expires"
	// KubeconfigKey is the key Fleet reads the kubeconfig from; the
	// optional apiServerURL/apiServerCA keys tell the agent another address
	// of the Fleet manager.
	KubeconfigKey   = "value"
	APIServerURLKey = "apiServerURL"
	APIServerCAKey  = "apiServerCA"
)

// The two modes of enroll and of the clusters it lists.
const (
	ModeAgent   = "agent"
	ModeManager = "manager"
)

var clusterRoleBindingGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
var clusterRoleGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}

// MintedCredential is the token minted downstream, and when it expires
// (the server may shorten what was asked for).
type MintedCredential struct {
	Token   string
	Expires time.Time
}

// mintCredential makes (or keeps) the ServiceAccount and its binding,
// then asks a TokenRequest for a token living ttl.
func mintCredential(ctx context.Context, core corev1client.CoreV1Interface, dyn dynamic.Interface, ttl time.Duration) (*MintedCredential, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: CredentialAccount, Namespace: CredentialNamespace, Labels: map[string]string{ManagedByLabel: ManagedByValue}}}
	if _, err := core.ServiceAccounts(CredentialNamespace).Create(ctx, sa, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, apierror.Wrap(err, apierror.Op{Verb: "create", Resource: corev1.Resource("serviceaccounts"), Kind: "ServiceAccount", Namespace: CredentialNamespace, Name: CredentialAccount})
	}
	if err := ensureBinding(ctx, dyn); err != nil {
		return nil, err
	}
	secs := int64(ttl / time.Second)
	tr, err := core.ServiceAccounts(CredentialNamespace).CreateToken(ctx, CredentialAccount, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return nil, apierror.Wrap(err, apierror.Op{Verb: "create", Resource: corev1.Resource("serviceaccounts/token"), Kind: "TokenRequest", Namespace: CredentialNamespace, Name: CredentialAccount})
	}
	if tr.Status.Token == "" {
		return nil, fmt.Errorf("the TokenRequest for ServiceAccount %s/%s returned no token: the API server cannot issue ServiceAccount tokens (is --service-account-issuer set?)", CredentialNamespace, CredentialAccount)
	}
	return &MintedCredential{Token: tr.Status.Token, Expires: tr.Status.ExpirationTimestamp.UTC()}, nil
}

// ensureBinding creates the ClusterRoleBinding, or accepts one that
// already grants our ServiceAccount cluster-admin.
func ensureBinding(ctx context.Context, dyn dynamic.Interface) error {
	crb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": CredentialAccount, "labels": map[string]any{ManagedByLabel: ManagedByValue}},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CredentialRole},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": CredentialAccount, "namespace": CredentialNamespace}},
	}}
	op := apierror.Op{Verb: "create", Resource: clusterRoleBindingGVR.GroupResource(), Kind: "ClusterRoleBinding", Name: CredentialAccount}
	_, err := dyn.Resource(clusterRoleBindingGVR).Create(ctx, crb, metav1.CreateOptions{FieldManager: FieldManager})
	if !apierrors.IsAlreadyExists(err) {
		return apierror.Wrap(err, op)
	}
	got, err := dyn.Resource(clusterRoleBindingGVR).Get(ctx, CredentialAccount, metav1.GetOptions{})
	if err != nil {
		op.Verb = "get"
		return apierror.Wrap(err, op)
	}
	if role, _, _ := unstructured.NestedString(got.Object, "roleRef", "name"); role != CredentialRole {
		return fmt.Errorf("ClusterRoleBinding %s exists and grants %s, not %s: the Fleet controller could not apply the agent with it; delete it (kubectl delete clusterrolebinding %s) and enroll again", CredentialAccount, role, CredentialRole, CredentialAccount)
	}
	return nil
}

// credentialKubeconfig is the kubeconfig the Fleet controller uses: the
// downstream context's server and CA, and the minted token. Nothing of
// the user's own credential goes in (an exec plugin would not run inside
// the controller anyway).
func credentialKubeconfig(c kubeconfig.Cluster, token string) ([]byte, error) {
	cluster := &clientcmdapi.Cluster{Server: c.Server, InsecureSkipTLSVerify: c.Insecure}
	if c.HasCA() {
		ca, err := c.CA()
		if err != nil {
			return nil, fmt.Errorf("%w: the Fleet controller could not verify the cluster; fix the context's certificate-authority", err)
		}
		cluster.CertificateAuthorityData = ca.PEM
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = cluster
	cfg.AuthInfos["fleet"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "fleet"}
	cfg.CurrentContext = "default"
	return clientcmd.Write(*cfg)
}
