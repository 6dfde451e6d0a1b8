// Package pagedlist lists a collection page by page over a REST client
// and decodes each page of JSON into a caller's struct that holds only the
// fields it prints. The dynamic client's unstructured maps, converted item
// by item by reflection, made the plugins' list tables slower than kubectl
// get at a few thousand objects (BENCHMARKS.md). Commands keep the dynamic
// client for -o json|yaml, which print whole objects.
package pagedlist

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// MetadataAccept asks the server for a PartialObjectMetadataList: names
// and labels without the objects' contents (a Secret's data stays on the
// server). A server that cannot answer so sends the whole list, which
// decodes the same.
const MetadataAccept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"

// Request is one list: the resource in namespace ("" = all), its
// selectors and page size (0 = one request).
type Request struct {
	GVR           schema.GroupVersionResource
	Namespace     string
	LabelSelector string
	FieldSelector string
	Chunk         int64
	// Kind is the list kind the server must answer, e.g. "SecretList";
	// "" accepts any (metadata-only lists answer
	// PartialObjectMetadataList).
	Kind string
	// Accept is the Accept header, e.g. MetadataAccept; "" is JSON.
	Accept string
}

// Path is the collection's URL path.
func (r Request) Path() string {
	p := "/apis/" + r.GVR.Group + "/" + r.GVR.Version
	if r.GVR.Group == "" {
		p = "/api/" + r.GVR.Version
	}
	if r.Namespace != "" {
		p += "/namespaces/" + r.Namespace
	}
	return p + "/" + r.GVR.Resource
}

// page is one page of a list with items of T.
type page[T any] struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []T `json:"items"`
}

// List requests every page of r, following the server's continue tokens,
// and returns the items decoded into T. An error the server answers is
// returned as client-go decodes it (an API Status error), for the
// caller's apierror.Wrap.
func List[T any](ctx context.Context, rc rest.Interface, r Request) ([]T, error) {
	var out []T
	cont := ""
	for {
		req := rc.Get().AbsPath(r.Path())
		if r.Accept != "" {
			req = req.SetHeader("Accept", r.Accept)
		}
		if r.Chunk > 0 {
			req = req.Param("limit", strconv.FormatInt(r.Chunk, 10))
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		if r.LabelSelector != "" {
			req = req.Param("labelSelector", r.LabelSelector)
		}
		if r.FieldSelector != "" {
			req = req.Param("fieldSelector", r.FieldSelector)
		}
		res := req.Do(ctx)
		// Error, not Raw's: it decodes the server's Status, whose message
		// the caller's explanation keeps.
		if err := res.Error(); err != nil {
			return nil, err
		}
		body, err := res.Raw()
		if err != nil {
			return nil, err
		}
		var p page[T]
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("the list of %s cannot be read: %w", r.GVR.GroupResource(), err)
		}
		if r.Kind != "" && p.Kind != r.Kind {
			return nil, fmt.Errorf("the server answered the list of %s with kind %q, not %s", r.GVR.GroupResource(), p.Kind, r.Kind)
		}
		if out == nil {
			out = make([]T, 0, len(p.Items))
		}
		out = append(out, p.Items...)
		if cont = p.Metadata.Continue; cont == "" {
			return out, nil
		}
	}
}
