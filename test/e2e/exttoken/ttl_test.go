//go:build e2e

package exttoken

import (
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// TestSetTTLOnlyShrinks: a reduction is explained and applied; an
// extension is refused with one line before anything is sent, for admins
// too (Rancher refuses every API caller).
func TestSetTTLOnlyShrinks(t *testing.T) {
	e := emulator(t)
	for _, admin := range []bool{false, true} {
		u := newUser(t, "ttl", rancher.UserOptions{Admin: admin})
		name, _ := create(t, u, "--ttl", "2h")
		res := mustRun(t, u.Kubeconfig, "exttoken", "set-ttl", name, "30m")
		if !strings.Contains(res.Stderr, "only shrink") || !strings.Contains(res.Stdout, "TTL set to 30m") {
			t.Errorf("reduction: %s", res)
		}
		if got := mustRun(t, u.Kubeconfig, "exttoken", "get", name, "-o", "jsonpath={.spec.ttl}").Stdout; got != "1800000" {
			t.Errorf("ttl after set-ttl 30m: %s", got)
		}
		e.ResetRequests()
		for _, ttl := range []string{"31m", "2h", "never"} {
			res = kubectl(u.Kubeconfig, "exttoken", "set-ttl", name, ttl)
			wantOneErrorLine(t, res, "cannot extend token", "only lets a TTL shrink", "create a new token")
		}
		for _, r := range e.Requests() {
			if r.Verb == "patch" || r.Verb == "update" {
				t.Errorf("an extension was sent to the server: %+v", r)
			}
		}
		// kubectl patch goes to the server, which refuses with its message.
		res = kubectl(u.Kubeconfig, "patch", "tokens.ext.cattle.io", name, "--type", "merge", "-p", `{"spec":{"ttl":7200000}}`)
		if res.Code == 0 || !strings.Contains(res.Stderr, "forbidden to extend time-to-live") {
			t.Errorf("the server accepted an extension: %s", res)
		}
		res = mustRun(t, u.Kubeconfig, "exttoken", "set-ttl", name, "30m")
		if !strings.Contains(res.Stdout, "nothing to change") {
			t.Errorf("same TTL: %s", res)
		}
	}
}

// TestPruneExpired: delete --expired removes exactly the expired tokens;
// with --dry-run it removes nothing and says what it would.
func TestPruneExpired(t *testing.T) {
	e := emulator(t)
	for _, admin := range []bool{false, true} {
		u := newUser(t, "prune", rancher.UserOptions{Admin: admin})
		other := newUser(t, "bystander", rancher.UserOptions{})
		gone1, _ := create(t, u, "--ttl", "1ms")
		gone2, _ := create(t, u, "--ttl", "1ms")
		otherGone, _ := create(t, other, "--ttl", "1ms")
		alive, _ := create(t, u, "--ttl", "1h")
		e.ResetRequests()
		res := mustRun(t, u.Kubeconfig, "exttoken", "delete", "--expired", "--dry-run", "-o", "name")
		for _, n := range []string{gone1, gone2} {
			if !strings.Contains(res.Stdout, "token.ext.cattle.io/"+n+"\n") {
				t.Errorf("dry run does not list %s: %s", n, res)
			}
		}
		if strings.Contains(res.Stdout, alive) {
			t.Errorf("dry run lists a live token: %s", res)
		}
		if strings.Contains(res.Stdout, otherGone) != admin {
			t.Errorf("dry run (admin=%v) and another user's expired token: %s", admin, res)
		}
		for _, r := range e.Requests() {
			if r.Method == "DELETE" {
				t.Errorf("a dry run sent %s %s", r.Method, r.Path)
			}
		}
		names := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
		if !strings.Contains(names, gone1) || !strings.Contains(names, gone2) {
			t.Errorf("dry run deleted something:\n%s", names)
		}
		res = mustRun(t, u.Kubeconfig, "exttoken", "delete", "--expired")
		names = mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
		if strings.Contains(names, gone1) || strings.Contains(names, gone2) || !strings.Contains(names, alive) {
			t.Errorf("after prune:\n%s\n(prune said %s)", names, res)
		}
		// Item by item: one DELETE per token, never deletecollection.
		for _, r := range e.Requests() {
			if r.Verb == "deletecollection" {
				t.Errorf("prune used deletecollection")
			}
		}
		res = mustRun(t, u.Kubeconfig, "exttoken", "delete", "--expired")
		if !strings.Contains(res.Stderr, "No matching tokens found") {
			t.Errorf("second prune: %s", res)
		}
		if !admin {
			mustRun(t, other.Kubeconfig, "exttoken", "delete", otherGone)
		}
	}
}

// TestIdentityReachesTheEmulator: the impersonated user and its
// requesttokenid extra arrive as X-Remote-* headers; status.current marks
// the token that authenticated a request.
func TestIdentityReachesTheEmulator(t *testing.T) {
	e := emulator(t)
	u := newUser(t, "ident", rancher.UserOptions{})
	e.ResetRequests()
	name, _ := create(t, u)
	seen := false
	for _, r := range e.Requests() {
		if r.Verb == "create" && r.User == u.Name && len(r.Extra["requesttokenid"]) == 1 && r.Extra["requesttokenid"][0] == u.TokenID {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("no create with user %s and requesttokenid %s: %+v", u.Name, u.TokenID, e.Requests())
	}
	// A kubeconfig whose request token is the new ext token.
	ru := *u
	ru.TokenID = name
	kc := newKubeconfigFor(t, &ru)
	if got := mustRun(t, kc, "exttoken", "get", name, "-o", "jsonpath={.status.current}").Stdout; got != "true" {
		t.Errorf("status.current of the request token = %q", got)
	}
	if got := mustRun(t, u.Kubeconfig, "exttoken", "get", name, "-o", "jsonpath={.status.current}").Stdout; got != "false" {
		t.Errorf("status.current of another token = %q", got)
	}
	if !strings.Contains(mustRun(t, kc, "exttoken", "describe", name).Stdout, "Current:        true") {
		t.Error("describe does not show Current: true")
	}
}

// TestRancher212BearerBuiltByClient: Rancher 2.12 returns no
// status.bearerToken; the plugin builds ext/<name>:<value> itself.
func TestRancher212BearerBuiltByClient(t *testing.T) {
	e := emulator(t)
	e.SetVersion(rancher.V2_12)
	defer e.SetVersion(rancher.Main)
	u := newUser(t, "old", rancher.UserOptions{})
	res := mustRun(t, u.Kubeconfig, "exttoken", "create", "-o", "json")
	if strings.Contains(res.Stdout, "bearerToken") {
		t.Fatalf("2.12 returned a bearerToken: %s", res)
	}
	name, value := create(t, u, "--ttl", "1h")
	if name == "" || value == "" {
		t.Fatal("no bearer token built")
	}
	// 2.12 answered a missing request token with 500; still one line.
	wantOneErrorLine(t, kubectl(u.NoTokenKubeconfig, "exttoken", "create"), "missing authentication token ID")
	// 2.12..2.15 return the hash on get and list; no output carries it.
	for _, args := range [][]string{{"get", name, "-o", "jsonpath={.status.hash}"}, {"get", name, "-o", "yaml"}, {"list", "-o", "json"}, {"describe", name}} {
		if got := mustRun(t, u.Kubeconfig, append([]string{"exttoken"}, args...)...).Stdout; strings.Contains(got, "$3:1:") {
			t.Errorf("exttoken %s prints the hash: %s", strings.Join(args, " "), got)
		}
	}
}

// TestCreateFailsWhenTheServerDropsTheClusterScope: Rancher 2.12 has no
// spec.clusterName and returns a token valid for every cluster; create
// must fail and leave no token behind.
func TestCreateFailsWhenTheServerDropsTheClusterScope(t *testing.T) {
	e := emulator(t)
	e.SetVersion(rancher.V2_12)
	defer e.SetVersion(rancher.Main)
	u := newUser(t, "scope", rancher.UserOptions{})
	before := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	res := kubectl(u.Kubeconfig, "exttoken", "create", "--cluster-name", "c-m-abc12")
	wantOneErrorLine(t, res, "dropped --cluster-name c-m-abc12", "was deleted again")
	if res.Stdout != "" {
		t.Errorf("a token was printed: %s", res)
	}
	if after := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "name").Stdout; after != before {
		t.Errorf("the unscoped token was left behind:\n%s\nthen\n%s", before, after)
	}
}
