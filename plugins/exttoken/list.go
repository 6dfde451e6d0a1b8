package exttoken

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// ListOptions is `kubectl exttoken list`.
type ListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Selection  tokenSelection
	ChunkSize  int64
	ShowExpiry bool
	FailIfAny  bool

	tokens tokenClient
	rest   rest.Interface // the server's tables
	now    time.Time
}

// NewCmdList builds `kubectl exttoken list`.
func NewCmdList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-o wide|json|yaml|name] [--user-id ID] [--kind K] [--expired] [--never-expiring] [--older-than D] [--unused-for D] [--expiring-within D [--fail-if-any]] [-l SELECTOR] [--show-expiry]",
		Aliases: []string{"ls"},
		Short:   "List Rancher tokens with the server's own columns",
		Long: cli.LongDesc(`
			List Rancher tokens (tokens.ext.cattle.io). Administrators see every
			user's tokens, everyone else only their own: Rancher filters on the
			server, and this command never asks for another user's tokens by label.

			The table is the server's own, fetched as kubectl get fetches it, so
			"kubectl exttoken list" and "kubectl get tokens.ext.cattle.io" print the
			same rows: NAME KIND TTL AGE, and with -o wide USER and DESCRIPTION too.
			--show-expiry prints a table computed from the tokens instead, adding
			EXPIRES, EXPIRED, ENABLED, CURRENT (the token this request authenticated
			with) and LAST-USED, which the server's table lacks.

			--expired, --never-expiring and --expiring-within filter on the expiry
			computed from creation time and TTL, --older-than on creation,
			--unused-for on last use (never-used tokens count from creation).
			--user-id filters by owner: on the server for administrators, otherwise
			on what the server returned. The flags combine (a token must match
			all) and are the same as delete's, so a list shows exactly what a
			delete with the same flags would remove. Large lists are fetched in
			pages of --chunk-size, as kubectl does.

			For monitoring, --fail-if-any makes the exit code 3 when any token is
			shown (0 when none is, 1 on errors), e.g. with --expiring-within 7d in
			a cron job or a CI step.`),
		Example: templates.Examples(`
			# Your tokens (all tokens for an administrator)
			kubectl exttoken list

			# Owner and description too: the same rows as kubectl get -o wide
			kubectl exttoken list -o wide

			# When do they expire, are they enabled, were they used
			kubectl exttoken list --show-expiry

			# Expired tokens waiting to be pruned
			kubectl exttoken list --expired

			# Kubeconfig tokens that expire within a week, as YAML
			kubectl exttoken list --kind kubeconfig --expiring-within 7d -o yaml

			# Alert (exit 3) when a token expires within 7 days or has expired
			kubectl exttoken list --expiring-within 7d --fail-if-any`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	o.Selection.addFlags(cmd, listSelection)
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "token")
	cmd.Flags().BoolVar(&o.ShowExpiry, "show-expiry", false, "Print EXPIRES, EXPIRED, ENABLED, CURRENT and LAST-USED computed from the tokens instead of the server's table.")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete parses the selection and builds the clients.
