package cli_test

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// A command the error line suggests (kubectl auth can-i, kubectl get)
// repeats the connection flags the user gave, so it asks the same
// cluster; a -n in the suggestion replaces the user's.
func TestSuggestedCommandsKeepTheUsersConnectionFlags(t *testing.T) {
	secrets := schema.GroupResource{Resource: "secrets"}
	for _, tc := range []struct {
		name string
		err  error
		args []string
		want string
	}{
		{"forbidden", apierror.Wrap(apierrors.NewForbidden(secrets, "x", errors.New("no rights")), apierror.Op{Verb: "delete", Resource: secrets, Namespace: "kube-system", Name: "x"}),
			[]string{"--kubeconfig", "/tmp/my kube", "--context", "prod", "--user", "admin", "-n", "other"},
			`error: secrets "x" is forbidden: no rights; check your rights with: kubectl auth can-i delete secrets -n kube-system '--kubeconfig=/tmp/my kube' --context=prod --user=admin` + "\n"},
		{"not found", apierror.Wrap(apierrors.NewNotFound(secrets, "x"), apierror.Op{Verb: "get", Resource: secrets, Name: "x"}),
			[]string{"--context", "prod", "--server", "https://10.0.0.1:6443"},
			`error: secrets "x" not found: check the name; list them with kubectl get secrets --context=prod --server=https://10.0.0.1:6443` + "\n"},
		{"no flags given", apierror.Wrap(apierrors.NewForbidden(secrets, "x", errors.New("no rights")), apierror.Op{Verb: "get", Resource: secrets}),
			nil,
			`error: secrets "x" is forbidden: no rights; check your rights with: kubectl auth can-i get secrets` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := func(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
				r := cli.NewRoot(demo, streams, f)
				r.AddCommand(&cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error { return tc.err }})
				return r
			}
			res := clitest.Run(t, root, clitest.NewFactory(clitest.Options{}), "", append([]string{"fail"}, tc.args...)...)
			if res.Exit != 1 || res.Stderr != tc.want {
				t.Errorf("%s\nwant stderr %q", res, tc.want)
			}
		})
	}
}
