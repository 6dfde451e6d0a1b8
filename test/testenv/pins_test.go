package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// The plugins' k8s.io libraries must stay on the control plane's minor
// version: a stray `go get` once moved them one release ahead.
func TestLibrariesMatchTheControlPlane(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tools := parse(t, filepath.Join(root, "hack", "tools", "go.mod"))
	kube := ""
	for _, r := range tools.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			kube = r.Mod.Version // v1.36.3
		}
	}
	if kube == "" {
		t.Fatal("hack/tools/go.mod does not pin k8s.io/kubernetes")
	}
	want := "v0." + strings.TrimPrefix(kube, "v1.") // v0.36.3
	minor := want[:strings.LastIndex(want, ".")+1]  // v0.36.
	main := parse(t, filepath.Join(root, "go.mod"))
	for _, r := range main.Require {
		switch r.Mod.Path {
		case "k8s.io/api", "k8s.io/apimachinery", "k8s.io/client-go", "k8s.io/cli-runtime", "k8s.io/kubectl", "k8s.io/cluster-bootstrap", "k8s.io/apiextensions-apiserver":
			if !strings.HasPrefix(r.Mod.Version, minor) {
				t.Errorf("%s is %s; the control plane is %s: keep it at %s", r.Mod.Path, r.Mod.Version, kube, want)
			}
		}
	}
}

func parse(t *testing.T, path string) *modfile.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
