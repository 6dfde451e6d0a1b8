package bootstrap

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// CertsSecretName is the Secret where `kubeadm init phase upload-certs
// --upload-certs` leaves the control-plane certificates, encrypted with
// the certificate key (docs/bootstrap-tokens.md §10).
const CertsSecretName = "kubeadm-certs"

// UploadCertsCommand is what makes a new kubeadm-certs and prints its key;
// it reads /etc/kubernetes/pki, so it runs on a control-plane node.
const UploadCertsCommand = "kubeadm init phase upload-certs --upload-certs"

// KubeadmCertsGroup is the group kubeadm's Role kubeadm:kubeadm-certs is
// bound to: a joining control-plane node's token needs it to read
// kubeadm-certs (kubernetes/kubeadm#2386).
var KubeadmCertsGroup = FlavorKubeadm.DefaultGroup()

func certsOp(verb string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: secretsResource, Kind: "Secret", Namespace: Namespace, Name: CertsSecretName}
}

// getCertsSecret is kube-system/kubeadm-certs; nil (no error) when there
// is none.
func getCertsSecret(ctx context.Context, core corev1client.CoreV1Interface) (*corev1.Secret, error) {
	s, err := core.Secrets(Namespace).Get(ctx, CertsSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apierror.Wrap(err, certsOp("get"))
	}
	return s, nil
}

// CertsProxyID is the ID of the bootstrap token that owns s (kubeadm-certs)
// through its controller ownerReference: the garbage collector deletes s
// when that token's Secret goes. "" when no bootstrap token owns it.
func CertsProxyID(s *corev1.Secret) string {
	if s == nil {
		return ""
	}
	for _, r := range s.OwnerReferences {
		if r.APIVersion == "v1" && r.Kind == "Secret" {
			if id := IDFromSecretName(r.Name); id != "" {
				return id
			}
		}
	}
	return ""
}

// ParseCertificateKey is the AES-256 key a --certificate-key names: 64
// hex digits (32 bytes), as upload-certs prints it.
func ParseCertificateKey(key string) ([]byte, error) {
	b, err := hex.DecodeString(key)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("--certificate-key must be 64 hex digits: take it from '%s'", UploadCertsCommand)
	}
	return b, nil
}

// errWrongCertificateKey: the key does not open the uploaded certificates.
var errWrongCertificateKey = errors.New("wrong certificate key")

// CheckCertificateKey decrypts one value of kubeadm-certs with key, as a
// joining control-plane node will: AES-256-GCM with the nonce in front of
// the ciphertext. Values are tried in name order, skipping the empty
// ones upload-certs leaves for files it did not find; the first
// non-empty one decides. It says which value it checked.
func CheckCertificateKey(s *corev1.Secret, key []byte) (checked string, err error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(s.Data))
	for k, v := range s.Data {
		if len(v) > 0 {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "", errors.New("it holds no encrypted value to check the key against")
	}
	slices.Sort(names)
	value := s.Data[names[0]]
	if len(value) < gcm.NonceSize() {
		return names[0], fmt.Errorf("its value %s is shorter than a nonce: it was not written by kubeadm", names[0])
	}
	if _, err := gcm.Open(nil, value[:gcm.NonceSize()], value[gcm.NonceSize():], nil); err != nil {
		return names[0], errWrongCertificateKey
	}
	return names[0], nil
}

// ControlPlaneCerts is what a control-plane join relies on: kubeadm-certs
// opened by the key, and when its proxy token removes it.
type ControlPlaneCerts struct {
	ProxyID string     // "" when no bootstrap token owns kubeadm-certs
	Expires *time.Time // the proxy token's expiry; nil: never (or no proxy)
}

// checkControlPlaneCerts checks that kube-system/kubeadm-certs exists, is
// not about to be collected with an expired or deleted proxy token, and
// opens with key. Every failure says to upload the certificates again.
func checkControlPlaneCerts(ctx context.Context, core corev1client.CoreV1Interface, key []byte, t0 time.Time) (*ControlPlaneCerts, error) {
	again := fmt.Sprintf("run '%s' on a control-plane node and pass the key it prints", UploadCertsCommand)
	s, err := getCertsSecret(ctx, core)
	if err != nil {
		return nil, err
	}
	if s == nil || s.DeletionTimestamp != nil {
		return nil, fmt.Errorf("no Secret %s/%s holds the control-plane certificates (they are deleted with their proxy token, 2h after the upload): %s", Namespace, CertsSecretName, again)
	}
	c := &ControlPlaneCerts{ProxyID: CertsProxyID(s)}
	if c.ProxyID != "" {
		owner, found, err := getTokenSecret(ctx, core, c.ProxyID)
		if err != nil {
			return nil, err
		}
		var proxy *Token
		if found && owner.DeletionTimestamp == nil {
			proxy, _ = FromSecret(owner)
		}
		if proxy == nil || proxy.Expired(t0) {
			return nil, fmt.Errorf("the proxy token %q of Secret %s/%s is gone or expired, so the garbage collector deletes the control-plane certificates: %s", c.ProxyID, Namespace, CertsSecretName, again)
		}
		c.Expires = proxy.Expires
	}
	checked, err := CheckCertificateKey(s, key)
	switch {
	case errors.Is(err, errWrongCertificateKey):
		return nil, fmt.Errorf("--certificate-key does not decrypt %s in Secret %s/%s: it is not the key these certificates were uploaded with; pass that key, or %s", checked, Namespace, CertsSecretName, again)
	case err != nil:
		return nil, fmt.Errorf("cannot check --certificate-key against Secret %s/%s: %w; %s", Namespace, CertsSecretName, err, again)
	}
	return c, nil
}

// certsNote tells when a control-plane join stops working: when the
// proxy token expires and kubeadm-certs goes with it.
func (c *ControlPlaneCerts) note(f cli.Clients) string {
	if c.ProxyID == "" || c.Expires == nil {
		return ""
	}
	return fmt.Sprintf("the control-plane certificates in %s/%s are deleted at %s, when their proxy token %q expires: join before then, or extend it with %s",
		Namespace, CertsSecretName, c.Expires.UTC().Format(time.RFC3339), c.ProxyID, hint(f, "extend", c.ProxyID, "--ttl", "2h"))
}
