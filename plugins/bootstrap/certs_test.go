package bootstrap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	certKey  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	otherKey = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	proxyID  = "proxy1"
	certsReq = "get secrets kube-system/kubeadm-certs"
	proxyReq = "get secrets kube-system/bootstrap-token-proxy1"
)

// seal encrypts as docs/bootstrap-tokens.md §10 describes upload-certs
// doing it: AES-256-GCM, a random nonce, nonce first.
func seal(t *testing.T, key string, plain []byte) []byte {
	t.Helper()
	k, err := hex.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return gcm.Seal(nonce, nonce, plain, nil)
}

// certsSecret is kubeadm-certs encrypted with key, owned by proxy token
// owner ("" for none); etcd values empty as upload-certs leaves files it
// did not find.
func certsSecret(t *testing.T, key, owner string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: CertsSecretName, Namespace: Namespace},
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"ca.crt": seal(t, key, []byte("-----BEGIN CERTIFICATE-----\n")), "ca.key": seal(t, key, []byte("k")),
			"etcd-ca.crt": {}, "etcd-ca.key": {},
		},
	}
	if owner != "" {
		yes := true
		s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Secret", Name: SecretName(owner), UID: "uid-proxy", Controller: &yes, BlockOwnerDeletion: &yes}}
	}
	return s
}

// proxyToken is upload-certs' proxy token, expiring at expires.
func proxyToken(expires string) *corev1.Secret {
	return ToSecret(&Token{ID: proxyID, Secret: "0123456789abcdef", Description: "Proxy for managing TTL for the kubeadm-certs secret", Expires: at(expires)})
}

func TestCreateControlPlaneJoin(t *testing.T) {
	live := func() []runtime.Object {
		return []runtime.Object{certsSecret(t, certKey, proxyID), proxyToken("2026-11-22T06:00:00Z")}
	}
	cp := []string{"create", tok, "--flavor", "kubeadm", "--print-join-command", "--control-plane", "--certificate-key"}
	again := "run 'kubeadm init phase upload-certs --upload-certs' on a control-plane node and pass the key it prints"
	runTable(t, []cmdCase{
		{name: "the key opens kubeadm-certs", args: append(cp, certKey), objects: live(),
			stdout:   "kubeadm join 10.0.0.1:6443 --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + " --control-plane --certificate-key " + certKey + "\n",
			stderr:   `the control-plane certificates in kube-system/kubeadm-certs are deleted at 2026-11-22T06:00:00Z, when their proxy token "proxy1" expires: join before then, or extend it with kubectl bootstrap extend proxy1 --ttl 2h` + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, proxyReq, createReq}},
		{name: "--certificate-key alone implies --control-plane, upper case accepted", args: []string{"create", tok, "--flavor", "kubeadm", "--print-join-command", "--certificate-key", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", "--groups", "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:extra"},
			objects:  []runtime.Object{certsSecret(t, certKey, "")},
			stdout:   "kubeadm join 10.0.0.1:6443 --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + " --control-plane --certificate-key " + certKey + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, createReq}},
		{name: "a wrong key is refused, nothing created", args: append(cp, otherKey), objects: live(), exit: 1,
			stderr:   "error: --certificate-key does not decrypt ca.crt in Secret kube-system/kubeadm-certs: it is not the key these certificates were uploaded with; pass that key, or " + again + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, proxyReq}},
		{name: "no kubeadm-certs", args: append(cp, certKey), exit: 1,
			stderr:   "error: no Secret kube-system/kubeadm-certs holds the control-plane certificates (they are deleted with their proxy token, 2h after the upload): " + again + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq}},
		{name: "the proxy token expired", args: append(cp, certKey), objects: []runtime.Object{certsSecret(t, certKey, proxyID), proxyToken("2026-11-22T04:59:00Z")}, exit: 1,
			stderr:   `error: the proxy token "proxy1" of Secret kube-system/kubeadm-certs is gone or expired, so the garbage collector deletes the control-plane certificates: ` + again + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, proxyReq}},
		{name: "the proxy token is gone", args: append(cp, certKey), objects: []runtime.Object{certsSecret(t, certKey, proxyID)}, exit: 1,
			stderr:   `error: the proxy token "proxy1" of Secret kube-system/kubeadm-certs is gone or expired, so the garbage collector deletes the control-plane certificates: ` + again + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, proxyReq}},
		{name: "--control-plane without a key", args: []string{"create", tok, "--flavor", "kubeadm", "--print-join-command", "--control-plane"}, exit: 1,
			stderr: "error: --control-plane needs --certificate-key: a new control-plane node decrypts the uploaded certificates with it; run 'kubeadm init phase upload-certs --upload-certs' on a control-plane node for one\n"},
		{name: "a key that is not 64 hex digits", args: append(cp, "abc"), exit: 1,
			stderr: "error: --certificate-key must be 64 hex digits: take it from 'kubeadm init phase upload-certs --upload-certs'\n"},
		{name: "the key needs --print-join-command", args: []string{"create", tok, "--flavor", "kubeadm", "--certificate-key", certKey}, exit: 1,
			stderr: "error: cannot use --certificate-key without --print-join-command: add --print-join-command\n"},
		{name: "groups without kubeadm's", args: append(cp, certKey, "--groups", "system:bootstrappers:rack7"), exit: 1,
			stderr: "error: a control-plane join needs group system:bootstrappers:kubeadm:default-node-token, which may read kube-system/kubeadm-certs (Role kubeadm:kubeadm-certs): add it to --groups\n"},
		{name: "usages without authentication", args: append(cp, certKey, "--usages", "signing"), exit: 1,
			stderr: "error: a control-plane join authenticates with the token: add authentication to --usages\n"},
		{name: "a detected k3s", args: []string{"create", tok, "--print-join-command", "--certificate-key", certKey}, version: k3sV, exit: 1,
			stderr: "error: --certificate-key is for kubeadm control-plane joins, and this cluster is k3s: drop it\n", requests: []string{versionReq}},
		{name: "join material as JSON carries the control-plane argv", args: append(cp, certKey, "-o", "json"), objects: live(),
			golden:   "create-join-control-plane-json",
			stderr:   `the control-plane certificates in kube-system/kubeadm-certs are deleted at 2026-11-22T06:00:00Z, when their proxy token "proxy1" expires: join before then, or extend it with kubectl bootstrap extend proxy1 --ttl 2h` + "\n",
			requests: []string{cpeReq, clusterInfoReq, certsReq, proxyReq, createReq}},
	})
}

func TestCheckCertificateKey(t *testing.T) {
	key, _ := ParseCertificateKey(certKey)
	if checked, err := CheckCertificateKey(certsSecret(t, certKey, ""), key); err != nil || checked != "ca.crt" {
		t.Errorf("right key: %q, %v", checked, err)
	}
	empty := &corev1.Secret{Data: map[string][]byte{"etcd-ca.crt": {}}}
	if _, err := CheckCertificateKey(empty, key); err == nil || err.Error() != "it holds no encrypted value to check the key against" {
		t.Errorf("empty values: %v", err)
	}
	short := &corev1.Secret{Data: map[string][]byte{"ca.crt": []byte("short")}}
	if _, err := CheckCertificateKey(short, key); err == nil || err.Error() != "its value ca.crt is shorter than a nonce: it was not written by kubeadm" {
		t.Errorf("short value: %v", err)
	}
	// The proxy is the controller owner that names a bootstrap token.
	if id := CertsProxyID(certsSecret(t, certKey, proxyID)); id != proxyID {
		t.Errorf("proxy %q", id)
	}
}
