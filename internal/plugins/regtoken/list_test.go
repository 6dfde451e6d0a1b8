package regtoken

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	wantRequests(t, f.Requests(), "get clusterregistrationtokens.fleet.cattle.io fleet-default/day")
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
