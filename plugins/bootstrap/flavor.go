package bootstrap

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Flavor is the distribution a token is for: it decides the default extra
// group and the join material.
type Flavor string

// The distributions we know.
const (
	FlavorKubeadm Flavor = "kubeadm"
	FlavorK3s     Flavor = "k3s"
	FlavorRKE2    Flavor = "rke2"
)

// Flavors in help order.
var Flavors = []Flavor{FlavorKubeadm, FlavorK3s, FlavorRKE2}

// ParseFlavor validates a --flavor value.
func ParseFlavor(s string) (Flavor, error) {
	for _, f := range Flavors {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown --flavor %q: use kubeadm, k3s or rke2", s)
}

// DefaultGroup is the extra group each distribution's own token command
// gives a token (kubeadm binds its node-join RBAC to its group).
func (f Flavor) DefaultGroup() string {
	switch f {
	case FlavorK3s:
		return "system:bootstrappers:k3s:default-node-token"
	case FlavorRKE2:
		return "system:bootstrappers:rke2:default-node-token"
	default:
		return "system:bootstrappers:kubeadm:default-node-token"
	}
}

// FlavorFromVersion reads the distribution from a server gitVersion: k3s
// and rke2 stamp theirs with build metadata (v1.31.4+k3s1,
// v1.31.4+rke2r1); anything else is treated as kubeadm.
func FlavorFromVersion(gitVersion string) (Flavor, bool) {
	_, meta, ok := strings.Cut(gitVersion, "+")
	switch {
	case !ok:
		return FlavorKubeadm, false
	case strings.HasPrefix(meta, "rke2"):
		return FlavorRKE2, true
	case strings.HasPrefix(meta, "k3s"):
		return FlavorK3s, true
	default:
		return FlavorKubeadm, false
	}
}

// DetectFlavor asks the server's /version (one GET, no discovery) and
// returns the flavor and a sentence saying how it was decided.
func DetectFlavor(ctx context.Context, c cli.Clients) (Flavor, string, error) {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return "", "", apierror.Wrap(err, apierror.Op{Verb: "get", Resource: schema.GroupResource{Resource: "/version"}})
	}
	if v.GitVersion == "" {
		return FlavorKubeadm, "flavor kubeadm: the server's /version has no gitVersion (pass --flavor to choose)", nil
	}
	f, known := FlavorFromVersion(v.GitVersion)
	if known {
		return f, fmt.Sprintf("flavor %s detected from the server version %s (pass --flavor to choose)", f, v.GitVersion), nil
	}
	return f, fmt.Sprintf("flavor kubeadm assumed: server version %s is neither k3s nor rke2 (pass --flavor to choose)", v.GitVersion), nil
}
