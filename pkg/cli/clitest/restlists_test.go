package clitest_test

import (
	"encoding/json"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

func widget(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": name, "namespace": ns}}}
}

// A list requested over REST comes from the fake dynamic client: its
// objects, recorded as a request like any other.
func TestServeListsOverRESTAnswersFromTheFakes(t *testing.T) {
	f := clitest.NewFactory(clitest.Options{Dynamic: []runtime.Object{widget("a", "w1"), widget("b", "w2")}, ListKinds: map[schema.GroupVersionResource]string{widgets: "WidgetList"}})
	f.ServeListsOverREST(t)
	rc := restClient(t, f)
	body, err := rc.Get().AbsPath("/apis/example.com/v1/namespaces/a/widgets").Do(t.Context()).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string
		Items []struct{ Metadata struct{ Name string } }
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "WidgetList" || len(list.Items) != 1 || list.Items[0].Metadata.Name != "w1" {
		t.Errorf("got %s", body)
	}
	if got, want := f.Requests(), []string{"list widgets.example.com a"}; !slices.Equal(got, want) {
		t.Errorf("requests: want %q, got %q", want, got)
	}
}

// A reactor's error reaches the REST client as the server's Status.
func TestServeListsOverRESTAnswersErrorsWithAStatus(t *testing.T) {
	f := clitest.NewFactory(clitest.Options{ListKinds: map[schema.GroupVersionResource]string{widgets: "WidgetList"}})
	f.ServeListsOverREST(t)
	f.Dyn.PrependReactor("list", "widgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(widgets.GroupResource(), "", nil)
	})
	err := restClient(t, f).Get().AbsPath("/apis/example.com/v1/widgets").Do(t.Context()).Error()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("want Forbidden, got %v", err)
	}
}

func restClient(t *testing.T, f *clitest.Factory) rest.Interface {
	t.Helper()
	cfg, err := f.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rest.UnversionedRESTClientFor(dynamic.ConfigFor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
