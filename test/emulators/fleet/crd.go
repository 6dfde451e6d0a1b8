package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// CRDName is the ClusterRegistrationToken CRD.
const CRDName = "clusterregistrationtokens.fleet.cattle.io"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDFile is the CRD for a mode under crdDir (the repository's
// test/emulators/fleet/crds): v0.16 with the CEL rule, or the ≤v0.15 one.
func CRDFile(crdDir string, legacy bool) string {
	if legacy {
		return filepath.Join(crdDir, "legacy", "clusterregistrationtoken.yaml")
	}
	return filepath.Join(crdDir, "clusterregistrationtoken.yaml")
}

// RegistrationCRDFiles are the CRDs of agent-initiated registration
// (ClusterRegistration, Cluster, BundleDeployment), the same in every mode.
func RegistrationCRDFiles(crdDir string) []string {
	return []string{
		filepath.Join(crdDir, "clusterregistration.yaml"),
		filepath.Join(crdDir, "cluster.yaml"),
		filepath.Join(crdDir, "bundledeployment.yaml"),
	}
}

// InstallCRDs installs every CRD the emulator needs in a mode (the token
// CRD of CRDFile and the RegistrationCRDFiles) and reports those it
// created.
func InstallCRDs(ctx context.Context, cfg *rest.Config, crdDir string, legacy bool) ([]string, error) {
	var created []string
	for _, file := range append([]string{CRDFile(crdDir, legacy)}, RegistrationCRDFiles(crdDir)...) {
		ok, err := InstallCRD(ctx, cfg, file)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, file)
		}
	}
	return created, nil
}

// InstallCRD creates the CRD from file unless one exists, and waits until
// it is Established. It reports whether it created it.
func InstallCRD(ctx context.Context, cfg *rest.Config, file string) (bool, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return false, err
	}
	crds := dyn.Resource(crdGVR)
	created := true
	got, err := crds.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created = false
		got, err = crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
	}
	if err != nil {
		return false, fmt.Errorf("installing CRD %s: %w", obj.GetName(), err)
	}
	if established(got) {
		return created, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = wait.Until(ctx, wait.ByName(crds, obj.GetName()), got.GetResourceVersion(), func(ev watch.Event) (bool, error) {
		u, err := wait.Object(ev)
		if err != nil {
			return false, nil
		}
		return established(u), nil
	})
	if err != nil {
		return created, fmt.Errorf("CRD %s is not Established: %w", obj.GetName(), err)
	}
	return created, nil
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
