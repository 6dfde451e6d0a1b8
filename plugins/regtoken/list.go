package regtoken

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// ListOptions is `kubectl regtoken list`.
type ListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	AllNamespaces  bool
	ChunkSize      int64
	ExpiringWithin string
	FailIfAny      bool

	namespace string
	within    time.Duration // --expiring-within, when ExpiringWithin is given
	tokens    dynamic.ResourceInterface
	dyn       dynamic.Interface
}

// NewCmdList builds `kubectl regtoken list`.
func NewCmdList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-A] [-o wide|json|yaml|name] [--expiring-within D [--fail-if-any]]",
		Aliases: []string{"ls"},
		Short:   "List registration tokens with their expiry and whether their values are ready",
		Long: cli.LongDesc(`
			List the Fleet ClusterRegistrationTokens of a namespace (or all with -A).

			Columns: NAME, TTL (spec.ttl), EXPIRES (relative, "never" or "expired"),
			SECRET and AGE. SECRET is "ready" when the values Secret the token's
			status names exists, "pending" until the controller has written it,
			"missing" when it was deleted since, and "unknown" when Secrets cannot
			be listed (a note on stderr says why). -o wide adds SECRET-NAME,
			EXPIRES-AT (RFC3339) and REGISTERED: how many ClusterRegistrations
			carry the token's label, "?" when they cannot be listed. fleet-agent
			v0.16 and newer label theirs; older agents leave none, so their
			registrations are not counted.

			--expiring-within D shows only tokens that expire within D or have
			expired (by creationTimestamp + spec.ttl, as the Fleet controller
			judges). For monitoring, --fail-if-any makes the exit code 3 when any
			token is shown (0 when none is, 1 on errors).`),
		Example: templates.Examples(`
			# Tokens in fleet-default
			kubectl regtoken list -n fleet-default

			# Every token in the cluster, with Secret names, exact expiry and registrations
			kubectl regtoken list -A -o wide

			# A cron job's check: exit 3 when a token expires within a week
			kubectl regtoken list -A --expiring-within 7d --fail-if-any`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List tokens in all namespaces.")
	cmd.Flags().StringVar(&o.ExpiringWithin, "expiring-within", "", "Only tokens that expire within this duration (e.g. 7d) or have expired.")
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "token")
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
	if o.ExpiringWithin != "" {
		var err error
		if o.within, err = ttl.ParseWithin("--expiring-within", o.ExpiringWithin); err != nil {
			return err
		}
	}
	var err error
	if o.dyn, err = o.f.Dynamic(); err != nil {
		return err
	}
	o.tokens = o.dyn.Resource(fleet.TokenGVR).Namespace(o.namespace)
	return nil
}

// Validate checks -o and --chunk-size.
func (o *ListOptions) Validate() error {
	if err := cli.ValidateChunkSize(o.ChunkSize); err != nil {
		return err
	}
	return o.print.Validate()
}

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	if !o.print.IsTable() {
		return o.printObjects(ctx)
	}
	// The values Secrets are listed beside the tokens, not after them:
	// one round trip less on the way to the table. Their answer is used
	// only when a token names a Secret.
	secrets := make(chan secretsAnswer, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		exists, err := valuesSecrets(sctx, o.f, o.namespace, o.ChunkSize)
		secrets <- secretsAnswer{exists, err}
	}()
	toks, err := listTokenItems(ctx, o.f, o.namespace, o.ChunkSize)
	if err != nil {
		return apierror.Wrap(err, fleet.TokenOp("list", o.namespace, ""))
	}
	if o.ExpiringWithin != "" {
		toks = slices.DeleteFunc(toks, func(t fleet.Token) bool { return !expiresWithin(&t, fleet.Now(), o.within) })
	}
	if len(toks) == 0 {
		<-secrets // it was asked; its answer is not needed, but the run ends with its requests done
		what := "No ClusterRegistrationTokens found"
		if o.ExpiringWithin != "" {
			what = "No ClusterRegistrationTokens expire within " + o.ExpiringWithin
		}
		if o.AllNamespaces {
			fmt.Fprintf(o.ErrOut, "%s.\n", what)
		} else {
			fmt.Fprintf(o.ErrOut, "%s in namespace %s.\n", what, o.namespace)
		}
		return nil
	}
	table := tokenListTable(toks, fleet.Now())
	checkSecrets(o.ErrOut, table, toks, secrets)
	if o.print.Wide() {
		o.addRegistered(ctx, table, toks)
	}
	if err := o.print.Print(table, printer.Namespaces(o.AllNamespaces), o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(toks), "tokens")
}

