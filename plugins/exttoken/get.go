package exttoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// GetOptions is `kubectl exttoken get`.
type GetOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Name string

	tokens tokenClient
	rest   rest.Interface // the server's table
}

// NewCmdGet builds `kubectl exttoken get NAME`.
func NewCmdGet(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "get NAME [-o wide|json|yaml|name]",
		Short: "Show one Rancher token (never its value)",
		Long: cli.LongDesc(`
			Show one token (tokens.ext.cattle.io) with the server's columns, or as an
			object with -o json|yaml. The value is never shown: Rancher returns it
			only when the token is created. Other users' tokens are "not found"
			unless you are an administrator.`),
		Example: templates.Examples(`
			# The server's row for a token, with owner and description
			kubectl exttoken get token-abcde -o wide

			# The whole object
			kubectl exttoken get token-abcde -o yaml`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokens(f, cli.OneName, anyToken),
		RunE:              cli.RunE(o),
	}
	o.print.AddFlags(cmd)
	return cmd
}

// Complete takes the name and builds the clients.
func (o *GetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	var err error
	if o.tokens, err = newTokenClient(o.f); err != nil {
		return err
	}
	if o.print.IsTable() {
		o.rest, err = tokensREST(o.f)
	}
	return err
}

// Validate checks -o and the name.
func (o *GetOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	return validateTokenName(o.f, o.Name)
}

// validateTokenName refuses what cannot be a token name before a request.
func validateTokenName(f cli.Clients, name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid token name %q: token names look like token-abcde (%s); list yours with %s", name, errs[0], command(f, "list"))
	}
	return nil
}

// Run prints the token.
func (o *GetOptions) Run(ctx context.Context) error {
	if o.print.IsTable() {
		t, err := fetchTable(ctx, o.rest, o.tokens, tableQuery{Name: o.Name})
		if err != nil {
			return err
		}
		return o.print.Print(t, printer.WithoutNamespace, o.Out)
	}
	u, err := o.tokens.get(ctx, o.Name)
	if err != nil {
		return err
	}
	return o.print.Print(u, printer.WithoutNamespace, o.Out)
}
