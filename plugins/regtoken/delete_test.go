package regtoken

import (
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDelete(t *testing.T) {
	for _, c := range []struct {
		name     string
		args     []string
		exit     int
		stdout   string
		stderr   string
		requests []string
		left     []string
	}{
		{
			name:     "names",
			args:     []string{"delete", "day", "old"},
			stdout:   "clusterregistrationtoken.fleet.cattle.io/day deleted\nclusterregistrationtoken.fleet.cattle.io/old deleted\n",
			requests: []string{"delete clusterregistrationtokens.fleet.cattle.io fleet-default/day", "delete clusterregistrationtokens.fleet.cattle.io fleet-default/old"},
			left:     []string{"forever", "zero"},
		},
		{
			name:     "a token Fleet made for a manager-initiated cluster is deleted with a warning",
			args:     []string{"delete", "import-token-edge"},
			exit:     1,
			stderr:   "warning: import-token-edge is the token Fleet made for the manager-initiated Cluster edge: without it that cluster's agent cannot be re-imported or redeployed until Fleet makes a new one (bump the Cluster's spec.redeployAgentGeneration)\n" + `error: ClusterRegistrationToken "import-token-edge" not found in namespace "fleet-default": list them with kubectl regtoken list -n fleet-default` + "\n",
			requests: []string{"delete clusterregistrationtokens.fleet.cattle.io fleet-default/import-token-edge"},
			left:     []string{"day", "forever", "old", "zero"},
		},
		{
			name:     "a missing one among others",
			args:     []string{"delete", "day", "nope", "old"},
			exit:     1,
			stdout:   "clusterregistrationtoken.fleet.cattle.io/day deleted\nclusterregistrationtoken.fleet.cattle.io/old deleted\n",
			stderr:   `error: deleted 2 of 3; failed: clusterregistrationtoken.fleet.cattle.io/nope: ClusterRegistrationToken "nope" not found in namespace "fleet-default": list them with kubectl regtoken list -n fleet-default` + "\n",
			requests: []string{"delete clusterregistrationtokens.fleet.cattle.io fleet-default/day", "delete clusterregistrationtokens.fleet.cattle.io fleet-default/nope", "delete clusterregistrationtokens.fleet.cattle.io fleet-default/old"},
			left:     []string{"forever", "zero"},
		},
		{
			name:     "one missing",
			args:     []string{"delete", "nope"},
			exit:     1,
			stderr:   `error: ClusterRegistrationToken "nope" not found in namespace "fleet-default": list them with kubectl regtoken list -n fleet-default` + "\n",
			requests: []string{"delete clusterregistrationtokens.fleet.cattle.io fleet-default/nope"},
			left:     []string{"day", "forever", "old", "zero"},
		},
		{
			name:     "expired, dry run",
			args:     []string{"delete", "--expired", "--dry-run"},
			stdout:   "clusterregistrationtoken.fleet.cattle.io/old deleted (dry run)\n",
			requests: []string{"list clusterregistrationtokens.fleet.cattle.io fleet-default"},
			left:     []string{"day", "forever", "old", "zero"},
		},
		{
			name:     "expired, server dry run",
			args:     []string{"delete", "--expired", "--dry-run=server"},
			stdout:   "clusterregistrationtoken.fleet.cattle.io/old deleted (server dry run)\n",
			requests: []string{"list clusterregistrationtokens.fleet.cattle.io fleet-default", "delete clusterregistrationtokens.fleet.cattle.io fleet-default/old"},
			left:     []string{"day", "forever", "old", "zero"},
		},
		{
			name:     "expired in all namespaces",
			args:     []string{"delete", "--expired", "-A"},
			stdout:   "fleet-default/clusterregistrationtoken.fleet.cattle.io/old deleted\n",
			requests: []string{"list clusterregistrationtokens.fleet.cattle.io", "delete clusterregistrationtokens.fleet.cattle.io fleet-default/old"},
			left:     []string{"day", "forever", "zero"},
		},
		{
			name:     "nothing expired",
			args:     []string{"delete", "--expired", "-n", "other"},
			stderr:   "No expired ClusterRegistrationTokens in namespace other.\n",
			requests: []string{"list clusterregistrationtokens.fleet.cattle.io other"},
			left:     []string{"day", "forever", "old", "zero"},
		},
		{
			name:   "names and --expired",
			args:   []string{"delete", "day", "--expired"},
			exit:   1,
			stderr: "error: pass either token names or --expired, not both\n",
			left:   []string{"day", "forever", "old", "zero"},
		},
		{
			name:   "-A without --expired",
			args:   []string{"delete", "day", "-A"},
			exit:   1,
			stderr: "error: -A works only with --expired: name tokens in one namespace with -n\n",
			left:   []string{"day", "forever", "old", "zero"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := world{tokens: tokensOfEveryKind()}.factory(t)
			res := run(t, f, c.args...)
			if res.Exit != c.exit || res.Stdout != c.stdout || res.Stderr != c.stderr {
				t.Errorf("got %s\nwant exit %d, stdout %q, stderr %q", res, c.exit, c.stdout, c.stderr)
			}
			wantRequests(t, f.Requests(), c.requests...)
			list, err := f.Dyn.Resource(fleet.TokenGVR).Namespace(testNS).List(t.Context(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, u := range list.Items {
				left = append(left, u.GetName())
			}
			if strings.Join(left, " ") != strings.Join(c.left, " ") {
				t.Errorf("left %q, want %q", left, c.left)
			}
		})
	}
}

func TestDeleteHelp(t *testing.T) {
	golden(t, "delete-help", run(t, world{}.factory(t), "delete", "--help").Stdout)
}