func (o *ListOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.now = now()
	if err := o.Selection.complete(cmd); err != nil {
		return err
	}
	var err error
	if o.tokens, err = newTokenClient(o.f); err != nil {
		return err
	}
	if o.print.IsTable() {
		if o.rest, err = tokensREST(o.f); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks flags before anything is sent.
func (o *ListOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	if err := cli.ValidateChunkSize(o.ChunkSize); err != nil {
		return err
	}
	if o.ShowExpiry && !o.print.IsTable() {
		return fmt.Errorf("--show-expiry is a table: drop -o %s or --show-expiry", o.print.Output())
	}
	return o.Selection.validate()
}

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	selector := o.Selection.serverSelector(ctx, o.f)
	switch {
	case o.print.IsTable() && !o.ShowExpiry:
		return o.serverTable(ctx, selector)
	case o.print.IsTable():
		return o.expiryTable(ctx, selector)
	}
	var items []unstructured.Unstructured
	err := o.tokens.each(ctx, selector, o.ChunkSize, func(u *unstructured.Unstructured) error {
		if o.Selection.keep(tokenFrom(u), o.now) {
			items = append(items, *u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}, Items: items}
	if err := o.print.Print(list, printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(items), "tokens")
}

// expiryTable is --show-expiry: the tokens' pages decoded into the fields
// the table shows (listdecode.go), filtered, then the table.
func (o *ListOptions) expiryTable(ctx context.Context, selector string) error {
	toks, err := o.listTokenItems(ctx, selector)
	if err != nil {
		return err
	}
	toks = slices.DeleteFunc(toks, func(t extToken) bool { return !o.Selection.keep(t, o.now) })
	if len(toks) == 0 {
		return o.none()
	}
	if err := o.print.Print(expiryTable(toks, o.now), printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(toks), "tokens")
}

func (o *ListOptions) none() error {
	fmt.Fprintln(o.ErrOut, noneFound("tokens", o.Selection.selects()))
	return nil
}

// noneFound is the line for an empty list: "No matching tokens found."
// when a selection left nothing, "No tokens found." when there are none.
func noneFound(what string, selected bool) string {
	if selected {
		return "No matching " + what + " found."
	}
	return "No " + what + " found."
}

func (o *ListOptions) serverTable(ctx context.Context, selector string) error {
	needsObjects := o.Selection.needsObjects()
	t, err := fetchTable(ctx, o.rest, o.tokens, tableQuery{LabelSelector: selector, ChunkSize: o.ChunkSize, IncludeObject: needsObjects})
	if err != nil {
		return err
	}
	if needsObjects {
		rows := t.Rows[:0]
		for _, row := range t.Rows {
			if tok, ok := rowItem(row.Object.Raw); ok && o.Selection.keep(tok, o.now) {
				// The whole token (its hash included) goes; the printer
				// needs only the name.
				row.Object = runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: tok.Name}}}
				rows = append(rows, row)
			}
		}
		t.Rows = rows
	}
	if len(t.Rows) == 0 {
		return o.none()
	}
	if err := o.print.Print(t, printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(t.Rows), "tokens")
}

// expiryTable is the --show-expiry view, computed from the tokens.
func expiryTable(toks []extToken, now time.Time) *metav1.Table {
	cols := []printer.Column{{Name: "NAME"}, {Name: "USER", Wide: true}, {Name: "KIND"}, {Name: "TTL"}, {Name: "AGE"},
		{Name: "EXPIRES"}, {Name: "EXPIRED"}, {Name: "ENABLED"}, {Name: "CURRENT"}, {Name: "LAST-USED"}, {Name: "DESCRIPTION", Wide: true}}
	rows := make([][]any, 0, len(toks))
	for _, t := range toks {
		at, ok := t.expiresAt()
		rows = append(rows, []any{t.Name, printer.Cell(t.UserID), printer.Cell(t.Kind), humanTTL(t.TTL), humanAge(t.Created, now),
			humanExpires(at, ok, now), strconv.FormatBool(t.expired(now)), strconv.FormatBool(t.Enabled), strconv.FormatBool(t.Current), humanAgo(t.LastUsed, now), printer.Cell(t.Description)})
	}
	return printer.NewTable(cols, rows, nil)
}

func humanAge(created, now time.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(created))
}

// isRancherAdmin asks, as Rancher does, whether the caller may list every
// resource: then the server returns everyone's tokens.
func isRancherAdmin(ctx context.Context, f cli.Clients) (bool, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return false, err
	}
	ssar := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"verb": "list", "resource": "*"}},
	}}
	res, err := dyn.Resource(schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}).
		Create(ctx, ssar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	allowed, _, _ := unstructured.NestedBool(res.Object, "status", "allowed")
	return allowed, nil
}
