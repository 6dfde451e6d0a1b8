package regtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// The list table decodes each page of JSON into these structs, which hold
// only what the table prints: the dynamic client's unstructured maps,
// converted item by item by reflection, made `kubectl regtoken list` slower
// than `kubectl get` at 2,000 tokens (BENCHMARKS.md §4). -o json|yaml|name
// and the templates still print the whole objects from the dynamic client.

// tokenPage is one page of a ClusterRegistrationTokenList.
type tokenPage struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []tokenItem `json:"items"`
}

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

// tokensREST is a REST client for the token list requests, built like the
// dynamic client's (JSON, unversioned, so an error Status keeps the
// server's message).
func tokensREST(f cli.Clients) (rest.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return rest.UnversionedRESTClientFor(dynamic.ConfigFor(cfg))
}

// listTokenItems lists the tokens of namespace ns ("" = all) in pages of
// chunk (0 = one request), as the dynamic client would ask for them, and
// decodes only the table's fields.
func listTokenItems(ctx context.Context, rc rest.Interface, ns string, chunk int64) ([]fleet.Token, error) {
	path := []string{"/apis", fleet.TokenGVR.Group, fleet.TokenGVR.Version}
	if ns != "" {
		path = append(path, "namespaces", ns)
	}
	path = append(path, fleet.TokenGVR.Resource)
	var out []fleet.Token
	cont := ""
	for {
		req := rc.Get().AbsPath(path...)
		if chunk > 0 {
			req = req.Param("limit", strconv.FormatInt(chunk, 10))
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		res := req.Do(ctx)
		// Error, not Raw's: it decodes the server's Status, which
		// apierror.Wrap explains (e.g. Fleet not installed).
		if err := res.Error(); err != nil {
			return nil, err
		}
		body, err := res.Raw()
		if err != nil {
			return nil, err
		}
		var page tokenPage
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("the list of %s cannot be read: %w", fleet.TokenResource, err)
		}
		if page.Kind != fleet.Kind+"List" {
			return nil, fmt.Errorf("the server answered the list of %s with kind %q, not %sList", fleet.TokenResource, page.Kind, fleet.Kind)
		}
		if out == nil {
			out = make([]fleet.Token, 0, len(page.Items))
		}
		for i := range page.Items {
			out = append(out, page.Items[i].token())
		}
		if cont = page.Metadata.Continue; cont == "" {
			return out, nil
		}
	}
}
