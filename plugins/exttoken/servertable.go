package exttoken

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// tableAccept is the Accept header kubectl get sends for server-side
// printing; with it our table is the server's own, column for column.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// tokensREST is a REST client for ext.cattle.io/v1, for the Table
// requests the dynamic client cannot make (unversioned: the server's
// error Status keeps its message).
func tokensREST(f cli.Clients) (rest.Interface, error) {
	return f.RESTClientFor(tokensGVR.GroupVersion())
}

// tableQuery is one server-side Table request.
type tableQuery struct {
	Name          string // one token, or "" for a list
	LabelSelector string
	ChunkSize     int64
	// IncludeObject asks for whole tokens in the rows (for client-side
	// filters), left raw for the caller to decode (rowItem) and drop;
	// otherwise the server's default, object metadata, decoded.
	IncludeObject bool
}

// fetchTable gets the server's Table for tokens, following continue
// tokens page by page and merging the rows, so the printed table matches
// kubectl get's.
func fetchTable(ctx context.Context, rc rest.Interface, tokens tokenClient, q tableQuery) (*metav1.Table, error) {
	return fetchTableOf(ctx, rc, tableSource{path: tokensPath, resource: tokensGVR.GroupResource(), scrub: scrub, wrap: tokens.wrap}, q)
}

// tableSource is a resource whose server-side Table fetchTableOf reads:
// its collection path, how to scrub an object in a row and how to
// explain an error.
type tableSource struct {
	path     string
	resource schema.GroupResource
	scrub    func(*unstructured.Unstructured)
	wrap     func(err error, verb, name string) error
}

func fetchTableOf(ctx context.Context, rc rest.Interface, src tableSource, q tableQuery) (*metav1.Table, error) {
	var out *metav1.Table
	cont := ""
	for {
		req := rc.Get().SetHeader("Accept", tableAccept)
		if q.Name != "" {
			req = req.AbsPath(src.path, q.Name)
		} else {
			req = req.AbsPath(src.path)
			if q.ChunkSize > 0 {
				req = req.Param("limit", strconv.FormatInt(q.ChunkSize, 10))
			}
			if cont != "" {
				req = req.Param("continue", cont)
			}
			if q.LabelSelector != "" {
				req = req.Param("labelSelector", q.LabelSelector)
			}
		}
		if q.IncludeObject {
			req = req.Param("includeObject", "Object")
		}
		res := req.Do(ctx)
		// Error, not Raw's error: it decodes the server's Status and keeps
		// its message (e.g. which token was not found).
		if err := res.Error(); err != nil {
			return nil, src.wrap(err, verbFor(q.Name), q.Name)
		}
		body, err := res.Raw()
		if err != nil {
			return nil, src.wrap(err, verbFor(q.Name), q.Name)
		}
		page := &metav1.Table{}
		if err := json.Unmarshal(body, page); err != nil || page.Kind != "Table" {
			return nil, fmt.Errorf("the server did not answer with a Table for %s (kind %q): is this Rancher's ext API?", src.resource, page.Kind)
		}
		for i := range page.Rows {
			if raw := page.Rows[i].Object.Raw; len(raw) > 0 && !q.IncludeObject {
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON(raw); err == nil {
					src.scrub(u)
					page.Rows[i].Object = runtime.RawExtension{Object: u}
				}
			}
		}
		if out == nil {
			out = page
		} else {
			out.Rows = append(out.Rows, page.Rows...)
		}
		cont = page.Continue
		if q.Name != "" || cont == "" {
			out.Continue = ""
			return out, nil
		}
	}
}

func verbFor(name string) string {
	if name != "" {
		return "get"
	}
	return "list"
}
