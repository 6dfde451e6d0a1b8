package rancherimport

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// untilAllowed runs fn again while it is refused with 403. Rancher grants
// a cluster's creator access to the cluster's objects (its provisioning
// cluster, management cluster, import token and crt-token-reader)
// through controllers after the create, and the apiserver's authorizer
// learns of those bindings a moment later: the first reads of a
// non-admin creator may be refused. Access cannot be watched, so this
// is the one retry loop, backing off from 100 ms to 2 s until ctx ends.
func untilAllowed(ctx context.Context, fn func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !apierrors.IsForbidden(err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}
