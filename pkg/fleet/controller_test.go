package fleet

import "testing"

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
