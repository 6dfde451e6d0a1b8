package rancher

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIngestTTL(t *testing.T) {
	const day = 24 * 60 * minute
	ninety := ttlSettings{maxMinutes: 129600}
	unlimited := ttlSettings{maxMinutes: 0}
	withDefault := ttlSettings{maxMinutes: 129600, defaultMinutes: 43200, hasDefault: true}
	defaultZero := ttlSettings{maxMinutes: 129600, defaultMinutes: 0, hasDefault: true}
	unlimitedDefaultZero := ttlSettings{maxMinutes: 0, defaultMinutes: 0, hasDefault: true}
	cases := []struct {
		v    Version
		s    ttlSettings
		in   int64
		want int64
	}{
		// 2.12–2.15: max ≤ 0 ⇒ 0 → −1, else unchanged.
		{V2_15, unlimited, 0, -1},
		{V2_15, unlimited, -1, -1},
		{V2_15, unlimited, 5 * day, 5 * day},
		// max > 0 ⇒ ≤0 or > max → max.
		{V2_12, ninety, 0, 90 * day},
		{V2_12, ninety, -1, 90 * day},
		{V2_12, ninety, 91 * day, 90 * day},
		{V2_12, ninety, 30 * day, 30 * day},
		// main: default applies to 0, then clamp.
		{Main, withDefault, 0, 30 * day},
		{Main, withDefault, -1, 90 * day},
		{Main, withDefault, 100 * day, 90 * day},
		{Main, withDefault, 1, 1},
		{Main, defaultZero, 0, 90 * day},
		{Main, unlimitedDefaultZero, 0, -1},
		{Main, unlimitedDefaultZero, -1, -1},
		{Main, unlimitedDefaultZero, 400 * day, 400 * day},
	}
	for _, c := range cases {
		if got := ingestTTL(c.v, c.s, c.in); got != c.want {
			t.Errorf("ingestTTL(%s, %+v, %d) = %d, want %d", c.v, c.s, c.in, got, c.want)
		}
	}
}

func TestTTLGreater(t *testing.T) {
	cases := []struct {
		a, b int64
		want bool
	}{{-1, -1, false}, {-1, 5, true}, {5, -1, false}, {6, 5, true}, {5, 5, false}, {4, 5, false}}
	for _, c := range cases {
		if got := ttlGreater(c.a, c.b); got != c.want {
			t.Errorf("ttlGreater(%d, %d) = %v", c.a, c.b, got)
		}
	}
}

func TestMergeListOptions(t *testing.T) {
	cases := []struct {
		name    string
		v       Version
		full    bool
		in      metav1.ListOptions
		want    string
		wantErr bool
	}{
		{"admin unchanged", Main, true, metav1.ListOptions{LabelSelector: "a=b"}, "a=b", false},
		{"old empty", V2_15, false, metav1.ListOptions{}, "cattle.io/user-id=alice", false},
		{"old merge", V2_15, false, metav1.ListOptions{LabelSelector: "x=y", Limit: 500}, "cattle.io/user-id=alice,x=y", false},
		{"old other user passes through (bug)", V2_15, false, metav1.ListOptions{LabelSelector: "cattle.io/user-id=bob"}, "cattle.io/user-id=bob", false},
		{"old set-based fails", V2_13, false, metav1.ListOptions{LabelSelector: "x in (a,b)"}, "", true},
		{"main ANDs owner", Main, false, metav1.ListOptions{LabelSelector: "cattle.io/user-id=bob"}, "cattle.io/user-id=bob,cattle.io/user-id=alice", false},
		{"main set-based", Main, false, metav1.ListOptions{LabelSelector: "x in (a,b)"}, "cattle.io/user-id=alice,x in (a,b)", false},
		{"main empty", Main, false, metav1.ListOptions{}, "cattle.io/user-id=alice", false},
	}
	for _, c := range cases {
		got, err := mergeListOptions(c.v, c.full, "alice", c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v", c.name, err)
			continue
		}
		if err == nil && got.LabelSelector != c.want {
			t.Errorf("%s: selector %q, want %q", c.name, got.LabelSelector, c.want)
		}
	}
}

