package regtoken

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/pager"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Fleet facts (docs/fleet-registration.md §1–§2). The resource is known,
// so clients are built from the GVR directly: no discovery, no RESTMapper.
const (
	kind = "ClusterRegistrationToken"
	// valuesSecretType is the type of the Secret the controller writes
	// under the token's name; anything else with that name is not ours.
	valuesSecretType = "fleet.cattle.io/cluster-registration-values"
	valuesKey        = "values"
	// importPrefix names tokens Fleet creates itself for imported clusters.
	importPrefix = "import-token-"
	notServed    = "Fleet is not installed in this cluster"
	// objectRef is how kubectl names the kind in "created"/"deleted" lines.
	objectRef = "clusterregistrationtoken.fleet.cattle.io"
)

var (
	tokenGVR      = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrationtokens"}
	tokenResource = tokenGVR.GroupResource()
	secretsGR     = schema.GroupResource{Resource: "secrets"}
)

// now is the clock every expiry judgement reads; tests fix it.
var now = time.Now

// tokenOp describes a call on tokens for apierror.Wrap.
func tokenOp(verb, namespace, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: tokenResource, Kind: kind, Namespace: namespace, Name: name, NotServed: notServed}
}

func secretOp(verb, namespace, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: secretsGR, Kind: "Secret", Namespace: namespace, Name: name}
}

func tokenClient(f cli.Clients) (dynamic.NamespaceableResourceInterface, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	return dyn.Resource(tokenGVR), nil
}

// getToken reads token ns/name; not found points at kubectl regtoken list
// with the user's connection flags.
func getToken(ctx context.Context, ri dynamic.ResourceInterface, f cli.Clients, ns, name string) (*Token, *unstructured.Unstructured, error) {
	u, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return nil, nil, apierror.Explained(err, "%s %q not found in namespace %q: list them with %s", kind, name, ns, hint(f, "list", "-n", ns))
	}
	if err != nil {
		return nil, nil, apierror.Wrap(err, tokenOp("get", ns, name))
	}
	tok, err := toToken(u)
	return tok, u, err
}

// listTokens lists the tokens ri holds in pages of chunk (0 = all at
// once) with client-go's pager, which also starts over when a continue
// token expires mid-list.
func listTokens(ctx context.Context, ri dynamic.ResourceInterface, chunk int64) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": tokenGVR.GroupVersion().String(), "kind": kind + "List", "metadata": map[string]any{}}}
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	}))
	p.PageSize = chunk
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("unexpected %T in a list of %ss", obj, kind)
		}
		list.Items = append(list.Items, *u)
		return nil
	})
	return list, err
}

// hint is a kubectl regtoken command line for a follow-up, with the
// connection flags the user passed (a hint without them would talk to
// another cluster); -n given in args replaces the user's.
func hint(f cli.Clients, args ...string) string {
	return cli.HintCommand(f, append([]string{"kubectl", "regtoken"}, args...)...)
}

// Token is the part of a ClusterRegistrationToken the plugin reads,
// converted from unstructured (Fleet's Go module is not available).
type Token struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		// TTL stays a string: ≤v0.15 clusters may hold values a
		// metav1.Duration would refuse to decode.
		TTL *string `json:"ttl,omitempty"`
	} `json:"spec"`
	Status struct {
		Expires    *metav1.Time `json:"expires,omitempty"`
		SecretName string       `json:"secretName,omitempty"`
	} `json:"status"`
}

func toToken(u *unstructured.Unstructured) (*Token, error) {
	t := &Token{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q cannot be read: %w", kind, u.GetName(), u.GetNamespace(), err)
	}
	return t, nil
}

// TTL is spec.ttl as a duration; ok is false when the token never expires
// (absent, null, zero or negative, which ≤v0.15 also treated as never).
func (t *Token) TTL() (time.Duration, bool) {
	if t.Spec.TTL == nil {
		return 0, false
	}
	d, err := time.ParseDuration(*t.Spec.TTL)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// neverExpires is a token without a positive ttl.
func (t *Token) neverExpires() bool {
	_, ok := t.TTL()
	return !ok
}

// ExpiresAt is when the controller deletes the token. It is computed from
// creationTimestamp + spec.ttl, as the controller does, rather than read
// from status.expires: that is written only at the first reconcile and
// holds the creation time for a ttl of 0.
func (t *Token) ExpiresAt() (time.Time, bool) {
	d, ok := t.TTL()
	if !ok {
		return time.Time{}, false
	}
	return t.CreationTimestamp.Add(d), true
}

// Expired reports whether the token is past its expiry at now.
func (t *Token) Expired(now time.Time) bool {
	at, ok := t.ExpiresAt()
	return ok && now.After(at)
}

// refuseExpired is the error for handing out an expired token's values:
// the controller deletes it at expiry, and a registration with it fails.
func refuseExpired(f cli.Clients, t *Token, now time.Time) error {
	if !t.Expired(now) {
		return nil
	}
	at, _ := t.ExpiresAt()
	return fmt.Errorf("%s %q in namespace %q expired at %s (ttl %s): its values can no longer register a cluster; create a new token (%s) and delete this one (%s)",
		kind, t.Name, t.Namespace, at.UTC().Format(time.RFC3339), *t.Spec.TTL,
		hint(f, "create", "NEW-NAME", "-n", t.Namespace, "--ttl", "24h"), hint(f, "delete", t.Name, "-n", t.Namespace))
}

// tokenRef is what get, values and helm resolve in Complete: one token
// named by the argument, in the namespace -n (or the kubeconfig) selects,
// and the client that reaches it.
type tokenRef struct {
	Name string

	namespace string
	tokens    dynamic.ResourceInterface
}

func (r *tokenRef) complete(f cli.Clients, args []string) error {
	r.Name = args[0]
	var err error
	if r.namespace, _, err = f.Namespace(); err != nil {
		return err
	}
	client, err := tokenClient(f)
	if err != nil {
		return err
	}
	r.tokens = client.Namespace(r.namespace)
	return nil
}
