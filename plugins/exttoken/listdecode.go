package exttoken

import (
	"context"
	"encoding/json"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/pagedlist"
)

// The list tables decode each token into tokenItem, which holds only what
// extToken reads (pkg/pagedlist): the dynamic client's unstructured maps,
// converted by reflection, cost a list of thousands more than kubectl get
// (issue 26). The secret fields (status.hash, .value, .bearerToken) are not
// in it, so nothing needs scrubbing. -o json|yaml still print the whole
// objects, scrubbed, from the dynamic client.

// tokenItem is the part of an ext Token (docs/rancher-tokens.md §2) the
// tables and the selection read.
type tokenItem struct {
	Metadata struct {
		Name              string      `json:"name"`
		UID               types.UID   `json:"uid"`
		ResourceVersion   string      `json:"resourceVersion"`
		CreationTimestamp metav1.Time `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		UserID      string `json:"userID"`
		Kind        string `json:"kind"`
		Description string `json:"description"`
		ClusterName string `json:"clusterName"`
		TTL         int64  `json:"ttl"`
		Enabled     *bool  `json:"enabled"` // null means true
	} `json:"spec"`
	Status struct {
		Current          bool   `json:"current"`
		LastUsedAt       string `json:"lastUsedAt"`
		LastActivitySeen string `json:"lastActivitySeen"`
	} `json:"status"`
}

// token is the item as the commands reason about it (as tokenFrom reads
// an unstructured token).
func (it *tokenItem) token() extToken {
	return extToken{
		Name: it.Metadata.Name, UID: string(it.Metadata.UID), ResourceVersion: it.Metadata.ResourceVersion, Created: it.Metadata.CreationTimestamp.Time,
		UserID: it.Spec.UserID, Kind: it.Spec.Kind, Description: it.Spec.Description, ClusterName: it.Spec.ClusterName, TTL: it.Spec.TTL,
		Enabled: it.Spec.Enabled == nil || *it.Spec.Enabled,
		Current: it.Status.Current, LastUsed: rfc3339(it.Status.LastUsedAt), LastActivity: rfc3339(it.Status.LastActivitySeen),
	}
}

// rfc3339 is a stored time, zero when absent or unreadable (as parseTime).
func rfc3339(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// listTokenItems lists the tokens matching selector page by page and
// decodes only what extToken reads.
func (o *ListOptions) listTokenItems(ctx context.Context, selector string) ([]extToken, error) {
	items, err := pagedlist.List[tokenItem](ctx, o.rest, pagedlist.Request{GVR: tokensGVR, LabelSelector: selector, Chunk: o.ChunkSize, Kind: "TokenList"})
	if err != nil {
		return nil, o.tokens.wrap(err, "list", "")
	}
	out := make([]extToken, 0, len(items))
	for i := range items {
		out = append(out, items[i].token())
	}
	return out, nil
}

// rowItem decodes the whole token a server Table row carries
// (includeObject=Object) into what the selection reads.
func rowItem(raw []byte) (extToken, bool) {
	var it tokenItem
	if len(raw) == 0 || json.Unmarshal(raw, &it) != nil {
		return extToken{}, false
	}
	return it.token(), true
}
