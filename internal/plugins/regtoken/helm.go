package regtoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
	"github.com/kubectl-tokens/kubectl-tokens/internal/shellquote"
)

// HelmOptions is `kubectl regtoken helm`.
type HelmOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	install installFlags
	print   *printer.Flags

	Name      string
	namespace string
}

// NewHelmCmd builds `kubectl regtoken helm`.
func NewHelmCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HelmOptions{f: f, streams: streams, install: installFlags{writes: false}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "helm NAME [--values-file PATH] [--label KEY=VALUE]... [flags]",
		Short: "Print the helm commands that install the fleet-agent for an existing token",
		Long: templates.LongDesc(`
			Print the two helm commands (repo add, install) for an existing token,
			one per line on stdout, every value shell-quoted. The token's values
			Secret is read to see whether apiServerURL/apiServerCA must be set on
			the command line; when the CA comes from the kubeconfig it is written to
			NAME-ca.pem beside the values file. values.yaml itself is not written:
			use kubectl regtoken values for that.`),
		Example: templates.Examples(`
			# The install command for a token whose values.yaml you already have
			kubectl regtoken helm my-cluster -n fleet-default --label env=prod

			# As JSON, the argv as an array
			kubectl regtoken helm my-cluster -n fleet-default -o json`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, false),
		RunE:              cli.RunE(o),
	}
	o.install.addFlags(cmd)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete takes the name and namespace.
func (o *HelmOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	ns, _, err := o.f.Namespace()
	o.namespace = ns
	return err
}

// Validate checks every input before any request.
func (o *HelmOptions) Validate() error {
	if o.Name == "" {
		return errNoName
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	return o.install.validate()
}

// Run reads the token and its values and prints the commands.
func (o *HelmOptions) Run(ctx context.Context) error {
	client, err := tokenClient(o.f)
	if err != nil {
		return err
	}
	got, err := client.Namespace(o.namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return apierror.Wrap(err, tokenOp("get", o.namespace, o.Name))
	}
	tok, err := toToken(got)
	if err != nil {
		return err
	}
	if tok.Status.SecretName == "" {
		return fmt.Errorf("%s %q in namespace %q has no values yet (status.secretName is empty): wait for them with kubectl regtoken values %s -n %s", kind, o.Name, o.namespace, o.Name, o.namespace)
	}
	secret, err := getValuesSecret(ctx, o.f, tok)
	if err != nil {
		return err
	}
	res, err := o.install.finish(o.f, tok, secret)
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintf(o.streams.ErrOut, "note: %s\n", n)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.streams.ErrOut, "warning: %s\n", w)
	}
	if o.print.Output() != "" {
		return o.print.Print(res, false, o.streams.Out)
	}
	fmt.Fprintln(o.streams.Out, shellquote.Join(res.HelmRepoAdd))
	fmt.Fprintln(o.streams.Out, shellquote.Join(res.Helm))
	return nil
}
