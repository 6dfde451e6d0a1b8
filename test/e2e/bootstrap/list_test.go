//go:build e2e

package bootstrap

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Expired tokens are listed, malformed bootstrap Secrets are listed as
// invalid with the reason, secrets stay hidden, and nothing crashes; the
// same cluster still lists with kubeadm.
func TestListExpiredAndMalformed(t *testing.T) {
	validTok, validID, validSecret := newToken(t)
	mustOK(t, bs("create", validTok, "--description", "valid one"), "create")
	_, expID, expSecret := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+expID, map[string]string{
		"token-id": expID, "token-secret": expSecret,
		"expiration":                     time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339),
		"usage-bootstrap-authentication": "true",
	})
	_, noSecretID, _ := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+noSecretID, map[string]string{"token-id": noSecretID})
	_, mismatchID, mismatchSecret := newToken(t)
	writeRawSecret(t, "bootstrap-token-zz"+mismatchID[2:], map[string]string{"token-id": mismatchID, "token-secret": mismatchSecret})
	_, badExpID, badExpSecret := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+badExpID, map[string]string{"token-id": badExpID, "token-secret": badExpSecret, "expiration": "next tuesday"})
	_, badSecretID, _ := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+badSecretID, map[string]string{"token-id": badSecretID, "token-secret": "NOT-A-SECRET!!!!"})
	// A Secret named like a token but of another type is not a token.
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-opaque", Namespace: "kube-system"}, StringData: map[string]string{"token-id": "opaque"}}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(context.Background(), opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), "bootstrap-token-opaque", metav1.DeleteOptions{})
	})

	r := mustOK(t, bs("list"), "list")
	rows := textRows(r.Stdout)
	check := func(key string, want map[int]string) {
		t.Helper()
		row := rowFor(rows, key)
		if row == nil {
			t.Errorf("no row for %s in\n%s", key, r.Stdout)
			return
		}
		for i, w := range want {
			if i >= len(row) || !strings.Contains(row[i], w) {
				t.Errorf("row %s cell %d = %q, want %q (row %q)", key, i, cellAt(row, i), w, row)
			}
		}
	}
	check(validID, map[int]string{1: "23h", 4: "valid one", 5: "system:bootstrappers:kubeadm:default-node-token"})
	check(expID, map[int]string{1: "<invalid>", 3: "authentication", 5: "<none>"})
	// A malformed Secret's reason is its STATUS (-o wide), not a
	// DESCRIPTION it does not have.
	check(noSecretID, map[int]string{1: "<invalid>", 4: "<none>"})
	r = mustOK(t, bs("list", "-o", "wide"), "list -o wide")
	rows = textRows(r.Stdout)
	check(noSecretID, map[int]string{1: "<invalid>", 4: "<none>", 6: "invalid: Secret bootstrap-token-" + noSecretID + " has no token-secret"})
	check("zz"+mismatchID[2:], map[int]string{6: "is not named bootstrap-token-" + mismatchID})
	check(badExpID, map[int]string{6: `expiration "next tuesday" that is not RFC3339`})
	check(badSecretID, map[int]string{6: "malformed token-secret"})
	if strings.Contains(r.Stdout, "opaque") {
		t.Errorf("a non-token Secret was listed:\n%s", r.Stdout)
	}
	all := r.Stdout + r.Stderr
	for _, s := range []string{validSecret, expSecret, mismatchSecret, badExpSecret} {
		if strings.Contains(all, s) {
			t.Errorf("list printed a token secret without --show-secrets:\n%s", all)
		}
	}

	wide := mustOK(t, bs("list", "-o", "wide"), "list -o wide")
	wrows := textRows(wide.Stdout)
	if row := rowFor(wrows, expID); row == nil || cellAt(row, 6) != "expired" || cellAt(row, 7) != "bootstrap-token-"+expID {
		t.Errorf("wide expired row %q", row)
	}
	if row := rowFor(wrows, validID); cellAt(row, 6) != "valid" {
		t.Errorf("wide valid row %q", row)
	}

	shown := mustOK(t, bs("list", "--show-secrets"), "list --show-secrets")
	if !strings.Contains(shown.Stdout, validTok) {
		t.Errorf("--show-secrets does not show the token:\n%s", shown.Stdout)
	}

	j := mustOK(t, bs("list", "-o", "json"), "list -o json")
	ids := byID(t, j.Stdout)
	if ids[validID] == nil || ids[expID] == nil || ids[noSecretID] != nil {
		t.Errorf("json objects: %v", j.Stdout)
	}
	if !strings.Contains(j.Stderr, "warning: skipped invalid bootstrap token Secret kube-system/bootstrap-token-"+noSecretID) {
		t.Errorf("json: invalid Secret not reported on stderr: %q", j.Stderr)
	}

	// kubeadm on the same cluster: still works, and agrees on the expired row.
	k := mustOK(t, kadm("token", "list"), "kubeadm token list")
	if !strings.Contains(k.Stdout, expID) || !regexp.MustCompile(expID+`\.\S+\s+<invalid>`).MatchString(k.Stdout) {
		t.Errorf("kubeadm token list:\n%s", k.Stdout)
	}
}

