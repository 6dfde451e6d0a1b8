//go:build e2e

package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// uploadCerts runs the real `kubeadm init phase upload-certs
// --upload-certs` against the test control plane, with certificates in a
// temporary directory, and returns the key and the proxy token's ID;
// kubeadm-certs and the proxy are removed when the test ends.
func uploadCerts(t *testing.T) (key, proxy string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	key = hex.EncodeToString(b)
	dir := t.TempDir()
	ca := env.Config.CAData
	files := map[string][]byte{"ca.crt": ca, "ca.key": []byte("not a key"), "sa.key": []byte("sa"), "sa.pub": []byte("sa.pub"),
		"front-proxy-ca.crt": ca, "front-proxy-ca.key": []byte("fp")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "kubeadm.yaml")
	conf := "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: " + key +
		"\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificatesDir: " + dir + "\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	mustOK(t, kadm("init", "phase", "upload-certs", "--upload-certs", "--config", cfg), "kubeadm init phase upload-certs")
	s, err := admin.CoreV1().Secrets("kube-system").Get(context.Background(), "kubeadm-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), "kubeadm-certs", metav1.DeleteOptions{})
	})
	for _, r := range s.OwnerReferences {
		proxy = strings.TrimPrefix(r.Name, "bootstrap-token-")
	}
	if proxy == "" {
		t.Fatalf("kubeadm-certs has no owner: %+v", s.OwnerReferences)
	}
	t.Cleanup(func() { deleteSecret(proxy) })
	return key, proxy
}

// A control-plane join is kubeadm's own for the same token and key; a
// wrong key and certificates whose proxy token expired are refused before
// anything is created; list and delete point at the proxy.
func TestControlPlaneJoinIsKubeadms(t *testing.T) {
	key, proxy := uploadCerts(t)
	tok, id, _ := newToken(t)

	k := mustOK(t, kadm("token", "create", tok, "--print-join-command", "--certificate-key", key), "kubeadm token create --print-join-command --certificate-key")
	kargv := shelltest.Argv(t, "", k.Stdout, "kubeadm")
	deleteSecret(id)
	ours := mustOK(t, bs("create", tok, "--print-join-command", "--control-plane", "--certificate-key", key), "create --print-join-command --control-plane")
	argv := shelltest.Argv(t, "", ours.Stdout, "kubeadm")
	want := slices.Clone(kargv)
	want[2] = strings.TrimSuffix(want[2], "/") // kubeadm keeps a trailing slash it then refuses
	if !slices.Equal(argv, want) || !slices.Contains(argv, "--control-plane") || flagValue(argv, "--certificate-key") != key {
		t.Errorf("ours    %q\nkubeadm %q", argv, kargv)
	}
	if !strings.Contains(ours.Stderr, "when their proxy token \""+proxy+"\" expires") {
		t.Errorf("no note on when the certificates go: %s", ours)
	}

	// A wrong key: refused, nothing created.
	other, otherID, _ := newToken(t)
	bad := bs("create", other, "--print-join-command", "--certificate-key", strings.Repeat("ab", 32))
	if bad.Code != 1 || !strings.Contains(bad.Stderr, "--certificate-key does not decrypt") {
		t.Errorf("wrong key: %s", bad)
	}
	if _, found := getSecret(t, otherID); found {
		t.Error("a token was created for a wrong key")
	}

	// list names the proxy; delete warns before removing it (server dry run).
	if l := mustOK(t, bs("list"), "list"); !strings.Contains(l.Stderr, `bootstrap token "`+proxy+`" is the proxy of kube-system/kubeadm-certs`) {
		t.Errorf("list does not mark the proxy: %s", l)
	}
	if d := mustOK(t, bs("delete", proxy, "--dry-run=server"), "delete --dry-run=server"); !strings.Contains(d.Stderr, "deleting it deletes the control-plane certificates") {
		t.Errorf("delete does not warn: %s", d)
	}

	// Once the proxy has expired the garbage collector takes kubeadm-certs
	// (it does not run here): the join is refused with the way out.
	past := []byte(`{"data":{"expiration":"` + basePast() + `"}}`)
	if _, err := admin.CoreV1().Secrets("kube-system").Patch(context.Background(), "bootstrap-token-"+proxy, types.MergePatchType, past, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := bs("create", other, "--print-join-command", "--certificate-key", key)
	if gone.Code != 1 || !strings.Contains(gone.Stderr, "kubeadm init phase upload-certs --upload-certs' on a control-plane node") {
		t.Errorf("expired proxy: %s", gone)
	}
}

// basePast is an expiration a minute ago, base64 for a merge patch of data.
func basePast() string {
	return base64.StdEncoding.EncodeToString([]byte(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)))
}

// The join address is the cluster's published one, said on stderr, before
// the kubeconfig's.
func TestJoinAddressFromTheCluster(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"},
		Data:       map[string]string{"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: lb.example.com\n"},
	}
	if _, err := admin.CoreV1().ConfigMaps("kube-system").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().ConfigMaps("kube-system").Delete(context.Background(), "kubeadm-config", metav1.DeleteOptions{})
	})
	tok, _, _ := newToken(t)
	r := mustOK(t, bs("create", tok, "--print-join-command"), "create --print-join-command")
	argv := shelltest.Argv(t, "", r.Stdout, "kubeadm")
	if len(argv) < 3 || argv[2] != "lb.example.com:6443" ||
		!strings.Contains(r.Stderr, "join address lb.example.com:6443 from kube-system/kubeadm-config controlPlaneEndpoint, the cluster's HA endpoint (the kubeconfig server is ") {
		t.Errorf("join address: %s", r)
	}
}
