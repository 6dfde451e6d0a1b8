package bootstrap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func TestFlavorFromVersion(t *testing.T) {
	for v, want := range map[string]Flavor{
		"v1.31.4+k3s1":    FlavorK3s,
		"v1.30.2+k3s2":    FlavorK3s,
		"v1.31.4+rke2r1":  FlavorRKE2,
		"v1.36.3":         FlavorKubeadm,
		"v1.29.1-eks-1":   FlavorKubeadm,
		"v1.28.3+vmware1": FlavorKubeadm,
		"":                FlavorKubeadm,
	} {
		if got, _ := FlavorFromVersion(v); got != want {
			t.Errorf("%q: %s, want %s", v, got, want)
		}
	}
}

func TestDefaultGroups(t *testing.T) {
	for f, want := range map[Flavor]string{
		FlavorKubeadm: "system:bootstrappers:kubeadm:default-node-token",
		FlavorK3s:     "system:bootstrappers:k3s:default-node-token",
		FlavorRKE2:    "system:bootstrappers:rke2:default-node-token",
	} {
		if got := f.DefaultGroup(); got != want {
			t.Errorf("%s: %s, want %s", f, got, want)
		}
	}
	if _, err := ParseFlavor("microk8s"); err == nil || !strings.Contains(err.Error(), "use kubeadm, k3s or rke2") {
		t.Errorf("ParseFlavor(microk8s) = %v", err)
	}
}

func TestDetectFlavorAsksVersionOnce(t *testing.T) {
	for version, want := range map[string]Flavor{"v1.31.4+k3s1": FlavorK3s, "v1.31.4+rke2r1": FlavorRKE2, "v1.36.3": FlavorKubeadm} {
		var paths []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			paths = append(paths, r.Method+" "+r.URL.Path)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"major":"1","gitVersion":"` + version + `"}`))
		}))
		got, how, err := DetectFlavor(context.Background(), clitest.NewFactory(clitest.Options{REST: &rest.Config{Host: srv.URL}}))
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != want || !strings.Contains(how, version) {
			t.Errorf("%s: %s (%q), want %s", version, got, how, want)
		}
		if len(paths) != 1 || paths[0] != "GET /version" {
			t.Errorf("%s: requests %v, want exactly GET /version", version, paths)
		}
	}
}