func cellAt(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// The list asks the server for the token type only, in chunks.
func TestListIsChunkedAndSelectsByType(t *testing.T) {
	for range 3 {
		tok, _, _ := newToken(t)
		mustOK(t, bs("create", tok), "create")
	}
	r := mustOK(t, bs("list", "--chunk-size", "2", "-v=6"), "list --chunk-size 2 -v=6")
	var gets []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.Contains(l, `verb="GET"`) && strings.Contains(l, "/api/v1/namespaces/kube-system/secrets?") {
			gets = append(gets, l)
		}
	}
	if len(gets) < 2 {
		t.Fatalf("want at least 2 chunked requests, got %d:\n%s", len(gets), r.Stderr)
	}
	for i, g := range gets {
		if !strings.Contains(g, "fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken") || !strings.Contains(g, "limit=2") {
			t.Errorf("request %d lacks the type selector or the limit: %s", i, g)
		}
		if (i > 0) != strings.Contains(g, "continue=") {
			t.Errorf("request %d continue token wrong: %s", i, g)
		}
	}
	if got, want := len(textRows(r.Stdout))-1, len(tokenSecretNames(t)); got != want {
		t.Errorf("listed %d rows, the API has %d token Secrets", got, want)
	}
}

// delete --expired removes exactly the expired tokens (an unparsable
// expiration counts as expired, as for the authenticator); --dry-run
// removes nothing.
func TestDeleteExpired(t *testing.T) {
	validTok, validID, _ := newToken(t)
	mustOK(t, bs("create", validTok), "create")
	_, expID, expSecret := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+expID, map[string]string{"token-id": expID, "token-secret": expSecret, "expiration": "2020-01-01T00:00:00Z"})
	_, garbleID, garbleSecret := newToken(t)
	writeRawSecret(t, "bootstrap-token-"+garbleID, map[string]string{"token-id": garbleID, "token-secret": garbleSecret, "expiration": "soon"})

	dry := mustOK(t, bs("delete", "--expired", "--dry-run"), "delete --expired --dry-run")
	for _, id := range []string{expID, garbleID} {
		if !strings.Contains(dry.Stdout, `bootstrap token "`+id+`" deleted (dry run)`) {
			t.Errorf("dry run does not name %s:\n%s", id, dry.Stdout)
		}
		if _, found := getSecret(t, id); !found {
			t.Errorf("dry run deleted %s", id)
		}
	}
	if strings.Contains(dry.Stdout, validID) {
		t.Errorf("dry run would delete a valid token:\n%s", dry.Stdout)
	}
	mustOK(t, bs("delete", "--expired"), "delete --expired")
	for _, id := range []string{expID, garbleID} {
		if _, found := getSecret(t, id); found {
			t.Errorf("%s not deleted", id)
		}
	}
	if _, found := getSecret(t, validID); !found {
		t.Errorf("the valid token was deleted")
	}
}

// --dry-run=client sends nothing; --dry-run=server stores nothing.
func TestCreateDryRun(t *testing.T) {
	for _, mode := range []string{"client", "server"} {
		tok, id, _ := newToken(t)
		r := mustOK(t, bs("create", tok, "--dry-run="+mode, "-o", "yaml"), "create --dry-run="+mode)
		suffix := map[string]string{"client": " (dry run)", "server": " (server dry run)"}[mode]
		if !strings.Contains(r.Stdout, "token: "+tok) || !strings.Contains(r.Stderr, `bootstrap token "`+id+`" created`+suffix+": ") {
			t.Errorf("%s: %s", mode, r)
		}
		if _, found := getSecret(t, id); found {
			t.Errorf("--dry-run=%s created the Secret", mode)
		}
	}
	// A client dry run sends no request at all, even for a join command.
	tok0, id0, _ := newToken(t)
	r := mustOK(t, bs("create", tok0, "--dry-run=client", "--print-join-command", "-v=6"), "client dry run -v=6")
	if strings.Contains(r.Stderr, "verb=") || !strings.Contains(r.Stdout, "--token "+tok0) {
		t.Errorf("client dry run sent requests or printed no join command: %s", r)
	}
	if _, found := getSecret(t, id0); found {
		t.Errorf("client dry run created the Secret")
	}
	// A server dry run still meets the server's checks: an existing ID.
	tok, _, _ := newToken(t)
	mustOK(t, bs("create", tok), "create")
	if r := bs("create", tok, "--dry-run=server"); r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("server dry run of an existing token: %s", r)
	}
}

// --expiring-within shows what expires within D (through the real
// kubectl, which passes the plugin's exit code on), and --fail-if-any
// exits 3 then, 0 when nothing is shown.
func TestListExpiringWithinFailsIfAny(t *testing.T) {
	soon, soonID, _ := newToken(t)
	never, neverID, _ := newToken(t)
	mustOK(t, bs("create", soon, "--ttl", "1h"), "create --ttl 1h")
	mustOK(t, bs("create", never, "--ttl", "never"), "create --ttl never")
	r := bs("list", "--expiring-within", "2h", "--fail-if-any", "-o", "name")
	if r.Code != 3 || !strings.Contains(r.Stdout, "bootstrap-token/"+soonID+"\n") || strings.Contains(r.Stdout, neverID) ||
		!strings.Contains(r.Stderr, "; exit 3 (--fail-if-any)") {
		t.Errorf("--expiring-within 2h --fail-if-any: %s", r)
	}
	// Nothing else in this cluster expires within a minute of now, unless
	// it already has: what is shown is only expired tokens.
	quiet := bs("list", "--expiring-within", "1m", "-o", "name")
	if quiet.Code != 0 || strings.Contains(quiet.Stdout, soonID) {
		t.Errorf("--expiring-within 1m: %s", quiet)
	}
}
