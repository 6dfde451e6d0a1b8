package fleet

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// The Fleet controller's Deployment tells two things no API field does
// (docs/fleet-registration.md §6): whether it deletes TTL-less tokens at
// once, and its version, from the image tag.
const (
	ControllerNamespace  = "cattle-fleet-system"
	ControllerDeployment = "fleet-controller"
	TtlRequiredEnv       = "FLEET_REGISTRATION_TOKEN_TTL_REQUIRED"
)

var DeploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// ControllerFacts is what the fleet-controller Deployment says; known is
// false when it could not be read (readErr says why).
type ControllerFacts struct {
	known       bool
	readErr     string
	ttlRequired bool
	// version is the chart version matching the controller ("0.16.1"),
	// "" when the image tag is missing, dev or not a version.
	version string
	image   string
}

// versionTag is a release tag: v0.16.1, 0.16.1, v0.16.0-rc.2.
var versionTag = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)$`)

// ReadController reads the fleet-controller Deployment. Any failure
// (forbidden, not found, Fleet elsewhere) leaves the facts unknown: the
// caller says so rather than guessing.
func ReadController(ctx context.Context, dyn dynamic.Interface) ControllerFacts {
	u, err := dyn.Resource(DeploymentGVR).Namespace(ControllerNamespace).Get(ctx, ControllerDeployment, metav1.GetOptions{})
	if err != nil {
		op := apierror.Op{Verb: "get", Resource: DeploymentGVR.GroupResource(), Kind: "Deployment", Namespace: ControllerNamespace, Name: ControllerDeployment}
		return ControllerFacts{readErr: apierror.OneLine(apierror.Wrap(err, op).Error())}
	}
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
		return ControllerFacts{readErr: err.Error()}
	}
	facts := ControllerFacts{known: true}
	// The chart runs several containers (fleet-controller, cleanup,
	// fleet-agentmanagement); the TTL setting is on agent management's,
	// not the controller's: read every container.
	for _, c := range d.Spec.Template.Spec.Containers {
		if facts.image == "" && (c.Name == ControllerDeployment || isFleetImage(c.Image)) {
			facts.image = c.Image
			facts.version = ImageVersion(c.Image)
		}
		for _, e := range c.Env {
			if e.Name == TtlRequiredEnv {
				if v, err := strconv.ParseBool(e.Value); err == nil && v {
					facts.ttlRequired = true
				}
			}
		}
	}
	return facts
}

// ImageVersion is the chart version in an image reference's tag
// (registry/rancher/fleet:v0.16.1[@sha256:...] → 0.16.1); "" for dev,
// latest or no tag.
func ImageVersion(image string) string {
	ref, _, _ := strings.Cut(image, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	m := versionTag.FindStringSubmatch(ref[i+1:])
	if m == nil {
		return ""
	}
	return m[1]
}

// unknownVersionNote says why --chart-version was left to helm.
func (c ControllerFacts) unknownVersionNote() string {
	switch {
	case !c.known:
		return fmt.Sprintf("the Fleet controller's version is unknown (%s): helm installs the newest fleet-agent chart; pass --chart-version to match the controller", c.readErr)
	case c.image == "":
		return fmt.Sprintf("the Fleet controller's version is unknown (Deployment %s/%s has no rancher/fleet container): helm installs the newest fleet-agent chart; pass --chart-version to match the controller", ControllerNamespace, ControllerDeployment)
	}
	return fmt.Sprintf("the Fleet controller's version is unknown (image %s has no release tag): helm installs the newest fleet-agent chart; pass --chart-version to match the controller", c.image)
}

// isFleetImage tells a rancher/fleet image by its repository, whatever its
// tag or digest (an untagged or digest-pinned controller is still Fleet:
// its version is what is unknown).
func isFleetImage(image string) bool {
	ref, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		ref = ref[:i]
	}
	return ref == "rancher/fleet" || strings.HasSuffix(ref, "/rancher/fleet")
}

// RefuseWithoutTTL refuses a token without a TTL before it is created
// when the controller requires one: it would delete the token at once.
// A controller that cannot be read is no refusal (the caller warns).
func (m *Manager) RefuseWithoutTTL(ctx context.Context) (ControllerFacts, error) {
	facts := m.Controller(ctx)
	if facts.known && facts.ttlRequired {
		return facts, fmt.Errorf("the Fleet controller requires a TTL (%s=true on Deployment %s/%s) and deletes a token without one at once: pass --ttl, e.g. --ttl 24h; nothing was created", TtlRequiredEnv, ControllerNamespace, ControllerDeployment)
	}
	return facts, nil
}
