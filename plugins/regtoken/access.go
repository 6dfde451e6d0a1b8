package regtoken

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var ssarGVR = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}

// accessCheck is one permission create needs.
type accessCheck struct {
	verb, group, resource string
	why                   string
}

// checkAccess asks the API server (SelfSubjectAccessReview, one cheap
// request each) whether create may create the token and then read its
// values Secret, so that a missing permission is said before a token
// exists. A review that cannot be made or gives no answer (an older or
// restricted server) is not a refusal: the real request will say.
func (o *CreateOptions) checkAccess(ctx context.Context) error {
	checks := []accessCheck{{"create", tokenGVR.Group, tokenGVR.Resource, "create the token"}}
	if !o.NoWait {
		checks = append(checks, accessCheck{"get", "", "secrets", "read the values Secret the Fleet controller writes (the token would be left without values.yaml)"})
	}
	for _, c := range checks {
		review := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1",
			"kind":       "SelfSubjectAccessReview",
			"spec": map[string]any{"resourceAttributes": map[string]any{
				"namespace": o.namespace, "verb": c.verb, "group": c.group, "resource": c.resource,
			}},
		}}
		got, err := o.dyn.Resource(ssarGVR).Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			continue
		}
		allowed, found, _ := unstructured.NestedBool(got.Object, "status", "allowed")
		if !found || allowed {
			continue
		}
		res := c.resource
		if c.group != "" {
			res += "." + c.group
		}
		reason, _, _ := unstructured.NestedString(got.Object, "status", "reason")
		if reason != "" {
			reason = " (" + reason + ")"
		}
		return fmt.Errorf("you may not %s %s in namespace %q%s, which create needs to %s; nothing was created: ask for that permission (check with kubectl auth can-i %s %s -n %s)", c.verb, res, o.namespace, reason, c.why, c.verb, res, o.namespace)
	}
	return nil
}
