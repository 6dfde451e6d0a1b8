package clitest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// ServeListsOverREST makes RESTConfig the address of a test server that
// answers list requests (GET /apis/<group>/<version>[/namespaces/<ns>]/<resource>
// and /api/v1/...) from the fake dynamic client, core/v1 kinds the typed
// fake holds (Options.Core) from it: for commands that request
// list pages themselves and decode them into their own types. Each list
// goes through the fake dynamic client, so it is recorded in Requests and
// its reactors (errors included) apply; an error is answered as the API
// server answers, with a Status, and GET /version as a Kubernetes server
// answers it. It replaces Options.REST.
func (f *Factory) ServeListsOverREST(t testing.TB) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(f.ServeList))
	t.Cleanup(srv.Close)
	f.opts.REST = &rest.Config{Host: srv.URL}
}

// ServeList answers one list request as ServeListsOverREST's server does,
// for a test server of its own that answers other requests too.
func (f *Factory) ServeList(w http.ResponseWriter, r *http.Request) {
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
	var body []byte
	var err error
	if kind, ok := coreKind(gvr); ok {
		body, err = f.listCore(gvr, kind, ns, opts)
	} else {
		var list *unstructured.UnstructuredList
		if list, err = f.Dyn.Resource(gvr).Namespace(ns).List(r.Context(), opts); err == nil {
			body, err = list.MarshalJSON()
		}
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// coreKind is the kind of a core/v1 resource the typed fake holds
// (Options.Core: Secrets, ConfigMaps, ...); those lists are answered from
// it, the rest from the dynamic fake.
func coreKind(gvr schema.GroupVersionResource) (string, bool) {
	if gvr.Group != "" || gvr.Version != "v1" {
		return "", false
	}
	for gvk := range scheme.Scheme.KnownTypes(corev1.SchemeGroupVersion) {
		if plural, _ := meta.UnsafeGuessKindToResource(corev1.SchemeGroupVersion.WithKind(gvk)); plural.Resource == gvr.Resource {
			return gvk, true
		}
	}
	return "", false
}

// listCore lists from the typed fake through its reactors (so the request
// is recorded and reactors' errors apply), as JSON with the list's kind.
func (f *Factory) listCore(gvr schema.GroupVersionResource, kind, ns string, opts metav1.ListOptions) ([]byte, error) {
	obj, err := f.Core.Invokes(k8stesting.NewListActionWithOptions(gvr, gvr.GroupVersion().WithKind(kind), ns, opts), nil)
	if err != nil {
		return nil, err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u["apiVersion"], u["kind"] = "v1", kind+"List"
	return json.Marshal(u)
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
