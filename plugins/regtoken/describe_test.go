package regtoken

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func TestDescribe(t *testing.T) {
	// A cluster name is server text: it must not reach the terminal as a
	// control sequence.
	hostile := registration("request-4", "day", "uid-4", "cluster-\x1b]0;evil\a", 2*time.Minute)
	for _, c := range []struct {
		name     string
		args     []string
		w        world
		setup    func(f *clitest.Factory)
		exit     int
		golden   string
		requests []string
	}{
		{name: "token with registrations", args: []string{"describe", "day"},
			w: world{tokens: tokensOf(tokenObj("day", "24h", "day")), secrets: []*corev1.Secret{valuesSecret("day", fleetValues("day"))}, dynamic: []runtime.Object{
				registration("request-1", "day", "uid-1", "cluster-1", time.Hour),
				registration("request-2", "day", "uid-2", "", time.Minute),
				hostile,
				registration("request-3", "forever", "uid-3", "cluster-3", time.Hour),
			}},
			golden: "describe-registrations",
			requests: []string{"get clusterregistrationtokens.fleet.cattle.io fleet-default/day", "get secrets fleet-default/day",
				"list clusterregistrations.fleet.cattle.io fleet-default"}},
		{name: "token with none", args: []string{"describe", "forever"},
			w:      world{tokens: tokensOf(tokenObj("forever", "", ""))},
			golden: "describe-none",
			requests: []string{"get clusterregistrationtokens.fleet.cattle.io fleet-default/forever",
				"list clusterregistrations.fleet.cattle.io fleet-default"}},
		{name: "expired, its Secret gone", args: []string{"describe", "old"},
			w:      world{tokens: tokensOf(tokenObj("old", "1h", "old"))},
			golden: "describe-expired"},
		{name: "not found", args: []string{"describe", "nope", "--context", "prod"}, exit: 1,
			golden:   "describe-not-found",
			requests: []string{"get clusterregistrationtokens.fleet.cattle.io fleet-default/nope"}},
		{name: "forbidden registrations and Secret degrade as get does", args: []string{"describe", "day"},
			w: world{tokens: tokensOf(tokenObj("day", "24h", "day")), secrets: []*corev1.Secret{valuesSecret("day", fleetValues("day"))}},
			setup: func(f *clitest.Factory) {
				f.Dyn.PrependReactor("list", "clusterregistrations", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(fleet.RegistrationGVR.GroupResource(), "", errors.New(`User "bob" cannot list resource "clusterregistrations" in API group "fleet.cattle.io" in the namespace "fleet-default"`))
				})
				f.Core.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(fleet.SecretsGR, "day", errors.New(`User "bob" cannot get resource "secrets" in API group "" in the namespace "fleet-default"`))
				})
			},
			golden: "describe-forbidden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.w.factory(t)
			if c.setup != nil {
				c.setup(f)
			}
			res := run(t, f, c.args...)
			if res.Exit != c.exit {
				t.Fatalf("want exit %d, got %s", c.exit, res)
			}
			golden(t, c.golden, res.String())
			if c.requests != nil {
				wantRequests(t, f.Requests(), c.requests...)
			}
			for _, secret := range []string{agentCredToken, "\x1b]0;evil"} {
				if strings.Contains(res.Stdout+res.Stderr, secret) {
					t.Errorf("%q reached the output:\n%s", secret, res)
				}
			}
		})
	}
}

func TestDescribeHelp(t *testing.T) {
	golden(t, "describe-help", run(t, world{}.factory(t), "describe", "--help").Stdout)
}

// describe completes token names as get does, one name only.
func TestDescribeCompletesTokenNames(t *testing.T) {
	f := world{tokens: tokensOfEveryKind()}.factory(t)
	if res := run(t, f, "__complete", "describe", ""); !strings.HasPrefix(res.Stdout, "day\nforever\nold\nzero\n:4\n") {
		t.Errorf("completion: %s", res)
	}
	if res := run(t, f, "__complete", "describe", "day", ""); strings.Contains(res.Stdout, "forever") {
		t.Errorf("a second name was offered: %s", res)
	}
}
