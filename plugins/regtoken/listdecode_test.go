package regtoken

import (
	"encoding/json"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// The table follows the server's continue tokens page by page, with the
// --chunk-size limit, and shows the rows of every page.
func TestListTableFollowsEveryPage(t *testing.T) {
	f := world{}.factory(t)
	pages := map[string][]*unstructured.Unstructured{
		"":   {tokenObj("day", "24h", "")},
		"p2": {tokenObj("forever", "", "forever")},
		"p3": {tokenObj("old", "1h", "old")},
	}
	next := map[string]string{"": "p2", "p2": "p3"}
	var limits []int64
	f.Dyn.PrependReactor("list", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		limits = append(limits, opts.Limit)
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationTokenList"}}
		list.SetContinue(next[opts.Continue])
		for _, u := range pages[opts.Continue] {
			list.Items = append(list.Items, *u)
		}
		return true, list, nil
	})
	res := run(t, f, "list", "--chunk-size", "1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	for _, name := range []string{"day", "forever", "old"} {
		if !strings.Contains(res.Stdout, "\n"+name+" ") {
			t.Errorf("no row for %s in\n%s", name, res.Stdout)
		}
	}
	if want := 4; strings.Count(res.Stdout, "\n") != want {
		t.Errorf("want a header and 3 rows, got\n%s", res.Stdout)
	}
	if len(limits) != 3 || limits[0] != 1 || limits[2] != 1 {
		t.Errorf("want 3 requests with limit 1, got limits %v", limits)
	}
}

// A cluster without Fleet gets the one line every regtoken command gives,
// from the Status the server answers the table's own list request with.
func TestListTableWithoutFleetSaysSo(t *testing.T) {
	f := world{}.factory(t)
	f.Dyn.PrependReactor("list", "clusterregistrationtokens", func(k8stesting.Action) (bool, runtime.Object, error) {
		err := apierrors.NewNotFound(fleet.TokenResource, "")
		err.ErrStatus.Message = "the server could not find the requested resource"
		return true, nil, err
	})
	res := run(t, f, "list")
	want := "error: Fleet is not installed in this cluster: no clusterregistrationtokens.fleet.cattle.io API\n"
	if res.Exit != 1 || res.Stdout != "" || res.Stderr != want {
		t.Fatalf("want %q, got %s", want, res)
	}
}

// -o json prints the whole objects, fields the table never reads
// included: only the table decodes the narrow item.
func TestListJSONKeepsWholeObjects(t *testing.T) {
	tok := tokenObj("day", "24h", "day")
	tok.SetLabels(map[string]string{"team": "blue"})
	tok.SetAnnotations(map[string]string{"note": "kept"})
	f := world{tokens: tokensOf(tok)}.factory(t)
	res := run(t, f, "list", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var got unstructured.UnstructuredList
	if err := got.UnmarshalJSON([]byte(res.Stdout)); err != nil {
		t.Fatalf("-o json is not a list: %v\n%s", err, res.Stdout)
	}
	if len(got.Items) != 1 {
		t.Fatalf("want 1 item, got %d", len(got.Items))
	}
	want, _ := json.Marshal(tok.Object)
	have, _ := json.Marshal(got.Items[0].Object)
	if string(want) != string(have) {
		t.Errorf("-o json changed the object:\nwant %s\ngot  %s", want, have)
	}
}

// The narrow item reads exactly what the table shows.
func TestTokenItemDecodesTheTableFields(t *testing.T) {
	raw := `{"metadata":{"name":"a","namespace":"ns","creationTimestamp":"2026-11-28T09:00:00Z","managedFields":[{"manager":"x"}]},"spec":{"ttl":"24h"},"status":{"secretName":"a","expires":"2026-11-29T09:00:00Z"}}`
	var item tokenItem
	if err := json.Unmarshal([]byte(raw), &item); err != nil {
		t.Fatal(err)
	}
	tok := item.token()
	if tok.Name != "a" || tok.Namespace != "ns" || !tok.CreationTimestamp.Equal(&metav1.Time{Time: testCreated}) ||
		tok.Spec.TTL == nil || *tok.Spec.TTL != "24h" || tok.Status.SecretName != "a" {
		t.Errorf("token: %+v", tok)
	}
}
