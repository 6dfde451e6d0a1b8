package regtoken

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
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

// secretsOf are the values Secrets the controller wrote for the tokens
// whose status names one.
func secretsOf(toks []*unstructured.Unstructured) []*corev1.Secret {
	var out []*corev1.Secret
	for _, tok := range toks {
		if name, _, _ := unstructured.NestedString(tok.Object, "status", "secretName"); name != "" {
			s := valuesSecret(name, fleetValues(tok.GetName()))
			s.Namespace = tok.GetNamespace()
			out = append(out, s)
		}
	}
	return out
}

func TestListTable(t *testing.T) {
	for name, args := range map[string][]string{
		"list":      {"list"},
		"list-wide": {"list", "-o", "wide"},
		"list-all":  {"list", "-A"},
	} {
		t.Run(name, func(t *testing.T) {
			f := world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind())}.factory(t)
			res := run(t, f, args...)
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			golden(t, name, res.String())
		})
	}
}

func TestListName(t *testing.T) {
	res := run(t, world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind())}.factory(t), "list", "-o", "name")
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
	// The values Secrets are listed beside the tokens, before it is known
	// that there are none.
	wantRequestsInAnyOrder(t, f.Requests(), "list clusterregistrationtokens.fleet.cattle.io empty", "list secrets empty")
}

func TestListHelp(t *testing.T) {
	golden(t, "list-help", run(t, world{}.factory(t), "list", "--help").Stdout)
}

func TestGet(t *testing.T) {
	f := world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind())}.factory(t)
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
	f := world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind()), dynamic: []runtime.Object{
		registration("request-1", "day", "uid-1", "cluster-1", time.Hour),
		registration("request-2", "day", "uid-2", "", time.Minute),
		registration("request-3", "", "uid-3", "cluster-3", time.Hour),
	}}.factory(t)
	res := run(t, f, "list", "-o", "wide")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "list-wide-registered", res.String())
	wantRequestsInAnyOrder(t, f.Requests(), "list clusterregistrationtokens.fleet.cattle.io fleet-default", "list secrets fleet-default", "list clusterregistrations.fleet.cattle.io fleet-default")
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
			res := run(t, world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind())}.factory(t), c.args...)
			if res.Exit != c.exit || res.Stdout != c.stdout || res.Stderr != c.stderr {
				t.Errorf("want exit %d, stdout %q, stderr %q; got %s", c.exit, c.stdout, c.stderr, res)
			}
		})
	}
}

func TestGetListsTheTokensRegistrations(t *testing.T) {
	f := world{tokens: tokensOfEveryKind(), secrets: secretsOf(tokensOfEveryKind()), dynamic: []runtime.Object{
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

// REGISTERED is "?" only when the registrations cannot be read (one note
// says why), and a count, 0 included, when they were read.
func TestListWideRegisteredIsUnknownOnlyWhenUnreadable(t *testing.T) {
	t.Run("forbidden", func(t *testing.T) {
		f := world{tokens: tokensOf(tokenObj("day", "24h", ""))}.factory(t)
		f.Dyn.PrependReactor("list", "clusterregistrations", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(fleet.RegistrationGVR.GroupResource(), "", errors.New(`User "bob" cannot list resource "clusterregistrations"`))
		})
		res := run(t, f, "list", "-o", "wide")
		want := "NAME   TTL   EXPIRES   SECRET    AGE   SECRET-NAME   EXPIRES-AT             REGISTERED\nday    24h   in 21h    pending   3h    <none>        2026-11-29T09:00:00Z   ?\n"
		if res.Exit != 0 || res.Stdout != want || !strings.HasPrefix(res.Stderr, "note: REGISTERED is unknown: ") || strings.Count(res.Stderr, "\n") != 1 {
			t.Fatalf("want\n%s got %s", want, res)
		}
	})
	t.Run("read, none", func(t *testing.T) {
		f := world{tokens: tokensOf(tokenObj("day", "24h", ""))}.factory(t)
		res := run(t, f, "list", "-o", "wide")
		want := "NAME   TTL   EXPIRES   SECRET    AGE   SECRET-NAME   EXPIRES-AT             REGISTERED\nday    24h   in 21h    pending   3h    <none>        2026-11-29T09:00:00Z   0\n"
		if res.Exit != 0 || res.Stdout != want || res.Stderr != "" {
			t.Fatalf("want\n%s got %s", want, res)
		}
	})
}

// SECRET says ready only for a values Secret that exists: one deleted
// after the controller wrote it is "missing"; when Secrets cannot be
// listed, a token's status alone is "unknown", with one note. The Secrets
// are listed once, metadata only.
func TestListSecretColumnChecksTheSecretExists(t *testing.T) {
	toks := func() []*unstructured.Unstructured {
		return tokensOf(tokenObj("kept", "24h", "kept"), tokenObj("gone", "24h", "gone"), tokenObj("new", "24h", ""))
	}
	t.Run("one deleted", func(t *testing.T) {
		f := world{tokens: toks(), secrets: secretsOf(toks()[:1])}.factory(t)
		res := run(t, f, "list")
		want := "NAME   TTL   EXPIRES   SECRET    AGE\ngone   24h   in 21h    missing   3h\nkept   24h   in 21h    ready     3h\nnew    24h   in 21h    pending   3h\n"
		if res.Exit != 0 || res.Stdout != want || res.Stderr != "" {
			t.Fatalf("want\n%s got %s", want, res)
		}
		wantRequestsInAnyOrder(t, f.Requests(), "list clusterregistrationtokens.fleet.cattle.io fleet-default", "list secrets fleet-default")
	})
	t.Run("forbidden", func(t *testing.T) {
		f := world{tokens: toks(), secrets: secretsOf(toks())}.factory(t)
		f.Core.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(fleet.SecretsGR, "", errors.New(`User "bob" cannot list resource "secrets" in API group "" in the namespace "fleet-default"`))
		})
		res := run(t, f, "list")
		want := "NAME   TTL   EXPIRES   SECRET    AGE\ngone   24h   in 21h    unknown   3h\nkept   24h   in 21h    unknown   3h\nnew    24h   in 21h    pending   3h\n"
		if res.Exit != 0 || res.Stdout != want || !strings.HasPrefix(res.Stderr, "note: SECRET is unknown: ") || strings.Count(res.Stderr, "\n") != 1 {
			t.Fatalf("want\n%s got %s", want, res)
		}
	})
}
