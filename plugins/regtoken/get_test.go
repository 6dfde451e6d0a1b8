package regtoken

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// get -o json|yaml carries what the table shows: a List of the token and
// the registrations made with it (oldest first), each as stored; other
// tokens' registrations stay out.
func TestGetOutputListsTheTokenAndItsRegistrations(t *testing.T) {
	f := world{tokens: tokensOfEveryKind(), dynamic: []runtime.Object{
		registration("request-2", "day", "uid-2", "", time.Minute),
		registration("request-1", "day", "uid-1", "cluster-1", time.Hour),
		registration("request-3", "forever", "uid-3", "cluster-3", time.Hour),
	}}.factory(t)
	for _, o := range []string{"json", "yaml"} {
		res := run(t, f, "get", "day", "-o", o)
		if res.Exit != 0 || res.Stderr != "" {
			t.Fatalf("-o %s: %s", o, res)
		}
		golden(t, "get-registrations-"+o, res.Stdout)
	}
	want := "clusterregistrationtoken.fleet.cattle.io/day\nclusterregistration.fleet.cattle.io/request-1\nclusterregistration.fleet.cattle.io/request-2\n"
	if res := run(t, f, "get", "day", "-o", "name"); res.Exit != 0 || res.Stdout != want {
		t.Errorf("-o name: want %q, got %s", want, res)
	}
	if res := run(t, f, "get", "day", "-o", "jsonpath={.items[0].spec.ttl} {.items[*].spec.clientID}"); res.Exit != 0 || res.Stdout != "24h uid-1 uid-2" {
		t.Errorf("-o jsonpath over the List: %s", res)
	}
}

// Registrations the user may not list leave the token alone in the List,
// with the same note on stderr as the table.
func TestGetOutputWithUnreadableRegistrationsHoldsTheTokenAndSaysSo(t *testing.T) {
	f := world{tokens: tokensOfEveryKind()}.factory(t)
	f.Dyn.PrependReactor("list", "clusterregistrations", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(fleet.RegistrationGVR.GroupResource(), "", errors.New(`User "bob" cannot list resource "clusterregistrations" in API group "fleet.cattle.io" in the namespace "fleet-default"`))
	})
	res := run(t, f, "get", "day", "-o", "name")
	if res.Exit != 0 || res.Stdout != "clusterregistrationtoken.fleet.cattle.io/day\n" || !strings.HasPrefix(res.Stderr, "note: the registrations made with day are unknown: ") || strings.Count(res.Stderr, "\n") != 1 {
		t.Fatalf("%s", res)
	}
}

// A registration's client ID is the agent's free text: in get's table it
// is escaped to one line and cut, as every free-text cell is.
func TestGetRegistrationClientIDIsEscapedAndCut(t *testing.T) {
	hostile := "id\n\x1b]0;pwned\x07" + strings.Repeat("x", 200)
	f := world{tokens: tokensOfEveryKind(), dynamic: []runtime.Object{registration("request-1", "day", hostile, "cluster-1", time.Hour)}}.factory(t)
	res := run(t, f, "get", "day")
	if res.Exit != 0 || !strings.Contains(res.Stdout, printer.Cell(hostile)) || strings.ContainsAny(res.Stdout, "\x1b\x07") || strings.Count(res.Stdout, "\n") != 5 {
		t.Fatalf("%s", res)
	}
}
