package bootstrap

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// TTLString is kubeadm's TTL column, but for a token that never
// expires it says the plugins' one word, never (kubeadm: <forever>).
func TestTTLStringIsKubeadmsButSaysNever(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	tok := func(exp *time.Time) *Token { return &Token{ID: "abcdef", Secret: "0123456789abcdef", Expires: exp} }
	for _, tc := range []struct {
		exp  *time.Time
		want string
	}{
		{nil, "never"},
		{at("2026-11-23T04:59:59Z"), "23h"}, // floored, as right after a 24h create
		{at("2026-11-24T04:00:00Z"), "1d"},  // days from 24h on
		{at("2026-11-22T05:00:30Z"), "30s"},
		{at("2026-11-22T04:59:59Z"), "0s"},        // just expired
		{at("2026-11-22T04:59:50Z"), "<invalid>"}, // more than a second past
		{at("2026-12-02T05:00:00Z"), "10d"},
	} {
		if got := TTLString(tok(tc.exp), now); got != tc.want {
			t.Errorf("expires %v: TTL %q, want %q", tc.exp, got, tc.want)
		}
	}
	if got := ExpiresString(tok(nil)); got != "never" {
		t.Errorf("ExpiresString(nil) = %q", got)
	}
}

func TestOutputTokenHasKubeadmsShapeAndRedacts(t *testing.T) {
	tok := &Token{ID: "abcdef", Secret: "0123456789abcdef", Description: "d", Expires: at("2026-11-23T05:04:05Z"),
		Usages: []string{"authentication", "signing"}, Groups: []string{"system:bootstrappers:kubeadm:default-node-token"}}
	f := printer.NewFlags(printer.NoTable)
	*f.PrintFlags.OutputFormat = "json"
	var buf bytes.Buffer
	if err := f.Print(NewOutputToken(tok, redactSecret), printer.WithoutNamespace, &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, tok.Secret) {
		t.Fatalf("redacted output leaks the secret:\n%s", out)
	}
	// kubeadm's field order and 4-space indentation.
	order := []string{`"kind": "BootstrapToken"`, `"apiVersion": "output.kubeadm.k8s.io/v1alpha3"`, `"token": "abcdef.****************"`, `"description": "d"`, `"expires": "2026-11-23T05:04:05Z"`, `"usages": [`, `"groups": [`}
	last := -1
	for _, s := range order {
		i := strings.Index(out, "\n    "+s)
		if i <= last {
			t.Fatalf("%s missing or out of order in\n%s", s, out)
		}
		last = i
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["ttl"]; ok {
		t.Errorf("ttl present: kubeadm's list leaves it out")
	}
	shown := NewOutputToken(tok, showSecret)
	if shown.Token != "abcdef.0123456789abcdef" {
		t.Errorf("--show-secrets token = %q", shown.Token)
	}
	empty := NewOutputToken(&Token{ID: "abcdef", Secret: "0123456789abcdef"}, showSecret)
	b, _ := json.Marshal(empty)
	if strings.Contains(string(b), "description") || strings.Contains(string(b), "expires") || strings.Contains(string(b), "usages") || strings.Contains(string(b), "groups") {
		t.Errorf("empty fields not omitted: %s", b)
	}
}

func TestListTableRowsAndInvalidSecrets(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	good := &Token{ID: "abcdef", Secret: "0123456789abcdef", Expires: at("2026-11-23T04:59:59Z"), Usages: []string{"authentication", "signing"}, Groups: []string{"system:bootstrappers:x"}}
	forever := &Token{ID: "zzzzzz", Secret: "0123456789abcdef", Usages: []string{"signing"}}
	bad := secretWith("bootstrap-token-qqqqqq", map[string]string{"token-id": "qqqqqq"})
	table := ListTable([]listEntry{
		newListEntry(ToSecret(good), now, true),
		newListEntry(ToSecret(forever), now, true),
		newListEntry(bad, now, true),
	}, redactSecret, now)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "TOKEN,TTL,EXPIRES,USAGES,DESCRIPTION,EXTRA GROUPS,STATUS,SECRET" {
		t.Errorf("columns %s", got)
	}
	cells := func(i int) string {
		var s []string
		for _, c := range table.Rows[i].Cells {
			s = append(s, c.(string))
		}
		return strings.Join(s, "|")
	}
	for i, want := range []string{
		"abcdef|23h|2026-11-23T04:59:59Z|authentication,signing|<none>|system:bootstrappers:x|valid|bootstrap-token-abcdef",
		`zzzzzz|never|never|signing|<none>|<none>|unusable for authentication: it lacks the "authentication" usage|bootstrap-token-zzzzzz`,
		"qqqqqq|<invalid>|<invalid>|<none>|<none>|<none>|invalid: Secret bootstrap-token-qqqqqq has no token-secret|bootstrap-token-qqqqqq",
	} {
		if got := cells(i); got != want {
			t.Errorf("row %d:\n got %s\nwant %s", i, got, want)
		}
	}
	shown := ListTable([]listEntry{newListEntry(ToSecret(good), now, false)}, showSecret, now)
	if shown.Rows[0].Cells[0] != "abcdef.0123456789abcdef" {
		t.Errorf("--show-secrets TOKEN = %v", shown.Rows[0].Cells[0])
	}
}
