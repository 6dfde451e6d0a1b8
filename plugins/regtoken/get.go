package regtoken

import (
	"context"
	"fmt"
	"sort"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
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
			kubectl regtoken list. The token value itself is never shown: it is
			in the values Secret, which kubectl regtoken values writes to a file.

			The table is followed by the clusters registered with the token: the
			ClusterRegistrations labelled fleet.cattle.io/registration-token=NAME
			(REQUEST, CLIENT-ID, CLUSTER, GRANTED, AGE). fleet-agents older than
			v0.16 leave no such label, so their registrations cannot be listed.

			-o json|yaml|name|jsonpath|go-template print a List, as kubectl get
			does for several objects: the token first, then its
			ClusterRegistrations oldest first, each as the server stores it. When
			the registrations cannot be read, the List holds the token alone and
			a note on stderr says why.`),
		Example: templates.Examples(`
			# Is the token's values Secret ready, and when does it expire?
			kubectl regtoken get my-cluster -n fleet-default -o wide

			# The token and its registrations as stored
			kubectl regtoken get my-cluster -n fleet-default -o yaml

			# Only the token's values Secret name
			kubectl regtoken get my-cluster -n fleet-default -o jsonpath='{.items[0].status.secretName}'`),
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
		list, err := o.withRegistrations(ctx, obj)
		if err != nil {
			return err
		}
		return o.print.Print(list, printer.WithoutNamespace, o.Out)
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

// withRegistrations is the List -o prints: the token, then the
// ClusterRegistrations made with it, oldest first as in the table, each
// as the server stores it. A List of existing kinds, rather than a field
// added to the token, keeps every item an object the API serves (kubectl
// get of both kinds prints the same) and the token exactly as stored.
// Registrations that cannot be read leave the token alone in the List,
// with get's note on stderr.
func (o *GetOptions) withRegistrations(ctx context.Context, tok *unstructured.Unstructured) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	list.Items = append(list.Items, *tok)
	dyn, err := o.f.Dynamic()
	if err != nil {
		return nil, err
	}
	regs, err := dyn.Resource(fleet.RegistrationGVR).Namespace(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: fleet.TokenSelector(o.Name)})
	if err != nil {
		fmt.Fprintln(o.ErrOut, registrationsUnknown(o.Name, apierror.Wrap(err, fleet.RegistrationOp("list", o.namespace))))
		return list, nil
	}
	items := regs.Items
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].GetCreationTimestamp(), items[j].GetCreationTimestamp()
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return items[i].GetName() < items[j].GetName()
	})
	for i := range items {
		// A list's items carry no kind on the wire; each item of a List must.
		items[i].SetAPIVersion(fleet.RegistrationGVR.GroupVersion().String())
		items[i].SetKind(fleet.RegistrationKind)
	}
	list.Items = append(list.Items, items...)
	return list, nil
}
