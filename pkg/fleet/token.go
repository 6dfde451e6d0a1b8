package fleet

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
	Kind = "ClusterRegistrationToken"
	// ValuesSecretType is the type of the Secret the controller writes
	// under the token's name; anything else with that name is not ours.
	ValuesSecretType = "fleet.cattle.io/cluster-registration-values"
	ValuesKey        = "values"
	// ImportPrefix names tokens Fleet creates itself for imported clusters.
	ImportPrefix = "import-token-"
	NotServed    = "Fleet is not installed in this cluster"
	// ObjectRef is how kubectl names the Kind in "created"/"deleted" lines.
	ObjectRef = "clusterregistrationtoken.fleet.cattle.io"
)

var (
	TokenGVR      = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrationtokens"}
	TokenResource = TokenGVR.GroupResource()
	SecretsGR     = schema.GroupResource{Resource: "secrets"}
)

// Now is the clock every expiry judgement reads; tests fix it.
var Now = time.Now

// TokenOp describes a call on tokens for apierror.Wrap.
func TokenOp(verb, namespace, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: TokenResource, Kind: Kind, Namespace: namespace, Name: name, NotServed: NotServed}
}

func SecretOp(verb, namespace, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: SecretsGR, Kind: "Secret", Namespace: namespace, Name: name}
}

func TokenClient(f cli.Clients) (dynamic.NamespaceableResourceInterface, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	return dyn.Resource(TokenGVR), nil
}

// getToken reads token ns/name; not found points at kubectl regtoken list
// with the user's connection flags.
func GetToken(ctx context.Context, ri dynamic.ResourceInterface, f cli.Clients, ns, name string) (*Token, *unstructured.Unstructured, error) {
	u, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return nil, nil, apierror.Explained(err, "%s %q not found in namespace %q: list them with %s", Kind, name, ns, Hint(f, "list", "-n", ns))
	}
	if err != nil {
		return nil, nil, apierror.Wrap(err, TokenOp("get", ns, name))
	}
	tok, err := ToToken(u)
	return tok, u, err
}

// ListTokens lists the tokens ri holds in pages of chunk (0 = all at
// once) with client-go's pager, which also starts over when a continue
// token expires mid-list.
func ListTokens(ctx context.Context, ri dynamic.ResourceInterface, chunk int64) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": TokenGVR.GroupVersion().String(), "kind": Kind + "List", "metadata": map[string]any{}}}
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	}))
	p.PageSize = chunk
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("unexpected %T in a list of %ss", obj, Kind)
		}
		list.Items = append(list.Items, *u)
		return nil
	})
	return list, err
}

// Hint is a kubectl regtoken command line for a follow-up, with the
// connection flags the user passed (a Hint without them would talk to
// another cluster); -n given in args replaces the user's.
func Hint(f cli.Clients, args ...string) string {
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

func ToToken(u *unstructured.Unstructured) (*Token, error) {
	t := &Token{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q cannot be read: %w", Kind, u.GetName(), u.GetNamespace(), err)
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

// NeverExpires is a token without a positive ttl.
func (t *Token) NeverExpires() bool {
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

// Expired reports whether the token is past its expiry at Now.
func (t *Token) Expired(Now time.Time) bool {
	at, ok := t.ExpiresAt()
	return ok && Now.After(at)
}

// RefuseExpired is the error for handing out an expired token's values:
// the controller deletes it at expiry, and a registration with it fails.
func RefuseExpired(f cli.Clients, t *Token, Now time.Time) error {
	if !t.Expired(Now) {
		return nil
	}
	at, _ := t.ExpiresAt()
	return fmt.Errorf("%s %q in namespace %q expired at %s (ttl %s): its values can no longer register a cluster; create a new token (%s) and delete this one (%s)",
		Kind, t.Name, t.Namespace, at.UTC().Format(time.RFC3339), *t.Spec.TTL,
		Hint(f, "create", "NEW-NAME", "-n", t.Namespace, "--ttl", "24h"), Hint(f, "delete", t.Name, "-n", t.Namespace))
}

// ExpiryWords is the expiry for a sentence: "expires 2026-12-07T10:00:00Z"
// or "never expires".
func ExpiryWords(t *Token) string {
	if at, ok := t.ExpiresAt(); ok {
		return "expires " + at.UTC().Format(time.RFC3339)
	}
	return "never expires"
}
