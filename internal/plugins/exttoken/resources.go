package exttoken

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// The resources are known, so clients are built for them directly: no
// discovery, no RESTMapper (docs/rancher-tokens.md §2, §7, §8).
var (
	tokensGVR   = schema.GroupVersionResource{Group: "ext.cattle.io", Version: "v1", Resource: "tokens"}
	legacyGVR   = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "tokens"}
	settingsGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "settings"}
	featuresGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "features"}
)

// Labels Rancher puts on ext tokens (§2) and v3 tokens (§7).
const (
	labelUserID      = "cattle.io/user-id"
	labelKind        = "authn.management.cattle.io/kind"
	labelV3UserID    = "authn.management.cattle.io/token-userId"
	tokensPath       = "/apis/ext.cattle.io/v1/tokens"
	extTokenResource = "token.ext.cattle.io" // as kubectl names one object
)

// notServed is the line for a cluster without Rancher's ext token API:
// it is served by Rancher 2.12+ on its local (management) cluster only.
const notServed = "Rancher's ext token API is not served by this cluster (it needs Rancher 2.12 or later; point --context at Rancher's local cluster)"

func tokenOp(verb, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: tokensGVR.GroupResource(), Kind: "token", Name: name, NotServed: notServed}
}

func legacyOp(verb, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: legacyGVR.GroupResource(), Kind: "v3 token", Name: name,
		NotServed: "Rancher's management API (tokens.management.cattle.io) is not served by this cluster; point --context at Rancher's local cluster"}
}

func settingOp(verb, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: settingsGVR.GroupResource(), Kind: "setting", Name: name,
		NotServed: "Rancher's settings (settings.management.cattle.io) are not served by this cluster; point --context at Rancher's local cluster"}
}

// wrapToken explains an ext token API error, turning Rancher's own
// messages into what the user can do about them before the generic
// explanation.
func wrapToken(err error, verb, name string) error {
	if err == nil {
		return nil
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		msg := st.Status().Message
		switch {
		case strings.Contains(msg, "is not a Rancher user"):
			return &explained{fmt.Sprintf("%s: only Rancher users can own tokens; use a kubeconfig Rancher issued to your Rancher user (this credential is not one)", apierror.OneLine(msg)), err}
		case strings.Contains(msg, "missing authentication token ID"):
			return &explained{fmt.Sprintf("%s: Rancher creates tokens only for requests authenticated with a Rancher token; use a kubeconfig from Rancher (UI or an ext token) instead of a direct cluster credential", apierror.OneLine(msg)), err}
		case strings.Contains(msg, "forbidden to extend time-to-live"):
			return &explained{fmt.Sprintf("cannot extend token %q: Rancher only lets a token's TTL shrink (server: forbidden to extend time-to-live); create a new token with the longer --ttl instead", name), err}
		case strings.Contains(msg, "is immutable"):
			return &explained{fmt.Sprintf("cannot change token %q: %s; only description, enabled and a shorter ttl can change", name, apierror.OneLine(msg)), err}
		case strings.Contains(msg, "unable to create token for other user"):
			return &explained{"Rancher refused: unable to create token for other user; tokens are always created for the calling user", err}
		case strings.Contains(msg, "operation references a disabled user"):
			return &explained{"Rancher refused: operation references a disabled user; an administrator must enable the user first", err}
		case strings.Contains(msg, "failed to process list options"):
			return &explained{fmt.Sprintf("Rancher could not apply the label selector (%s): this Rancher version accepts only key=value selectors for non-admins", apierror.OneLine(msg)), err}
		case st.Status().Code == 400 && strings.HasPrefix(msg, "cluster ") && strings.HasSuffix(msg, " not found"):
			cluster := strings.TrimSuffix(strings.TrimPrefix(msg, "cluster "), " not found")
			return &explained{fmt.Sprintf("Rancher has no cluster %q (%s): check --cluster-name against kubectl get clusters.management.cattle.io", cluster, msg), err}
		case strings.Contains(msg, "is not allowed to access cluster"):
			return &explained{fmt.Sprintf("%s: a token can be scoped only to a cluster you may access; ask a Rancher administrator or drop --cluster-name", apierror.OneLine(msg)), err}
		}
	}
	return apierror.Wrap(err, tokenOp(verb, name))
}

// explained is an error whose message is already the one line to print.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

func dynamicFor(f cli.Clients, gvr schema.GroupVersionResource) (dynamic.NamespaceableResourceInterface, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	return dyn.Resource(gvr), nil
}

func wrapLegacy(err error, verb, name string) error {
	if err == nil {
		return nil
	}
	return apierror.Wrap(err, legacyOp(verb, name))
}
