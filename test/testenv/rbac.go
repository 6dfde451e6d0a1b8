package testenv

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// WaitForAccess returns once kube-apiserver's RBAC authorizer allows
// spec. It learns of new (Cluster)RoleBindings through its own informer, so
// a binding created a moment ago may not count yet; a test that acts at
// once can meet a Forbidden that no user would.
func WaitForAccess(ctx context.Context, admin *rest.Config, spec authorizationv1.SubjectAccessReviewSpec) error {
	client, err := authorizationv1client.NewForConfig(admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		res, err := client.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if err == nil && res.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("RBAC never allowed %s %+v: %v", spec.User, spec.ResourceAttributes, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
