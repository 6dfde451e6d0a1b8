package rancherimport

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTokenValueNeverFormats(t *testing.T) {
	const value = "s3cr3tvalue"
	tok := &Token{ClusterID: "c-m-1", Source: "status.token", value: secret(value)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		if got := fmt.Sprintf(verb, tok); strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) {
			t.Errorf("%s of a Token shows its value: %s", verb, got)
		}
		if got := fmt.Sprintf(verb, *tok); strings.Contains(got, value) || strings.Contains(strings.ToLower(got), fmt.Sprintf("%x", value)) {
			t.Errorf("%s of a Token value shows its value: %s", verb, got)
		}
	}
	if tok.Reveal() != value {
		t.Errorf("Reveal: %q", tok.Reveal())
	}
}

func TestParseManifestRefusesWhatIsNotAManifest(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "the import manifest is empty: is the address Rancher's?",
		"<html>login</html>":                     "the import manifest is not valid YAML (document 1): is the address Rancher's?",
		"kind: [":                                "the import manifest is not valid YAML (document 1): is the address Rancher's?",
		"---\napiVersion: v1\nkind: Namespace\n": "the import manifest's document 1 is not a Kubernetes object (no apiVersion, kind or name): is the address Rancher's?",
	} {
		if _, err := ParseManifest([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("ParseManifest(%q): %v, want %s", in, err, want)
		}
	}
	m, err := ParseManifest([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cattle-system\n---\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: cattle-system\n"))
	if err != nil || len(m.Objects) != 2 {
		t.Errorf("two objects and an empty document: %v, %v", m, err)
	}
}

func TestExpiringWithinCountsTheGracePeriod(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    Imported
		d    time.Duration
		want bool
	}{
		{"no rotation", Imported{}, 365 * 24 * time.Hour, false},
		{"rotates after the window", Imported{TokenExpires: now.Add(48 * time.Hour)}, 24 * time.Hour, false},
		{"rotates within the window", Imported{TokenExpires: now.Add(12 * time.Hour)}, 24 * time.Hour, true},
		{"previous token in its grace period", Imported{TokenExpires: now.Add(30 * 24 * time.Hour), GraceUntil: now.Add(time.Hour)}, time.Hour, true},
		{"grace period over", Imported{TokenExpires: now.Add(30 * 24 * time.Hour), GraceUntil: now.Add(-time.Hour)}, time.Hour, false},
	}
	for _, c := range cases {
		if got := c.c.ExpiringWithin(c.d, now); got != c.want {
			t.Errorf("%s: %t, want %t", c.name, got, c.want)
		}
	}
}
