package exttoken

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
)

func TestRancherServer(t *testing.T) {
	cases := []struct{ url, current, cluster, want string }{
		{"https://rancher.example.com", "https://127.0.0.1:6443", "", "https://rancher.example.com/k8s/clusters/local"},
		{"https://rancher.example.com/", "", "c-m-abc", "https://rancher.example.com/k8s/clusters/c-m-abc"},
		{"https://r.example.com:8443/k8s/clusters/c-1", "", "", "https://r.example.com:8443/k8s/clusters/c-1"},
		{"", "https://rancher.example.com/k8s/clusters/local", "", "https://rancher.example.com/k8s/clusters/local"},
		{"", "https://rancher.example.com/k8s/clusters/local", "c-2", "https://rancher.example.com/k8s/clusters/c-2"},
		{"", "https://example.com/rancher/k8s/clusters/c-3", "", "https://example.com/rancher/k8s/clusters/c-3"},
	}
	for _, c := range cases {
		got, err := rancherServer(c.url, c.current, c.cluster)
		if err != nil || got != c.want {
			t.Errorf("rancherServer(%q, %q, %q) = %q, %v; want %q", c.url, c.current, c.cluster, got, err, c.want)
		}
	}
	for _, bad := range []struct{ url, current string }{
		{"http://rancher.example.com", ""}, {"rancher.example.com", ""}, {"https://", ""}, {"", "https://127.0.0.1:6443"}, {"https://x?y=1", ""},
	} {
		if _, err := rancherServer(bad.url, bad.current, ""); err == nil {
			t.Errorf("rancherServer(%q, %q) accepted", bad.url, bad.current)
		}
	}
}

func TestBuildAndWriteKubeconfig(t *testing.T) {
	data, err := buildKubeconfig("https://rancher.example.com/k8s/clusters/c-m-1", []byte("CA"), "token-abcde", "ext/token-abcde:secretvalue")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kc")
	if err := atomicfile.Write(path, data, false); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if kc.CurrentContext != "c-m-1" || kc.Clusters[ctx.Cluster].Server != "https://rancher.example.com/k8s/clusters/c-m-1" ||
		kc.AuthInfos[ctx.AuthInfo].Token != "ext/token-abcde:secretvalue" || string(kc.Clusters[ctx.Cluster].CertificateAuthorityData) != "CA" {
		t.Errorf("kubeconfig: %+v", kc)
	}
	err = atomicfile.Write(path, []byte("other"), false)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second write: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(data) {
		t.Error("file clobbered")
	}
}
