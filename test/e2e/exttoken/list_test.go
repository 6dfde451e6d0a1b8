//go:build e2e

package exttoken

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// TestListMatchesKubectlGet: the plugin's table is the server's, so
// kubectl exttoken list and kubectl get tokens.ext.cattle.io print the
// same rows (AGE aside, which moves between the two runs), also across
// pages.
func TestListMatchesKubectlGet(t *testing.T) {
	emulator(t)
	for _, admin := range []bool{false, true} {
		u := newUser(t, "wide", rancher.UserOptions{Admin: admin})
		create(t, u, "--description", "CI pipeline", "--ttl", "30d")
		create(t, u, "--description", "laptop kubeconfig", "--kind", "kubeconfig", "--ttl", "12h")
		create(t, u, "--ttl", "never")
		create(t, u, "--ttl", "90m")
		for _, format := range []string{"", "wide"} {
			args := []string{"exttoken", "list"}
			get := []string{"get", "tokens.ext.cattle.io"}
			if format != "" {
				args = append(args, "-o", format)
				get = append(get, "-o", format)
			}
			ours := mustRun(t, u.Kubeconfig, args...)
			theirs := mustRun(t, u.Kubeconfig, get...)
			paged := mustRun(t, u.Kubeconfig, append(args, "--chunk-size", "1")...)
			if got, want := tableRows(t, ours.Stdout), tableRows(t, theirs.Stdout); !reflect.DeepEqual(got, want) {
				t.Errorf("-o %q: exttoken list\n%s\ndiffers from kubectl get\n%s", format, ours.Stdout, theirs.Stdout)
			}
			if got, want := tableRows(t, paged.Stdout), tableRows(t, ours.Stdout); !reflect.DeepEqual(got, want) {
				t.Errorf("-o %q --chunk-size 1:\n%s\ndiffers from\n%s", format, paged.Stdout, ours.Stdout)
			}
			header := strings.Fields(strings.SplitN(ours.Stdout, "\n", 2)[0])
			want := []string{"NAME", "KIND", "TTL", "AGE"}
			if format == "wide" {
				want = []string{"NAME", "USER", "KIND", "TTL", "AGE", "DESCRIPTION"}
			}
			if !reflect.DeepEqual(header, want) {
				t.Errorf("-o %q header %v, want %v", format, header, want)
			}
		}
		wide := mustRun(t, u.Kubeconfig, "exttoken", "list", "-o", "wide").Stdout
		for _, want := range []string{"CI pipeline", "laptop kubeconfig", "30d", "12h", "90m", u.Name} {
			if !strings.Contains(wide, want) {
				t.Errorf("list -o wide lacks %q:\n%s", want, wide)
			}
		}
	}
}

