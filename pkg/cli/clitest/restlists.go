package clitest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
)

// ServeListsOverREST makes RESTConfig the address of a test server that
// answers list requests (GET /apis/<group>/<version>[/namespaces/<ns>]/<resource>
// and /api/v1/...) from the fake dynamic client: for commands that request
// list pages themselves and decode them into their own types. Each list
// goes through the fake dynamic client, so it is recorded in Requests and
// its reactors (errors included) apply; an error is answered as the API
// server answers, with a Status, and GET /version as a Kubernetes server
// answers it. It replaces Options.REST.
func (f *Factory) ServeListsOverREST(t testing.TB) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(f.serveList))
	t.Cleanup(srv.Close)
	f.opts.REST = &rest.Config{Host: srv.URL}
}

func (f *Factory) serveList(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/version" { // what cli.Run asks a server that serves no such API
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(version.Info{Major: "1", Minor: "36", GitVersion: "v1.36.3-clitest"})
		return
	}
	gvr, ns, ok := listPath(r.URL.Path)
	if r.Method != http.MethodGet || !ok {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method+" "+r.URL.Path))
		return
	}
	q := r.URL.Query()
	opts := metav1.ListOptions{LabelSelector: q.Get("labelSelector"), FieldSelector: q.Get("fieldSelector"), Continue: q.Get("continue")}
	if l := q.Get("limit"); l != "" {
		opts.Limit, _ = strconv.ParseInt(l, 10, 64)
	}
	list, err := f.Dyn.Resource(gvr).Namespace(ns).List(r.Context(), opts)
	if err != nil {
		writeStatus(w, err)
		return
	}
	body, err := list.MarshalJSON()
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// listPath splits a list URL path into its resource and namespace.
func listPath(p string) (gvr schema.GroupVersionResource, ns string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		gvr.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		gvr.Group, gvr.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return gvr, "", false
	}
	if len(parts) == 3 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	if len(parts) != 1 {
		return gvr, "", false
	}
	gvr.Resource = parts[0]
	return gvr, ns, true
}

// writeStatus answers err as the API server would: its Status, or a 500.
func writeStatus(w http.ResponseWriter, err error) {
	st := apierrors.NewInternalError(err).ErrStatus
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Code != 0 {
		st = s.Status()
	}
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}
