package clitest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// newRoot is a plugin with one command that lists Secrets, the shape of
// a real command: clients from cli.Clients, errors returned.
func newRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(cli.Plugin{Name: "demo", Short: "A demo plugin"}, streams, f)
	root.AddCommand(&cobra.Command{
		Use:   "secrets",
		Short: "List Secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, _, err := f.Namespace()
			if err != nil {
				return err
			}
			core, _ := f.CoreV1()
			list, err := core.Secrets(ns).List(cmd.Context(), metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, s := range list.Items {
				fmt.Fprintln(streams.Out, s.Name)
			}
			return nil
		},
	})
	return root
}

func TestRunRecordsRequestsAndHonoursNamespaceFlag(t *testing.T) {
	f := clitest.NewFactory(clitest.Options{Core: []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "other"}},
	}})
	res := clitest.Run(t, newRoot, f, "", "secrets", "-n", "other")
	if res.Exit != 0 || res.Stdout != "b\n" || res.Stderr != "" {
		t.Fatalf("got %s", res)
	}
	if want := []string{"list secrets other"}; !slices.Equal(f.Requests(), want) {
		t.Errorf("requests %q, want %q", f.Requests(), want)
	}
}

func TestRunTurnsErrorsIntoOneLineAndExitOne(t *testing.T) {
	res := clitest.Run(t, newRoot, clitest.NewFactory(clitest.Options{}), "", "secrets", "extra")
	if res.Exit != 1 || res.Stdout != "" || res.Stderr == "" {
		t.Fatalf("got %s", res)
	}
}

func TestGoldenHelp(t *testing.T) {
	res := clitest.Run(t, newRoot, clitest.NewFactory(clitest.Options{}), "", "secrets", "--help")
	clitest.Golden(t, "secrets-help", res.Stdout)
}
