package rancherimport

import (
	"context"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// forEach runs fn on every cluster, at most limit at once, and returns
// when all are done. fn records its own failure in the cluster: one
// cluster's failure never stops the others (partial failure, as enroll).
func forEach(ctx context.Context, clusters []*Cluster, limit int, fn func(context.Context, *Cluster)) {
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for _, c := range clusters {
		g.Go(func() error {
			fn(ctx, c)
			return nil
		})
	}
	_ = g.Wait()
}
