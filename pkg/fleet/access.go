package fleet

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

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
	return CheckAccessOn(ctx, m.f, m.Dyn, m.Namespace, command, checks...)
}

// CheckAccessOn is CheckAccess on any cluster (a downstream one too), in
// namespace ("" for cluster-scoped resources). A Resource
// "serviceaccounts/token" is a subresource.
func CheckAccessOn(ctx context.Context, f cli.Clients, dyn dynamic.Interface, namespace, command string, checks ...Access) error {
	refusals := make([]error, len(checks))
	var g errgroup.Group
	for i, c := range checks {
		g.Go(func() error {
			refusals[i] = review(ctx, f, dyn, namespace, command, c)
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

func review(ctx context.Context, f cli.Clients, dyn dynamic.Interface, namespace, command string, c Access) error {
	resource, sub, _ := strings.Cut(c.Resource, "/")
	attrs := map[string]any{"namespace": namespace, "verb": c.Verb, "group": c.Group, "resource": resource}
	if sub != "" {
		attrs["subresource"] = sub
	}
	review := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec":       map[string]any{"resourceAttributes": attrs},
	}}
	got, err := dyn.Resource(ssarGVR).Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return nil
	}
	allowed, found, _ := unstructured.NestedBool(got.Object, "status", "allowed")
	if !found || allowed {
		return nil
	}
	res := resource
	if c.Group != "" {
		res += "." + c.Group
	}
	canI := []string{"kubectl", "auth", "can-i", c.Verb, res}
	if sub != "" {
		canI = append(canI, "--subresource", sub)
		res += "/" + sub
	}
	reason, _, _ := unstructured.NestedString(got.Object, "status", "reason")
	if reason != "" {
		reason = " (" + reason + ")"
	}
	if namespace == "" {
		return fmt.Errorf("you may not %s %s%s, which %s needs to %s; nothing was created: ask for that permission (check with %s)",
			c.Verb, res, reason, command, c.Why, cli.HintCommand(f, canI...))
	}
	return fmt.Errorf("you may not %s %s in namespace %q%s, which %s needs to %s; nothing was created: ask for that permission (check with %s)",
		c.Verb, res, namespace, reason, command, c.Why, cli.HintCommand(f, append(canI, "-n", namespace)...))
}
