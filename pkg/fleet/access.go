package fleet

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

var ssarGVR = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}

// Access is one permission a step needs, and why, for the refusal.
type Access struct {
	Verb, Group, Resource string
	Why                   string
}

// The permissions of the management-side steps.
var (
	AccessCreateToken   = Access{"create", TokenGVR.Group, TokenGVR.Resource, "create the token"}
	AccessReadValues    = Access{"get", "", "secrets", "read the values Secret the Fleet controller writes (the token would be left without values.yaml)"}
	AccessListRequests  = Access{"list", RegistrationGVR.Group, RegistrationGVR.Resource, "see the clusters' registrations (the token would be left with no way to tell them registered)"}
	AccessWatchRequests = Access{"watch", RegistrationGVR.Group, RegistrationGVR.Resource, "wait for the clusters' registrations by watch"}
	AccessDeleteToken   = Access{"delete", TokenGVR.Group, TokenGVR.Resource, "delete the token once every cluster holds its own credential (pass --keep-token to keep it instead)"}
)

// CheckAccess asks the API server (one SelfSubjectAccessReview each, all
// at once) whether the run may do what it will, so that a missing
// permission is said before a token exists. A review that cannot be made
// or gives no answer (an older or restricted server) is not a refusal:
// the real request will say. The first refusal in the order given wins.
func (m *Manager) CheckAccess(ctx context.Context, command string, checks ...Access) error {
	refusals := make([]error, len(checks))
	var g errgroup.Group
	for i, c := range checks {
		g.Go(func() error {
			refusals[i] = m.review(ctx, command, c)
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range refusals {
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) review(ctx context.Context, command string, c Access) error {
	review := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{
			"namespace": m.Namespace, "verb": c.Verb, "group": c.Group, "resource": c.Resource,
		}},
	}}
	got, err := m.Dyn.Resource(ssarGVR).Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return nil
	}
	allowed, found, _ := unstructured.NestedBool(got.Object, "status", "allowed")
	if !found || allowed {
		return nil
	}
	res := c.Resource
	if c.Group != "" {
		res += "." + c.Group
	}
	reason, _, _ := unstructured.NestedString(got.Object, "status", "reason")
	if reason != "" {
		reason = " (" + reason + ")"
	}
	return fmt.Errorf("you may not %s %s in namespace %q%s, which %s needs to %s; nothing was created: ask for that permission (check with %s)",
		c.Verb, res, m.Namespace, reason, command, c.Why, cli.HintCommand(m.f, "kubectl", "auth", "can-i", c.Verb, res, "-n", m.Namespace))
}
