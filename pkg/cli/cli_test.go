package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

var demo = cli.Plugin{
	Name:  "demo",
	Short: "A demo plugin",
	Long: `
		Demo has <placeholders> that must survive rendering, and
		no stray leading spaces.`,
	Example: `
		# Get one thing
		kubectl demo get NAME`,
}

// newRoot is a plugin tree with the shapes real commands have.
func newRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(demo, streams, f)
	names := []string{"alpha", "beta", "bravo"}
	get := &cobra.Command{
		Use:               "get NAME",
		Short:             "Get one thing",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteNames(cli.OneName, func(context.Context) ([]string, error) { return names, nil }),
		RunE: func(_ *cobra.Command, args []string) error {
			fmt.Fprintln(streams.Out, args[0])
			return nil
		},
	}
	del := &cobra.Command{
		Use:               "delete NAME...",
		Short:             "Delete things",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cli.CompleteNames(cli.ManyNames, func(context.Context) ([]string, error) { return names, nil }),
		RunE:              func(*cobra.Command, []string) error { return nil },
	}
	root.AddCommand(get, del)
	return root
}

func run(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, newRoot, clitest.NewFactory(clitest.Options{}), "", args...)
}

func TestUsageErrorsAreOneKubectlStyleLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "error: kubectl demo get takes exactly 1 argument(s), got 0; usage: kubectl demo get NAME; see 'kubectl demo get --help'\n"},
		{[]string{"get", "a", "b"}, "error: kubectl demo get takes exactly 1 argument(s), got 2; usage: kubectl demo get NAME; see 'kubectl demo get --help'\n"},
		{[]string{"delete"}, "error: kubectl demo delete needs at least 1 argument(s), got 0; usage: kubectl demo delete NAME...; see 'kubectl demo delete --help'\n"},
		{[]string{"gett"}, "error: unknown command \"gett\" for \"kubectl demo\"; did you mean get?; see 'kubectl demo --help' for the commands\n"},
		{[]string{"get", "x", "--bogus"}, "error: unknown flag: --bogus; see 'kubectl demo get --help'\n"},
		{[]string{"completion", "tcsh"}, "error: kubectl demo completion does not accept \"tcsh\"; usage: kubectl demo completion SHELL; see 'kubectl demo completion --help'\n"},
	} {
		res := run(t, tc.args...)
		if res.Exit != 1 || res.Stdout != "" || res.Stderr != tc.want {
			t.Errorf("%q: %s\nwant stderr %q", tc.args, res, tc.want)
		}
	}
}

func TestRootWithoutArgumentsPrintsHelp(t *testing.T) {
	res := run(t)
	if res.Exit != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	clitest.Golden(t, "root-help", res.Stdout)
	if !strings.Contains(res.Stdout, "Demo has <placeholders> that") {
		t.Errorf("<placeholders> did not survive rendering:\n%s", res.Stdout)
	}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "  ") {
			t.Errorf("stray leading space: %q", line)
		}
	}
}

func TestCompletionHelp(t *testing.T) {
	res := run(t, "completion", "--help")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	clitest.Golden(t, "completion-help", res.Stdout)
	if !strings.Contains(res.Stdout, `completes "kubectl-demo <TAB>"`) || strings.Contains(res.Stdout, "\n For") {
		t.Errorf("help mangled:\n%s", res.Stdout)
	}
}

func TestNameCompletionSkipsWhatIsGivenAndWhatDoesNotMatch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "get", "b"}, "beta\nbravo\n:4\n"},
		{[]string{"__complete", "get", "alpha", ""}, ":4\n"},
		{[]string{"__complete", "delete", "beta", ""}, "alpha\nbravo\n:4\n"},
	} {
		res := run(t, tc.args...)
		if res.Exit != 0 || res.Stdout != tc.want {
			t.Errorf("%q: %s\nwant stdout %q", tc.args, res, tc.want)
		}
	}
}

func TestCompletionScriptsNameTheBinary(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "complete -o default -F __start_kubectl-demo kubectl-demo",
		"zsh":        "#compdef kubectl-demo",
		"fish":       "complete -c kubectl-demo",
		"powershell": "Register-ArgumentCompleter -CommandName 'kubectl-demo'",
	} {
		res := run(t, "completion", shell)
		if res.Exit != 0 || !strings.Contains(res.Stdout, want) {
			t.Errorf("%s: want %q in the script; %s", shell, want, res.Stderr)
		}
	}
}

func TestHintCommandKeepsTheUsersConnectionFlags(t *testing.T) {
	f := clitest.NewFactory(clitest.Options{})
	*f.ConfigFlags.Context = "edge cluster"
	*f.ConfigFlags.KubeConfig = "/tmp/k.yaml"
	*f.ConfigFlags.Namespace = "fleet-default"
	if got, want := cli.HintCommand(f, "kubectl", "regtoken", "list"), "kubectl regtoken list --kubeconfig=/tmp/k.yaml '--context=edge cluster' --namespace=fleet-default"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := cli.HintCommand(f, "kubectl", "regtoken", "delete", "x", "-n", "other"), "kubectl regtoken delete x -n other --kubeconfig=/tmp/k.yaml '--context=edge cluster'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