func TestSecretRoundTrip(t *testing.T) {
	enabled := false
	created := metav1.NewTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	tok := &Token{
		ObjectMeta: metav1.ObjectMeta{Name: "token-abcde", UID: "u-1", Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"n": "1"}},
		Spec: TokenSpec{UserID: "u-alice", Kind: "kubeconfig", Description: "d", TTL: 3600000, Enabled: &enabled, ClusterName: "local",
			UserPrincipal: TokenPrincipal{Name: "local://u-alice", Provider: "local"}},
		Status: TokenStatus{Hash: "$3:1:x:y", LastUpdateTime: "2026-11-01T10:00:00Z"},
	}
	s, err := toSecret(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cluster", "description", "enabled", "hash", "kind", "last-activity-seen", "last-update-time", "last-used-at", "principal", "ttl", "kube-uid", "user-id"} {
		if _, ok := s.Data[k]; !ok {
			t.Errorf("secret lacks data key %q", k)
		}
	}
	if s.Namespace != TokenNamespace || s.Labels[LabelSecretKind] != "token" || s.Labels[LabelUserID] != "u-alice" || s.Labels[LabelKind] != "kubeconfig" {
		t.Errorf("secret metadata: %+v", s.ObjectMeta)
	}
	s.CreationTimestamp = created
	back, err := fromSecret(s, created.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if back.Namespace != "" || back.Labels[LabelSecretKind] != "" || back.Labels["team"] != "a" || back.UID != "u-1" {
		t.Errorf("token metadata: %+v", back.ObjectMeta)
	}
	if !back.Status.Expired || back.Status.ExpiresAt != "2026-11-01T11:00:00Z" || *back.Spec.Enabled {
		t.Errorf("token status/spec: %+v %+v", back.Spec, back.Status)
	}
	if _, err := fromSecret(&corev1.Secret{}, time.Now()); !errors.Is(err, errNotAToken) {
		t.Errorf("foreign secret: %v", err)
	}
}

func TestHashFormat(t *testing.T) {
	h, err := hashValue("v")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, ":")
	if len(parts) != 4 || parts[0] != "$3" || parts[1] != "1" || len(parts[3]) != 86 {
		t.Errorf("hash %q is not $3:1:<salt>:<sha3-512>", h)
	}
	v, err := newValue()
	if err != nil || len(v) != valueLength || strings.Trim(v, valueAlphabet) != "" {
		t.Errorf("value %q", v)
	}
}

func TestTableCells(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	toks := []Token{
		{ObjectMeta: metav1.ObjectMeta{Name: "token-a", CreationTimestamp: metav1.NewTime(now.Add(-16 * time.Hour))}, Spec: TokenSpec{UserID: "u", Kind: "", TTL: 90 * 24 * 3600 * 1000, Description: "x"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "token-b"}, Spec: TokenSpec{UserID: "u", Kind: "session", TTL: -1}},
	}
	tb, err := tokenTable(toks, metav1.ListMeta{}, "", now, true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range tb.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Name,User,Kind,TTL,Age,Description" || tb.ColumnDefinitions[1].Priority != 1 || tb.ColumnDefinitions[5].Priority != 1 {
		t.Errorf("columns %v", tb.ColumnDefinitions)
	}
	if tb.Rows[0].Cells[3] != "90d" || tb.Rows[0].Cells[4] != "16h" || tb.Rows[1].Cells[3] != "0s" || tb.Rows[1].Cells[4] != "<unknown>" {
		t.Errorf("cells %v %v", tb.Rows[0].Cells, tb.Rows[1].Cells)
	}
	if !strings.Contains(string(tb.Rows[0].Object.Raw), `"kind":"PartialObjectMetadata"`) {
		t.Errorf("row object %s", tb.Rows[0].Object.Raw)
	}
}

func TestWantsTable(t *testing.T) {
	cases := map[string]bool{
		"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json": true,
		"application/json": false,
		"":                 false,
		"application/json, application/json;as=Table;v=v1;g=meta.k8s.io": false,
	}
	for accept, want := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantsTable(r); got != want {
			t.Errorf("wantsTable(%q) = %v", accept, got)
		}
	}
}
