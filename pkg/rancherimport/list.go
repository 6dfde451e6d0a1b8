package rancherimport

import (
	"context"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// The states List reports.
const (
	StatePending     = "Pending"     // no cluster ID yet, or the agent has not connected
	StateActive      = "Active"      // Ready=True
	StateUnavailable = "Unavailable" // Ready=False: the agent is gone or failing
	StateUnknown     = "Unknown"     // the management cluster cannot be read
)

// Imported is one imported cluster as List sees it. It reads the import
// token's object, never its value.
type Imported struct {
	Name    string
	ID      string
	State   string
	Reason  string
	Created time.Time
	Labels  map[string]string
	// TokenExpires and GraceUntil are zero when the token does not
	// rotate (before 2.15) or is not readable.
	TokenExpires, GraceUntil time.Time
}

// List reads every imported cluster of the workspace (provisioning
// clusters Rancher does not provision), its state and its import token's
// expiry, sorted by name.
func (r *Rancher) List(ctx context.Context) ([]Imported, error) {
	list, err := r.provisioning().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apierror.Wrap(err, r.clusterOp("list", ""))
	}
	var out []Imported
	for i := range list.Items {
		u := &list.Items[i]
		spec, _, _ := unstructured.NestedMap(u.Object, "spec")
		if _, provisioned := spec["rkeConfig"]; provisioned {
			continue
		}
		c := Imported{Name: u.GetName(), Created: u.GetCreationTimestamp().Time, Labels: u.GetLabels(), State: StatePending}
		c.ID, _, _ = unstructured.NestedString(u.Object, "status", "clusterName")
		if c.ID != "" {
			if err := r.fillState(ctx, &c); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// fillState reads the management cluster's conditions and the token's
// expiry; what the caller may not read stays unknown.
func (r *Rancher) fillState(ctx context.Context, c *Imported) error {
	st, err := r.State(ctx, c.ID)
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		c.State = StateUnknown
	case err != nil:
		return err
	case st.Active():
		c.State = StateActive
	case st.Ready.Status == "False":
		c.State, c.Reason = StateUnavailable, st.Ready.Reason
	}
	crt, err := r.Dyn.Resource(ImportTokensGVR).Namespace(c.ID).Get(ctx, TokenName, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
	case err != nil:
		return apierror.Wrap(err, apierror.Op{Verb: "get", Resource: ImportTokensGVR.GroupResource(), Kind: "Rancher import token", Namespace: c.ID, Name: TokenName})
	default:
		c.TokenExpires = statusTime(crt, "expiresAt")
		c.GraceUntil = statusTime(crt, "gracePeriodExpiresAt")
	}
	return nil
}

// InGrace says whether the previous token still works at now.
func (c Imported) InGrace(now time.Time) bool { return now.Before(c.GraceUntil) }

// ExpiringWithin says whether the token expires within d of now, or a
// previous token is in its grace period (scripts holding it must move on).
func (c Imported) ExpiringWithin(d time.Duration, now time.Time) bool {
	if c.InGrace(now) {
		return true
	}
	return !c.TokenExpires.IsZero() && c.TokenExpires.Sub(now) <= d
}