// TestRegularUserSeesOnlyOwnTokens: visibility per Rancher's rules, and
// the plugin never sends a cattle.io/user-id selector for another user.
func TestRegularUserSeesOnlyOwnTokens(t *testing.T) {
	e := emulator(t)
	alice := newUser(t, "alice", rancher.UserOptions{})
	bob := newUser(t, "bob", rancher.UserOptions{})
	admin := newUser(t, "root", rancher.UserOptions{Admin: true})
	aliceTok, _ := create(t, alice, "--description", "alice's")
	bobTok, _ := create(t, bob, "--description", "bob's")

	out := mustRun(t, alice.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	if !strings.Contains(out, aliceTok) || strings.Contains(out, bobTok) {
		t.Errorf("alice's list:\n%s", out)
	}
	out = mustRun(t, admin.Kubeconfig, "exttoken", "list", "-o", "name").Stdout
	if !strings.Contains(out, aliceTok) || !strings.Contains(out, bobTok) {
		t.Errorf("the admin's list:\n%s", out)
	}
	wantOneErrorLine(t, kubectl(alice.Kubeconfig, "exttoken", "get", bobTok), "not found")
	wantOneErrorLine(t, kubectl(alice.Kubeconfig, "exttoken", "delete", bobTok), "not found")
	wantOneErrorLine(t, kubectl(alice.Kubeconfig, "exttoken", "disable", bobTok), "not found")
	mustRun(t, admin.Kubeconfig, "exttoken", "describe", bobTok)

	// --user-id for another user: empty for alice, and no selector naming
	// bob ever reaches the server from her.
	e.ResetRequests()
	for _, format := range []string{"name", "wide", "yaml"} {
		res := mustRun(t, alice.Kubeconfig, "exttoken", "list", "--user-id", bob.Name, "-o", format)
		if strings.Contains(res.Stdout, bobTok) {
			t.Errorf("alice sees bob's token with --user-id: %s", res)
		}
	}
	res := kubectl(alice.Kubeconfig, "exttoken", "list", "-l", "cattle.io/user-id="+bob.Name)
	wantOneErrorLine(t, res, "--user-id")
	for _, r := range e.Requests() {
		if r.User == alice.Name && strings.Contains(r.LabelSelector, "cattle.io/user-id") {
			t.Errorf("the plugin sent %q for %s", r.LabelSelector, alice.Name)
		}
	}
	// An admin's --user-id is a server-side selector.
	e.ResetRequests()
	out = mustRun(t, admin.Kubeconfig, "exttoken", "list", "--user-id", bob.Name, "-o", "name").Stdout
	if strings.TrimSpace(out) != "token.ext.cattle.io/"+bobTok {
		t.Errorf("admin --user-id %s: %q", bob.Name, out)
	}
	sent := false
	for _, r := range e.Requests() {
		sent = sent || (r.User == admin.Name && r.LabelSelector == "cattle.io/user-id="+bob.Name)
	}
	if !sent {
		t.Errorf("the admin's --user-id was not sent as a selector: %+v", e.Requests())
	}
}

// TestOldSelectorBugIsNotTriggered: up to v2.15.0 a non-admin's selector
// naming another user returns that user's tokens (docs/rancher-tokens.md
// §3 note 3). kubectl get shows the bug; the plugin cannot be made to send
// such a selector.
func TestOldSelectorBugIsNotTriggered(t *testing.T) {
	e := emulator(t)
	e.SetVersion(rancher.V2_15)
	defer e.SetVersion(rancher.Main)
	alice := newUser(t, "alice", rancher.UserOptions{})
	bob := newUser(t, "bob", rancher.UserOptions{})
	bobTok, _ := create(t, bob)
	leak := mustRun(t, alice.Kubeconfig, "get", "tokens.ext.cattle.io", "-l", "cattle.io/user-id="+bob.Name, "-o", "name").Stdout
	if !strings.Contains(leak, bobTok) {
		t.Errorf("the emulated 2.15.0 bug did not show bob's token to alice via kubectl get: %q", leak)
	}
	for _, args := range [][]string{
		{"exttoken", "list", "--user-id", bob.Name, "-o", "name"},
		{"exttoken", "list", "--user-id", bob.Name},
		{"exttoken", "list", "--user-id", bob.Name, "--show-expiry"},
	} {
		if res := mustRun(t, alice.Kubeconfig, args...); strings.Contains(res.Stdout, bobTok) {
			t.Errorf("%v shows bob's token to alice: %s", args, res)
		}
	}
	// Set-based selectors fail on the old servers for non-admins: one line.
	res := kubectl(alice.Kubeconfig, "exttoken", "list", "-l", "team in (a,b)")
	wantOneErrorLine(t, res, "key=value")
}

func TestListFiltersAndExpiryView(t *testing.T) {
	emulator(t)
	u := newUser(t, "filter", rancher.UserOptions{})
	expired, _ := create(t, u, "--ttl", "1ms", "--description", "gone")
	soon, _ := create(t, u, "--ttl", "2h", "--kind", "kubeconfig")
	later, _ := create(t, u, "--ttl", "30d")
	never, _ := create(t, u, "--ttl", "never") // clamped to the 90d max
	cases := []struct {
		args    []string
		in, out []string
	}{
		{[]string{"--expired"}, []string{expired}, []string{soon, later, never}},
		// --expiring-within includes what has already expired (monitoring).
		{[]string{"--expiring-within", "1d"}, []string{soon, expired}, []string{later, never}},
		{[]string{"--kind", "kubeconfig"}, []string{soon}, []string{expired, later, never}},
		{[]string{"--expired", "-o", "name"}, []string{expired}, []string{soon}},
		{[]string{"--expiring-within", "31d", "-o", "yaml"}, []string{soon, later, expired}, []string{never}},
		{[]string{"--older-than", "1h", "-o", "name"}, nil, []string{expired, soon, later, never}},
		{[]string{"--unused-for", "1h", "-o", "name"}, nil, []string{expired, soon, later, never}},
	}
	for _, c := range cases {
		out := mustRun(t, u.Kubeconfig, append([]string{"exttoken", "list"}, c.args...)...).Stdout
		for _, n := range c.in {
			if !strings.Contains(out, n) {
				t.Errorf("list %v lacks %s:\n%s", c.args, n, out)
			}
		}
		for _, n := range c.out {
			if strings.Contains(out, n) {
				t.Errorf("list %v shows %s:\n%s", c.args, n, out)
			}
		}
	}
	res := mustRun(t, u.Kubeconfig, "exttoken", "list", "--show-expiry")
	header := strings.Fields(strings.SplitN(res.Stdout, "\n", 2)[0])
	if strings.Join(header, " ") != "NAME KIND TTL AGE EXPIRES EXPIRED ENABLED CURRENT LAST-USED" {
		t.Errorf("--show-expiry header %v", header)
	}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(line, expired) && !strings.Contains(line, " true ") {
			t.Errorf("expired token not EXPIRED: %q", line)
		}
		if strings.HasPrefix(line, later) && (!strings.Contains(line, "in 29d") || !strings.Contains(line, "false")) {
			t.Errorf("30d token row: %q", line)
		}
	}
	mustRun(t, u.Kubeconfig, "exttoken", "disable", later)
	res = mustRun(t, u.Kubeconfig, "exttoken", "get", later, "-o", "jsonpath={.spec.enabled}")
	if res.Stdout != "false" {
		t.Errorf("after disable: enabled=%q", res.Stdout)
	}
	mustRun(t, u.Kubeconfig, "exttoken", "enable", later)
	mustRun(t, u.Kubeconfig, "exttoken", "set-description", later, "renamed: it's new")
	res = mustRun(t, u.Kubeconfig, "exttoken", "get", later, "-o", "jsonpath={.spec.enabled} {.spec.description}")
	if res.Stdout != "true renamed: it's new" {
		t.Errorf("after enable and set-description: %q", res.Stdout)
	}
}

// TestListFailIfAnyExitsThreeThroughKubectl: the monitoring exit code
// reaches the caller through the real kubectl's plugin dispatch.
func TestListFailIfAnyExitsThreeThroughKubectl(t *testing.T) {
	u := newUser(t, "monitor", rancher.UserOptions{})
	name, _ := create(t, u, "--ttl", "1h")
	res := kubectl(u.Kubeconfig, "exttoken", "list", "--expiring-within", "2h", "--fail-if-any")
	if res.Code != 3 || !strings.Contains(res.Stdout, name) || !strings.Contains(res.Stderr, "exit 3 (--fail-if-any)") {
		t.Errorf("expiring within 2h: %s", res)
	}
	if res := kubectl(u.Kubeconfig, "exttoken", "list", "--expiring-within", "30m", "--fail-if-any", "-o", "name"); res.Code != 0 || res.Stdout != "" {
		t.Errorf("nothing expiring within 30m: %s", res)
	}
	if res := kubectl(env.Kubeconfig, "exttoken", "legacy", "list", "--user-id", "u-nobody", "--expiring-within", "30d", "--fail-if-any"); res.Code != 0 {
		t.Errorf("legacy, nothing shown: %s", res)
	}
}
