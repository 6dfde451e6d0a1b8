// Package pagedlist lists a collection page by page over a REST client
// and decodes each page of JSON into a caller's struct that holds only the
// fields it prints. The dynamic client's unstructured maps, converted item
// by item by reflection, made the plugins' list tables slower than kubectl
// get at a few thousand objects (BENCHMARKS.md). Commands keep the dynamic
// client for -o json|yaml, which print whole objects.
package pagedlist

import (
	"bytes"
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
//
// The next page is requested while this one decodes: kube-apiserver
// writes a list's metadata (and its continue token) before its items, so
// the token can be read without decoding the page, and the server's time
// on page n+1 overlaps the client's on page n.
func List[T any](ctx context.Context, rc rest.Interface, r Request) ([]T, error) {
	var out []T
	body, err := r.fetch(ctx, rc, "")
	for {
		if err != nil {
			return nil, err
		}
		var next chan fetched
		if cont, ok := continueOf(body); ok && cont != "" {
			next = make(chan fetched, 1)
			go func() {
				b, err := r.fetch(ctx, rc, cont)
				next <- fetched{b, err}
			}()
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
		switch {
		case p.Metadata.Continue == "":
			return out, nil
		case next != nil:
			f := <-next
			body, err = f.body, f.err
		default:
			body, err = r.fetch(ctx, rc, p.Metadata.Continue)
		}
	}
}

// fetched is one page's body, or why there is none.
type fetched struct {
	body []byte
	err  error
}

// fetch requests one page: the first when cont is "".
func (r Request) fetch(ctx context.Context, rc rest.Interface, cont string) ([]byte, error) {
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
	// Error, not Raw's: it decodes the server's Status, whose message the
	// caller's explanation keeps.
	if err := res.Error(); err != nil {
		return nil, err
	}
	return res.Raw()
}

// continueOf reads a list's continue token from the keys that come before
// its items, without decoding them; ok is false when the items come first
// (the page must then be decoded before the next is asked for).
func continueOf(body []byte) (cont string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch key {
		case "items":
			return "", false
		case "metadata":
			var m struct {
				Continue string `json:"continue"`
			}
			if err := dec.Decode(&m); err != nil {
				return "", false
			}
			return m.Continue, true
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", false
			}
		}
	}
	return "", false
}
