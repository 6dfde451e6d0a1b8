package regtoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

// ListOptions is `kubectl regtoken list`.
type ListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	AllNamespaces bool
	ChunkSize     int64

	namespace string
	tokens    dynamic.ResourceInterface
}

// NewCmdList builds `kubectl regtoken list`.
func NewCmdList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-A] [-o wide|json|yaml|name]",
		Aliases: []string{"ls"},
		Short:   "List registration tokens with their expiry and whether their values are ready",
		Long: cli.LongDesc(`
			List the Fleet ClusterRegistrationTokens of a namespace (or all with -A).

			Columns: NAME, TTL (spec.ttl), EXPIRES (relative, "never" or "expired"),
			SECRET ("ready" once the controller has written the values Secret, else
			"pending") and AGE. -o wide adds SECRET-NAME and EXPIRES-AT (RFC3339).`),
		Example: templates.Examples(`
			# Tokens in fleet-default
			kubectl regtoken list -n fleet-default

			# Every token in the cluster, with Secret names and exact expiry
			kubectl regtoken list -A -o wide`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List tokens in all namespaces.")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	o.print.AddFlags(cmd)
	return cmd
}

// Complete resolves the namespace and client.
func (o *ListOptions) Complete(_ *cobra.Command, _ []string) error {
	if !o.AllNamespaces {
		var err error
		if o.namespace, _, err = o.f.Namespace(); err != nil {
			return err
		}
	}
	client, err := tokenClient(o.f)
	if err != nil {
		return err
	}
	o.tokens = client.Namespace(o.namespace)
	return nil
}

// Validate checks -o and --chunk-size.
func (o *ListOptions) Validate() error {
	if o.ChunkSize < 0 {
		return fmt.Errorf("--chunk-size %d is negative: pass 0 for one request, or a page size", o.ChunkSize)
	}
	return o.print.Validate()
}

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	list, err := listTokens(ctx, o.tokens, o.ChunkSize)
	if err != nil {
		return apierror.Wrap(err, tokenOp("list", o.namespace, ""))
	}
	if !o.print.IsTable() {
		return o.print.Print(list, printer.Namespaces(o.AllNamespaces), o.Out)
	}
	if len(list.Items) == 0 {
		if o.AllNamespaces {
			fmt.Fprintln(o.ErrOut, "No ClusterRegistrationTokens found.")
		} else {
			fmt.Fprintf(o.ErrOut, "No ClusterRegistrationTokens found in namespace %s.\n", o.namespace)
		}
		return nil
	}
	table, err := tokenTable(list.Items, now())
	if err != nil {
		return err
	}
	return o.print.Print(table, printer.Namespaces(o.AllNamespaces), o.Out)
}
