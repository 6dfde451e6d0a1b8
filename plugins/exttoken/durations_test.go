package exttoken

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestHumanDurations(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cases := map[string][2]string{
		"past":   {humanAgo(now.Add(-3*time.Hour), now), "3h ago"},
		"never":  {humanAgo(time.Time{}, now), "unused"},
		"future": {humanExpires(now.Add(29*24*time.Hour), true, now), "in 29d"},
		"gone":   {humanExpires(now.Add(-90*time.Second), true, now), "90s ago"},
		"no exp": {humanExpires(time.Time{}, false, now), "never"},
		"ttl":    {humanTTL(12 * msPerHour), "12h"},
		"ttl -1": {humanTTL(-1), "never"},
		"age":    {humanAge(now.Add(-16*time.Hour), now), "16h"},
	}
	for name, c := range cases {
		if c[0] != c[1] {
			t.Errorf("%s: %q, want %q", name, c[0], c[1])
		}
	}
}

func TestTokenFromAndScrub(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "token-abcde", "creationTimestamp": "2026-11-22T10:00:00Z", "uid": "1"},
		"spec":     map[string]any{"userID": "u-1", "kind": "kubeconfig", "ttl": int64(3600000), "description": "d"},
		"status":   map[string]any{"value": "secret", "bearerToken": "ext/token-abcde:secret", "lastUsedAt": "2026-11-22T10:30:00Z", "current": true},
	}}
	tok := tokenFrom(u)
	if tok.UserID != "u-1" || tok.Kind != "kubeconfig" || !tok.Enabled || !tok.Current || tok.LastUsed.IsZero() {
		t.Errorf("tokenFrom: %+v", tok)
	}
	if !tok.expired(time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)) || tok.expired(time.Date(2026, 11, 22, 10, 59, 0, 0, time.UTC)) {
		t.Error("expiry at creation + 1h")
	}
	scrub(u)
	if _, found, _ := unstructured.NestedString(u.Object, "status", "value"); found {
		t.Error("scrub left status.value")
	}
	if _, found, _ := unstructured.NestedString(u.Object, "status", "bearerToken"); found {
		t.Error("scrub left status.bearerToken")
	}
	// enabled: false is honoured; absent means true.
	_ = unstructured.SetNestedField(u.Object, false, "spec", "enabled")
	if tokenFrom(u).Enabled {
		t.Error("enabled: false read as true")
	}
}
