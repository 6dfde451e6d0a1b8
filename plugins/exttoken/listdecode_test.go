package exttoken

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The narrow item reads a token exactly as tokenFrom reads the whole
// object: every field the tables and the selection use, null enabled as
// true, unreadable times as zero.
func TestTokenItemReadsWhatTokenFromReads(t *testing.T) {
	objs := append(someTokens(),
		extTok("token-times", "u-carol", day, 0, set("2026-11-20T10:00:00Z", "status", "lastActivitySeen"), set("not a time", "status", "lastUsedAt"),
			set("c-abc", "spec", "clusterName"), set(true, "status", "current"), set(nil, "spec", "enabled")))
	for _, o := range objs {
		u := o.(*unstructured.Unstructured)
		raw, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := rowItem(raw)
		if want := tokenFrom(u); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", u.GetName(), got, want)
		}
	}
}

// --show-expiry lists pages of JSON itself with --chunk-size (no Table,
// no unstructured maps; pkg/pagedlist follows the continue tokens); -o
// json still prints the whole objects, scrubbed, from the dynamic client.
func TestListShowExpiryDecodesItsOwnPages(t *testing.T) {
	f := newRancher(t, someTokens()...)
	res := run(t, f, "list", "--show-expiry", "--chunk-size", "2")
	if res.Exit != 0 || !slices.Equal(f.Tables(), []string{"GET " + tokensPath + "?limit=2"}) {
		t.Fatalf("requests %q: %s", f.Tables(), res)
	}
	for _, name := range []string{"token-live", "token-old", "token-bob"} {
		if !strings.Contains(res.Stdout, "\n"+name+" ") {
			t.Errorf("no row for %s:\n%s", name, res.Stdout)
		}
	}
	js := run(t, f, "list", "-o", "json")
	var list unstructured.UnstructuredList
	if err := list.UnmarshalJSON([]byte(js.Stdout)); err != nil || len(list.Items) != 3 {
		t.Fatalf("-o json: %v\n%s", err, js.Stdout)
	}
	leaks(t, js.Stdout)
	printed := map[string]any{}
	for _, it := range list.Items {
		printed[it.GetName()] = it.Object["spec"]
	}
	for _, o := range someTokens() {
		want := o.(*unstructured.Unstructured)
		if got := printed[want.GetName()]; !reflect.DeepEqual(got, want.Object["spec"]) {
			t.Errorf("-o json %s spec %v, want %v", want.GetName(), got, want.Object["spec"])
		}
	}
}
