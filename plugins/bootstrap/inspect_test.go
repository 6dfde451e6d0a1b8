package bootstrap

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/cluster-bootstrap/token/jws"
)

// clusterInfo is kube-public/cluster-info as kubeadm publishes it, signed
// for the given id/secret pairs as the BootstrapSigner signs it.
func clusterInfo(t *testing.T, signed map[string]string) *corev1.ConfigMap {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	c := clientcmdapi.NewCluster()
	c.Server = "https://10.0.0.1:6443"
	c.CertificateAuthorityData = readTestdata(t, "root.pem")
	cfg.Clusters[""] = c
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"}, Data: map[string]string{"kubeconfig": string(b)}}
	for id, secret := range signed {
		sig, err := jws.ComputeDetachedSignature(string(b), id, secret)
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["jws-kubeconfig-"+id] = sig
	}
	return cm
}

func inspectObjects(t *testing.T) []runtime.Object {
	t.Helper()
	return append(listObjects(), clusterInfo(t, map[string]string{"abcdef": "0123456789abcdef"}))
}

var inspectReqs = []string{"get secrets kube-system/bootstrap-token-abcdef", "get configmaps kube-public/cluster-info"}

func TestInspect(t *testing.T) {
	runTable(t, []cmdCase{
		{name: "the whole token", args: []string{"inspect", tok}, objects: inspectObjects(t), golden: "inspect-token", requests: inspectReqs},
		{name: "only the ID", args: []string{"inspect", "abcdef"}, objects: inspectObjects(t), golden: "inspect-id", requests: inspectReqs},
		{name: "a secure token", args: []string{"inspect", "-"}, stdin: "K10" + hashRootPEM + "::" + tok + "\n", objects: inspectObjects(t), golden: "inspect-secure", requests: inspectReqs},
		{name: "the right ID with a wrong secret", args: []string{"inspect", "abcdef.ffffffffffffffff"}, objects: inspectObjects(t), golden: "inspect-wrong-secret", requests: inspectReqs, exit: 1,
			stderr: "error: the secret half does not match the stored token \"abcdef\": check for a typo\n"},
		{name: "server text is escaped", args: []string{"inspect", "offset"}, objects: inspectObjects(t), golden: "inspect-escaped",
			requests: []string{"get secrets kube-system/bootstrap-token-offset", "get configmaps kube-public/cluster-info"}},
		{name: "a line break in server text cannot forge a line", args: []string{"inspect", "forged"}, golden: "inspect-forged",
			objects: []runtime.Object{rawSecret("bootstrap-token-forged", map[string]string{"token-id": "forged", "token-secret": "0123456789abcdef",
				"usage-bootstrap-authentication": "true", "description": "rack 7\nAuthenticates: no\a"})},
			requests: []string{"get secrets kube-system/bootstrap-token-forged", "get configmaps kube-public/cluster-info"}},
		{name: "a missing token points at list with the user's flags", args: []string{"inspect", "absent", "--context", "prod"}, exit: 1, golden: "inspect-missing",
			stderr:   "error: bootstrap token \"absent\" does not exist (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list --context=prod\n",
			requests: []string{"get secrets kube-system/bootstrap-token-absent", "get configmaps kube-public/cluster-info"}},
		{name: "a --ca-file that cannot be read fails the check", args: []string{"inspect", "K10" + hashRootPEM + "::" + tok, "--ca-file", "testdata/nope.pem"},
			objects: inspectObjects(t), golden: "inspect-unreadable-ca", requests: inspectReqs, exit: 1,
			stderr: "error: the CA hash was not checked: cannot read --ca-file testdata/nope.pem: no such file or directory; pass the cluster CA certificate (PEM)\n"},
		{name: "json", args: []string{"inspect", tok, "-o", "json"}, objects: inspectObjects(t), golden: "inspect-json", requests: inspectReqs},
		{name: "-o name is not offered", args: []string{"inspect", tok, "-o", "name"}, exit: 1,
			stderr: `error: unknown output format "name": use one of json, yaml, kyaml, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file` + "\n"},
	})
}

func TestInspectWithAWrongSecretDescribesTheTokenGiven(t *testing.T) {
	c := cmdCase{args: []string{"inspect", "abcdef.ffffffffffffffff"}, objects: inspectObjects(t), golden: "inspect-wrong-secret", requests: inspectReqs, exit: 1,
		stderr: "error: the secret half does not match the stored token \"abcdef\": check for a typo\n"}
	c.run(t)
	res := runQuiet(t, c)
	if strings.Contains(res, "Authenticates:  yes") || !strings.Contains(res, "Authenticates:  no: its secret half does not match the stored token's") {
		t.Errorf("the report does not describe the token given:\n%s", res)
	}
	if strings.Contains(res, "INVALID") {
		t.Errorf("a wrong secret is blamed on cluster-info:\n%s", res)
	}
}
