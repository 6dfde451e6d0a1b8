package regtoken

import (
	"context"
	"fmt"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// HelmOptions is `kubectl regtoken helm`.
type HelmOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install fleet.InstallOptions
	print   *printer.Flags

	tokenRef
}

// NewCmdHelm builds `kubectl regtoken helm`.
func NewCmdHelm(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HelmOptions{IOStreams: streams, f: f, install: fleet.InstallOptions{Mode: fleet.NameValues}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "helm NAME [--values-file PATH] [--label KEY=VALUE]... [flags]",
		Short: "Print the helm commands that install the fleet-agent for an existing token",
		Long: cli.LongDesc(`
			Print the two helm commands (repo add, install) for an existing token,
			one per line on stdout, every value shell-quoted. The token's values
			Secret is read to see whether apiServerURL/apiServerCA must be set on
			the command line; when the CA comes from the kubeconfig it is written to
			NAME-ca.pem beside the values file. values.yaml itself is not written:
			use kubectl regtoken values for that. A --values-file that holds another
			token's values is refused, and so is an expired token.`),
		Example: templates.Examples(`
			# The install command for a token whose values.yaml you already have
			kubectl regtoken helm my-cluster -n fleet-default --label env=prod

			# As JSON, the argv as an array
			kubectl regtoken helm my-cluster -n fleet-default -o json`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	addInstallFlags(cmd, &o.install)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete resolves the name, namespace and clients.
func (o *HelmOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.f, args); err != nil {
		return err
	}
	return o.install.Complete(o.f)
}

// Validate checks every input before any request.
func (o *HelmOptions) Validate() error {
	if o.Name == "" {
		return fleet.ErrNoName
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	return o.install.Validate()
}

// Run reads the token and its values and prints the commands.
func (o *HelmOptions) Run(ctx context.Context) error {
	m, err := fleet.NewManager(o.f, o.namespace)
	if err != nil {
		return err
	}
	tok, _, err := m.GetToken(ctx, o.Name)
	if err != nil {
		return err
	}
	if err := fleet.RefuseExpired(o.f, tok, fleet.Now()); err != nil {
		return err
	}
	if tok.Status.SecretName == "" {
		return fmt.Errorf("%s %q in namespace %q has no values yet (status.secretName is empty): wait for them with %s", fleet.Kind, o.Name, o.namespace, fleet.Hint(o.f, "values", o.Name, "-n", o.namespace))
	}
	secret, err := m.ValuesSecret(ctx, tok)
	if err != nil {
		return err
	}
	res, err := o.install.Plan(ctx, m, tok, secret)
	if err != nil {
		return err
	}
	printNotes(o.IOStreams, res)
	if o.print.Output() != "" {
		return o.print.Print(res, printer.WithoutNamespace, o.Out)
	}
	fmt.Fprintln(o.Out, shellquote.Join(res.HelmRepoAdd))
	fmt.Fprintln(o.Out, shellquote.Join(res.Helm))
	return nil
}
