package regtoken

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// tokensOfEveryKind: no ttl, ttl 0, expired, valid and not yet ready, and
// one in another namespace.
func tokensOfEveryKind() []*unstructured.Unstructured {
	other := tokenObj("elsewhere", "48h", "elsewhere")
	other.SetNamespace("other")
	return tokensOf(
		tokenObj("forever", "", "forever"),
		tokenObj("zero", "0", "zero"),
		tokenObj("old", "1h", "old"),
		tokenObj("day", "24h", ""),
		other,
	)
}

func TestListTable(t *testing.T) {
	for name, args := range map[string][]string{
		"list":      {"list"},
		"list-wide": {"list", "-o", "wide"},
		"list-all":  {"list", "-A"},
	} {
		t.Run(name, func(t *testing.T) {
			f := world{tokens: tokensOfEveryKind()}.factory(t)
			res := run(t, f, args...)
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			golden(t, name, res.String())
		})
	}
}

func TestListName(t *testing.T) {
	res := run(t, world{tokens: tokensOfEveryKind()}.factory(t), "list", "-o", "name")
	if want := "clusterregistrationtoken.fleet.cattle.io/day\nclusterregistrationtoken.fleet.cattle.io/forever\nclusterregistrationtoken.fleet.cattle.io/old\nclusterregistrationtoken.fleet.cattle.io/zero\n"; res.Exit != 0 || res.Stdout != want {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestListEmptySaysSoOnStderr(t *testing.T) {
	f := world{}.factory(t)
	res := run(t, f, "list", "-n", "empty")
	if res.Exit != 0 || res.Stdout != "" || res.Stderr != "No ClusterRegistrationTokens found in namespace empty.\n" {
		t.Fatalf("%s", res)
	}
	wantRequests(t, f.Requests(), "list clusterregistrationtokens.fleet.cattle.io empty")
}

func TestListHelp(t *testing.T) {
	golden(t, "list-help", run(t, world{}.factory(t), "list", "--help").Stdout)
}

func TestGet(t *testing.T) {
	f := world{tokens: tokensOfEveryKind()}.factory(t)
	res := run(t, f, "get", "day")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "get", res.String())
	wantRequests(t, f.Requests(), "get clusterregistrationtokens.fleet.cattle.io fleet-default/day", "list clusterregistrations.fleet.cattle.io fleet-default")
	if y := run(t, f, "get", "day", "-o", "yaml"); y.Exit != 0 || !strings.Contains(y.Stdout, "ttl: 24h") {
		t.Errorf("-o yaml: %s", y)
	}
}

func TestGetMissingPointsAtList(t *testing.T) {
	res := run(t, world{}.factory(t), "get", "nope", "--kubeconfig", "/k/config")
	want := `error: ClusterRegistrationToken "nope" not found in namespace "fleet-default": list them with kubectl regtoken list -n fleet-default --kubeconfig=/k/config` + "\n"
	if res.Exit != 1 || res.Stderr != want {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestGetHelp(t *testing.T) {
	golden(t, "get-help", run(t, world{}.factory(t), "get", "--help").Stdout)
}

func TestRootHelp(t *testing.T) {
	golden(t, "root-help", run(t, world{}.factory(t), "--help").Stdout)
}

func TestListWideCountsRegistrations(t *testing.T) {
	f := world{tokens: tokensOfEveryKind(), dynamic: []runtime.Object{
		registration("request-1", "day", "uid-1", "cluster-1", time.Hour),
		registration("request-2", "day", "uid-2", "", time.Minute),
		registration("request-3", "", "uid-3", "cluster-3", time.Hour),
	}}.factory(t)
	res := run(t, f, "list", "-o", "wide")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "list-wide-registered", res.String())
	wantRequests(t, f.Requests(), "list clusterregistrationtokens.fleet.cattle.io fleet-default", "list clusterregistrations.fleet.cattle.io fleet-default")
}

func TestListExpiringWithin(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		exit   int
		stdout string
		stderr string
	}{
		{"expired and expiring", []string{"list", "--expiring-within", "1d", "-o", "name"}, 0,
			"clusterregistrationtoken.fleet.cattle.io/day\nclusterregistrationtoken.fleet.cattle.io/old\n", ""},
		{"only the expired one", []string{"list", "--expiring-within", "1h", "-o", "name"}, 0,
			"clusterregistrationtoken.fleet.cattle.io/old\n", ""},
		{"--fail-if-any exits 3", []string{"list", "--expiring-within", "1h", "--fail-if-any"}, 3,
			"NAME   TTL   EXPIRES   SECRET   AGE\nold    1h    expired   ready    3h\n", "tokens shown: 1; exit 3 (--fail-if-any)\n"},
		{"--fail-if-any exits 0 when none is", []string{"list", "--expiring-within", "1h", "--fail-if-any", "-n", "other"}, 0,
			"", "No ClusterRegistrationTokens expire within 1h in namespace other.\n"},
		{"never is no window", []string{"list", "--expiring-within", "never"}, 1,
			"", "error: --expiring-within never selects nothing: pass a duration such as 7d (0 shows only the expired tokens)\n"},
		{"bad duration", []string{"list", "--expiring-within", "soon"}, 1,
			"", "error: invalid --expiring-within \"soon\": pass a duration such as 7d (0 shows only the expired tokens)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, world{tokens: tokensOfEveryKind()}.factory(t), c.args...)
			if res.Exit != c.exit || res.Stdout != c.stdout || res.Stderr != c.stderr {
				t.Errorf("want exit %d, stdout %q, stderr %q; got %s", c.exit, c.stdout, c.stderr, res)
			}
		})
	}
}

func TestGetListsTheTokensRegistrations(t *testing.T) {
	f := world{tokens: tokensOfEveryKind(), dynamic: []runtime.Object{
		registration("request-1", "day", "uid-1", "cluster-1", time.Hour),
		registration("request-2", "day", "uid-2", "", time.Minute),
		registration("request-3", "forever", "uid-3", "cluster-3", time.Hour),
	}}.factory(t)
	res := run(t, f, "get", "day")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "get-registrations", res.String())
	wantRequests(t, f.Requests(), "get clusterregistrationtokens.fleet.cattle.io fleet-default/day", "list clusterregistrations.fleet.cattle.io fleet-default")
}
