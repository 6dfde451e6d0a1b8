//go:build e2e

package bootstrap

import (
	"encoding/json"
	"strings"
	"testing"
)

// kubeadmExpires is the expiry the real kubeadm reports for token id (""
// for none).
func kubeadmExpires(t *testing.T, id string) string {
	t.Helper()
	theirs := byID(t, mustOK(t, kadm("token", "list", "-o", "json"), "kubeadm token list -o json").Stdout)
	if theirs[id] == nil {
		t.Fatalf("kubeadm does not list token %s", id)
	}
	var o bootstrapTokenJSON
	if err := json.Unmarshal(theirs[id], &o); err != nil {
		t.Fatal(err)
	}
	if o.Expires == nil {
		return ""
	}
	return *o.Expires
}

// extend changes only the expiration, and the real kubeadm reads the new
// one: a time, then never.
func TestExtendIsSeenByKubeadm(t *testing.T) {
	tok, id, _ := newToken(t)
	mustOK(t, kadm("token", "create", tok, "--ttl", "1h", "--description", "joining slowly"), "kubeadm token create")
	before, _ := getSecret(t, id)

	const when = "2030-01-02T03:04:05Z"
	r := mustOK(t, bs("extend", id, "--expires", when), "extend --expires")
	if !strings.HasPrefix(r.Stdout, `bootstrap token "`+id+`" extended: expires `+when+" (") || !strings.HasSuffix(r.Stdout, " from now)\n") {
		t.Errorf("extend: %q", r.Stdout)
	}
	if got := kubeadmExpires(t, id); got != when {
		t.Errorf("kubeadm sees expires %q, want %q", got, when)
	}
	after, _ := getSecret(t, id)
	for k, v := range before.Data {
		if k != "expiration" && string(after.Data[k]) != string(v) {
			t.Errorf("extend changed %s: %q -> %q", k, v, after.Data[k])
		}
	}

	mustOK(t, bs("extend", tok, "--ttl", "never"), "extend --ttl never")
	if got := kubeadmExpires(t, id); got != "" {
		t.Errorf("kubeadm sees expires %q after --ttl never, want none", got)
	}
	if row := rowFor(textRows(mustOK(t, kadm("token", "list"), "kubeadm token list").Stdout), tok); len(row) < 3 || row[1] != "<forever>" || row[2] != "<never>" {
		t.Errorf("kubeadm token list row %q", row)
	}

	// A time in the past is refused and changes nothing.
	bad := bs("extend", id, "--expires", "2020-01-01T00:00:00Z")
	if bad.Code != 1 || !strings.Contains(bad.Stderr, "is not in the future") {
		t.Errorf("past expiry: %s", bad)
	}
	if got := kubeadmExpires(t, id); got != "" {
		t.Errorf("a refused extend changed the expiry to %q", got)
	}
}
