package pagedlist_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
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
	var got []string
	rc := client(t, func(w http.ResponseWriter, r *http.Request) {
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