// printObjects is -o json|yaml|name and the templates: the whole objects,
// as the dynamic client returns them.
func (o *ListOptions) printObjects(ctx context.Context) error {
	list, err := fleet.ListTokens(ctx, o.tokens, o.ChunkSize)
	if err != nil {
		return apierror.Wrap(err, fleet.TokenOp("list", o.namespace, ""))
	}
	if o.ExpiringWithin != "" {
		items := list.Items[:0]
		for i := range list.Items {
			tok, err := fleet.ToToken(&list.Items[i])
			if err != nil {
				return err
			}
			if expiresWithin(tok, fleet.Now(), o.within) {
				items = append(items, list.Items[i])
			}
		}
		list.Items = items
	}
	if err := o.print.Print(list, printer.Namespaces(o.AllNamespaces), o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(list.Items), "tokens")
}

// expiresWithin is a token that expires within d of now or has expired
// (docs/fleet-registration.md §6: creationTimestamp + ttl, never
// status.expires).
func expiresWithin(t *fleet.Token, now time.Time, d time.Duration) bool {
	at, ok := t.ExpiresAt()
	return ok && !at.After(now.Add(d))
}

// addRegistered adds -o wide's REGISTERED column: the registrations that
// carry each token's label, from one list; "?" for every row when they
// cannot be listed, with one note saying why.
func (o *ListOptions) addRegistered(ctx context.Context, table *metav1.Table, toks []fleet.Token) {
	table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{Name: "REGISTERED", Type: "string", Priority: 1})
	counts, err := countRegistrations(ctx, o.dyn, o.namespace)
	for i := range table.Rows {
		cell := "?"
		if err == nil {
			cell = fmt.Sprint(counts[toks[i].Namespace+"/"+toks[i].Name])
		}
		table.Rows[i].Cells = append(table.Rows[i].Cells, cell)
	}
	if err != nil {
		fmt.Fprintf(o.ErrOut, "note: REGISTERED is unknown: %s\n", apierror.OneLine(err.Error()))
	}
}

// secretsAnswer is the list of values Secrets, or why it failed.
type secretsAnswer struct {
	exists map[string]bool
	err    error
}

// checkSecrets corrects the SECRET column by the values Secrets that
// exist: "missing" for a token whose Secret was deleted after the
// controller wrote it, "unknown" for every ready row when Secrets cannot
// be listed (one note says why). A pending token names no Secret yet.
func checkSecrets(errOut io.Writer, table *metav1.Table, toks []fleet.Token, answer <-chan secretsAnswer) {
	named := slices.ContainsFunc(toks, func(t fleet.Token) bool { return t.Status.SecretName != "" })
	if !named {
		return
	}
	a := <-answer
	for i := range toks {
		if toks[i].Status.SecretName == "" {
			continue
		}
		switch {
		case a.err != nil:
			table.Rows[i].Cells[secretColumn] = "unknown"
		case !a.exists[toks[i].Namespace+"/"+toks[i].Status.SecretName]:
			table.Rows[i].Cells[secretColumn] = "missing"
		}
	}
	if a.err != nil {
		fmt.Fprintf(errOut, "note: SECRET is unknown: %s\n", apierror.OneLine(a.err.Error()))
	}
}

// countRegistrations counts the labelled registrations per
// namespace/token in ns ("" = all namespaces), from one list.
func countRegistrations(ctx context.Context, dyn dynamic.Interface, ns string) (map[string]int, error) {
	list, err := dyn.Resource(fleet.RegistrationGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: fleet.RegistrationLabel})
	if err != nil {
		return nil, apierror.Wrap(err, fleet.RegistrationOp("list", ns))
	}
	counts := map[string]int{}
	for _, r := range list.Items {
		counts[r.GetNamespace()+"/"+r.GetLabels()[fleet.RegistrationLabel]]++
	}
	return counts, nil
}
