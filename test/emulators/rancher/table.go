package rancher

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// tableContentType is what kube-apiserver answers to a Table request.
const tableContentType = "application/json;as=Table;v=v1;g=meta.k8s.io"

// wantsTable reports whether the Accept header asks for a meta.k8s.io/v1
// Table, as kubectl get does.
func wantsTable(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "application/json" && mt != "*/*") {
			continue
		}
		if params["as"] == "Table" && params["g"] == "meta.k8s.io" && params["v"] == "v1" {
			return true
		}
		if params["as"] == "" {
			// A plain JSON choice ranked before any Table choice wins.
			return false
		}
	}
	return false
}

// tableColumns are Rancher's printHandler columns (§5): User and
// Description are priority 1, shown only by -o wide.
var tableColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "User", Type: "string", Priority: 1, Description: "User is the owner of the token"},
	{Name: "Kind", Type: "string", Description: "Kind/purpose of the token"},
	{Name: "TTL", Type: "string", Description: "The time-to-live for the token"},
	{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
	{Name: "Description", Type: "string", Priority: 1, Description: "Human readable description of the token"},
}

// tokenTable renders tokens as a Table; includeObject is the request's
// includeObject parameter (None, Object, or the default
// PartialObjectMetadata).
func tokenTable(tokens []Token, lm metav1.ListMeta, includeObject string, now time.Time, withColumns bool) (*metav1.Table, error) {
	t := &metav1.Table{ListMeta: lm}
	t.APIVersion, t.Kind = "meta.k8s.io/v1", "Table"
	if withColumns {
		t.ColumnDefinitions = tableColumns
	}
	t.Rows = []metav1.TableRow{}
	for i := range tokens {
		tok := &tokens[i]
		age := "<unknown>"
		if !tok.CreationTimestamp.IsZero() {
			age = duration.HumanDuration(now.Sub(tok.CreationTimestamp.Time))
		}
		row := metav1.TableRow{Cells: []any{
			tok.Name,
			tok.Spec.UserID,
			tok.Spec.Kind,
			duration.HumanDuration(time.Duration(tok.Spec.TTL) * time.Millisecond),
			age,
			tok.Spec.Description,
		}}
		var obj any
		switch includeObject {
		case "None":
		case "Object":
			obj = tok
		default:
			pom := metav1.PartialObjectMetadata{ObjectMeta: tok.ObjectMeta}
			pom.APIVersion, pom.Kind = "meta.k8s.io/v1", "PartialObjectMetadata"
			obj = &pom
		}
		if obj != nil {
			raw, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Raw: raw}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
