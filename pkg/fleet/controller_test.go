package fleet

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func TestAnUntaggedOrDigestPinnedControllerIsFleetWithoutARelease(t *testing.T) {
	for image, fleet := range map[string]bool{
		"rancher/fleet":                         true,
		"rancher/fleet@sha256:0123":             true,
		"registry.example.com/rancher/fleet:v1": true,
		"localhost:5000/rancher/fleet":          true,
		"rancher/fleet-agent:v0.16.1":           false,
		"example.com/notrancher/fleetx:v1":      false,
	} {
		if got := isFleetImage(image); got != fleet {
			t.Errorf("isFleetImage(%q) = %t, want %t", image, got, fleet)
		}
		if fleet && ImageVersion(image) != "" && image != "registry.example.com/rancher/fleet:v1" {
			t.Errorf("%q has a release version %q", image, ImageVersion(image))
		}
	}
}

// The real chart puts the TTL setting on agent management's container,
// not the controller's: it is read from whichever container has it.
func TestTheTTLRequirementIsReadFromAnyContainer(t *testing.T) {
	containers := []any{
		map[string]any{"name": "fleet-controller", "image": "rancher/fleet:v0.16.1"},
		map[string]any{"name": "fleet-cleanup", "image": "rancher/fleet:v0.16.1"},
		map[string]any{"name": "fleet-agentmanagement", "image": "rancher/fleet:v0.16.1", "env": []any{map[string]any{"name": TtlRequiredEnv, "value": "true"}}},
	}
	d := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": ControllerDeployment, "namespace": ControllerNamespace},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": containers}}}}}
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), d)
	facts := ReadController(context.Background(), dyn)
	if !facts.known || !facts.ttlRequired || facts.version != "0.16.1" {
		t.Errorf("facts %+v", facts)
	}
}
