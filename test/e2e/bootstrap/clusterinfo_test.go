//go:build e2e

package bootstrap

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/cluster-bootstrap/token/jws"
)

// kube-public/cluster-info as kubeadm publishes it, signed for a token with
// the library (what the BootstrapSigner does): inspect verifies the
// signature, reports a tampered one, and finds the CA there too.
func TestClusterInfoSignature(t *testing.T) {
	tok, id, secret := newToken(t)
	mustOK(t, bs("create", tok), "create")
	other, otherID, otherSecret := newToken(t)
	mustOK(t, bs("create", other), "create other")

	kc := clientcmdapi.NewConfig()
	c := clientcmdapi.NewCluster()
	c.Server = env.Config.Host
	c.CertificateAuthorityData = env.Config.CAData
	kc.Clusters[""] = c
	content, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jws.ComputeDetachedSignature(string(content), id, secret)
	if err != nil {
		t.Fatal(err)
	}
	// A signature for the other token made with the wrong key: tampered.
	forged, err := jws.ComputeDetachedSignature(string(content)+" ", otherID, otherSecret)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
		Data: map[string]string{
			"kubeconfig":                string(content),
			"jws-kubeconfig-" + id:      sig,
			"jws-kubeconfig-" + otherID: forged,
		},
	}
	if _, err := admin.CoreV1().ConfigMaps("kube-public").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().ConfigMaps("kube-public").Delete(context.Background(), "cluster-info", metav1.DeleteOptions{})
	})

	ok := mustOK(t, bs("inspect", tok), "inspect a signed token")
	if !strings.Contains(ok.Stdout, "cluster-info:   signature for "+id+" is valid") {
		t.Errorf("inspect:\n%s", ok.Stdout)
	}
	bad := bs("inspect", other)
	if bad.Code != 1 || !strings.Contains(bad.Stdout, "signature for "+otherID+" is INVALID") ||
		!strings.Contains(bad.Stderr, "kube-public/cluster-info has an invalid signature for bootstrap token \""+otherID+"\"") {
		t.Errorf("tampered signature: %s", bad)
	}
	oneErrorLine(t, bad)
	for _, s := range []string{secret, otherSecret} {
		if strings.Contains(ok.Stdout+ok.Stderr+bad.Stdout+bad.Stderr, s) {
			t.Errorf("inspect printed a token secret")
		}
	}

	// The CA published in cluster-info is a CA-hash source too: with a
	// kubeconfig that has no CA (insecure), a secure token still matches.
	sec := strings.TrimSpace(mustOK(t, bs("create", "-o", "secure"), "create -o secure").Stdout)
	t.Cleanup(func() { deleteSecret(sec[len(sec)-23 : len(sec)-17]) })
	insecure := insecureKubeconfig(t)
	r := mustOK(t, bsAs(insecure, "inspect", sec, "-o", "json"), "inspect with an insecure kubeconfig")
	if !strings.Contains(r.Stdout, `"matchedBy": "kube-public/cluster-info"`) {
		t.Errorf("cluster-info CA not used:\n%s", r.Stdout)
	}
}

// insecureKubeconfig is the admin kubeconfig without its CA.
func insecureKubeconfig(t *testing.T) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.CertificateAuthorityData = nil
		c.InsecureSkipTLSVerify = true
	}
	path := t.TempDir() + "/insecure.kubeconfig"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
