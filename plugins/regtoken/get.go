package regtoken

import (
	"context"
	"fmt"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// GetOptions is `kubectl regtoken get`.
type GetOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	tokenRef
}

// NewCmdGet builds `kubectl regtoken get`.
func NewCmdGet(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "get NAME [-o wide|json|yaml|name]",
		Short: "Show one registration token",
		Long: cli.LongDesc(`
			Show one Fleet ClusterRegistrationToken with the columns of
			kubectl regtoken list, or the whole object with -o yaml/json. The token
			value itself is never shown: it is in the values Secret, which
			kubectl regtoken values writes to a file.

			The table is followed by the clusters registered with the token: the
			ClusterRegistrations labelled fleet.cattle.io/registration-token=NAME
			(REQUEST, CLIENT-ID, CLUSTER, GRANTED, AGE). fleet-agents older than
			v0.16 leave no such label, so their registrations cannot be listed.`),
		Example: templates.Examples(`
			# Is the token's values Secret ready, and when does it expire?
			kubectl regtoken get my-cluster -n fleet-default -o wide

			# The object as stored
			kubectl regtoken get my-cluster -n fleet-default -o yaml`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	o.print.AddFlags(cmd)
	return cmd
}

// Complete resolves the name, namespace and client.
func (o *GetOptions) Complete(_ *cobra.Command, args []string) error {
	return o.complete(o.f, args)
}

// Validate checks the name and -o.
func (o *GetOptions) Validate() error {
	if o.Name == "" {
		return fleet.ErrNoName
	}
	return o.print.Validate()
}

// Run gets and prints.
func (o *GetOptions) Run(ctx context.Context) error {
	_, obj, err := fleet.GetToken(ctx, o.tokens, o.f, o.namespace, o.Name)
	if err != nil {
		return err
	}
	if !o.print.IsTable() {
		return o.print.Print(obj, printer.WithoutNamespace, o.Out)
	}
	table, err := tokenTable([]unstructured.Unstructured{*obj}, fleet.Now())
	if err != nil {
		return err
	}
	if err := o.print.Print(table, printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return o.printRegistrations(ctx)
}

// printRegistrations lists the registrations made with the token, after
// a blank line; none, or none known, is said on stderr.
func (o *GetOptions) printRegistrations(ctx context.Context) error {
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	table, note, _ := registrationsTable(ctx, dyn, o.namespace, o.Name, fleet.Now())
	if table == nil {
		fmt.Fprintln(o.ErrOut, note)
		return nil
	}
	fmt.Fprintln(o.Out)
	return o.print.Print(table, printer.WithoutNamespace, o.Out)
}
