package pagedlist_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/pagedlist"
)

type item struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func client(t *testing.T, h http.HandlerFunc) rest.Interface {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rc, err := cli.RESTClientForConfig(&rest.Config{Host: srv.URL}, corev1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// Every page is requested with the page size, selectors and Accept header
// asked for, following the continue tokens, and the items of all pages
// come back in order.
func TestListFollowsContinueTokensWithTheRequestsQuery(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rc := client(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Accept"))
		next := map[string]string{"": "c2", "c2": ""}[r.URL.Query().Get("continue")]
		fmt.Fprintf(w, `{"kind":"PartialObjectMetadataList","metadata":{"continue":%q},"items":[{"metadata":{"name":"n%d","labels":{"x":"y"}}}]}`, next, len(got))
	})
	items, err := pagedlist.List[item](t.Context(), rc, pagedlist.Request{GVR: corev1.SchemeGroupVersion.WithResource("secrets"), Namespace: "ns",
		Chunk: 1, FieldSelector: "type=t", LabelSelector: "a=b", Accept: pagedlist.MetadataAccept})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Metadata.Name != "n1" || items[1].Metadata.Name != "n2" {
		t.Errorf("items %+v", items)
	}
	want := []string{
		"/api/v1/namespaces/ns/secrets?fieldSelector=type%3Dt&labelSelector=a%3Db&limit=1 " + pagedlist.MetadataAccept,
		"/api/v1/namespaces/ns/secrets?continue=c2&fieldSelector=type%3Dt&labelSelector=a%3Db&limit=1 " + pagedlist.MetadataAccept,
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

// A list of another kind than asked for is refused in one line; the
// server's error Status reaches the caller as an API error.
func TestListRefusesAnotherKindAndKeepsTheServersStatus(t *testing.T) {
	rc := client(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"kind":"Table","items":[]}`) })
	_, err := pagedlist.List[item](t.Context(), rc, pagedlist.Request{GVR: corev1.SchemeGroupVersion.WithResource("secrets"), Kind: "SecretList"})
	if err == nil || err.Error() != `the server answered the list of secrets with kind "Table", not SecretList` {
		t.Errorf("got %v", err)
	}
	rc = client(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"secrets is forbidden: no","reason":"Forbidden","code":403}`)
	})
	_, err = pagedlist.List[item](t.Context(), rc, pagedlist.Request{GVR: corev1.SchemeGroupVersion.WithResource("secrets")})
	if !apierrors.IsForbidden(err) || err.Error() != "secrets is forbidden: no" {
		t.Errorf("got %v", err)
	}
}

// slowItem is an item whose decoding waits until the page after it has
// been asked for: List must request that page before it decodes this one.
type slowItem struct{ Name string }

var nextPageAsked = make(chan struct{})

func (s *slowItem) UnmarshalJSON(b []byte) error {
	<-nextPageAsked // without the overlap, this never returns and the test times out
	s.Name = string(b)
	return nil
}

// The next page is asked for while the one before it decodes, when the
// server writes the continue token before the items (kube-apiserver does).
func TestListAsksForTheNextPageWhileDecodingThisOne(t *testing.T) {
	rc := client(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("continue") == "c2" {
			close(nextPageAsked)
			fmt.Fprint(w, `{"kind":"L","metadata":{},"items":["b"]}`)
			return
		}
		fmt.Fprint(w, `{"kind":"L","apiVersion":"v1","metadata":{"continue":"c2","resourceVersion":"1"},"items":["a"]}`)
	})
	items, err := pagedlist.List[slowItem](t.Context(), rc, pagedlist.Request{GVR: corev1.SchemeGroupVersion.WithResource("secrets"), Chunk: 1})
	if err != nil || len(items) != 2 || items[0].Name != `"a"` || items[1].Name != `"b"` {
		t.Fatalf("items %+v, err %v", items, err)
	}
}

// A page whose items come before its metadata is decoded first and then
// followed: nothing is lost, only the overlap.
func TestListFollowsAPageWhoseItemsComeFirst(t *testing.T) {
	var mu sync.Mutex
	n := 0
	rc := client(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		if r.URL.Query().Get("continue") == "" {
			fmt.Fprint(w, `{"items":[{"metadata":{"name":"a"}}],"kind":"L","metadata":{"continue":"c2"}}`)
			return
		}
		fmt.Fprint(w, `{"items":[{"metadata":{"name":"b"}}],"kind":"L","metadata":{}}`)
	})
	items, err := pagedlist.List[item](t.Context(), rc, pagedlist.Request{GVR: corev1.SchemeGroupVersion.WithResource("secrets"), Chunk: 1})
	if err != nil || len(items) != 2 || items[1].Metadata.Name != "b" || n != 2 {
		t.Fatalf("items %+v, requests %d, err %v", items, n, err)
	}
}
