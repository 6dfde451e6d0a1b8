package regtoken

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/pagedlist"
)

// The list table decodes each page of JSON into these structs, which hold
// only what the table prints (pkg/pagedlist): the dynamic client's
// unstructured maps made `kubectl regtoken list` slower than `kubectl get`
// at 2,000 tokens (BENCHMARKS.md §4). -o json|yaml|name and the templates
// still print the whole objects from the dynamic client.

// tokenItem is the part of a token the table shows.
type tokenItem struct {
	Metadata struct {
		Name              string      `json:"name"`
		Namespace         string      `json:"namespace"`
		CreationTimestamp metav1.Time `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		TTL *string `json:"ttl"`
	} `json:"spec"`
	Status struct {
		SecretName string `json:"secretName"`
	} `json:"status"`
}

// token is the item as the Token every other command reads.
func (it *tokenItem) token() fleet.Token {
	t := fleet.Token{}
	t.Name, t.Namespace, t.CreationTimestamp = it.Metadata.Name, it.Metadata.Namespace, it.Metadata.CreationTimestamp
	t.Spec.TTL = it.Spec.TTL
	t.Status.SecretName = it.Status.SecretName
	return t
}

// listTokenItems lists the tokens of namespace ns ("" = all) in pages of
// chunk (0 = one request), as the dynamic client would ask for them, and
// decodes only the table's fields.
func listTokenItems(ctx context.Context, f cli.Clients, ns string, chunk int64) ([]fleet.Token, error) {
	rc, err := f.RESTClientFor(fleet.TokenGVR.GroupVersion())
	if err != nil {
		return nil, err
	}
	items, err := pagedlist.List[tokenItem](ctx, rc, pagedlist.Request{GVR: fleet.TokenGVR, Namespace: ns, Chunk: chunk, Kind: fleet.Kind + "List"})
	if err != nil {
		return nil, err
	}
	out := make([]fleet.Token, 0, len(items))
	for i := range items {
		out = append(out, items[i].token())
	}
	return out, nil
}

// nameItem is an object's namespace and name, from a metadata-only list.
type nameItem struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// valuesSecrets are the namespace/name of the values Secrets in ns ("" =
// all), from one metadata-only list (their data, the agents' credentials,
// stays on the server): the SECRET column says ready only for a Secret
// that exists, not on the token's status alone.
func valuesSecrets(ctx context.Context, f cli.Clients, ns string, chunk int64) (map[string]bool, error) {
	gvr := corev1.SchemeGroupVersion.WithResource("secrets")
	rc, err := f.RESTClientFor(gvr.GroupVersion())
	if err != nil {
		return nil, err
	}
	items, err := pagedlist.List[nameItem](ctx, rc, pagedlist.Request{GVR: gvr, Namespace: ns, Chunk: chunk,
		FieldSelector: fields.OneTermEqualSelector("type", fleet.ValuesSecretType).String(), Accept: pagedlist.MetadataAccept})
	if err != nil {
		return nil, apierror.Wrap(err, fleet.SecretOp("list", ns, ""))
	}
	out := make(map[string]bool, len(items))
	for _, it := range items {
		out[it.Metadata.Namespace+"/"+it.Metadata.Name] = true
	}
	return out, nil
}
