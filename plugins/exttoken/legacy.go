package exttoken

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// NewCmdLegacy builds `kubectl exttoken legacy` and its subcommands.
func NewCmdLegacy(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "legacy",
		Short: "Audit and clean up legacy v3 tokens (tokens.management.cattle.io)",
		Long: cli.LongDesc(`
			Work with Rancher's legacy v3 tokens (tokens.management.cattle.io),
			deprecated since 2.14. Old installs keep never-expiring ones (ttl 0)
			created by Rancher up to 2.5 for kubectl shells, agents, Helm and
			Compose, telemetry and node drains: the audit target.

			Their secret "token" field is stored in plaintext unless the
			token-hashing feature is on; these commands never print it, in any
			output format.`),
		Example: templates.Examples(`
			# Never-expiring v3 tokens, grouped by kind at the end
			kubectl exttoken legacy list --never-expiring

			# Remove them after review
			kubectl exttoken legacy delete --never-expiring --dry-run`),
		Args: cobra.NoArgs,
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(NewCmdLegacyList(f, streams), NewCmdLegacyDelete(f, streams))
	return cmd
}

// LegacyListOptions is `kubectl exttoken legacy list`.
type LegacyListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Selection legacySelection
	FailIfAny bool

	tokens legacyClient
	now    time.Time
}

// NewCmdLegacyList builds `kubectl exttoken legacy list`.
func NewCmdLegacyList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LegacyListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [--never-expiring] [--expired] [--kind K] [--user-id ID] [--older-than D] [--unused-for D] [--expiring-within D [--fail-if-any]] [-l SELECTOR] [-o wide|json|yaml|name]",
		Aliases: []string{"ls"},
		Short:   "List legacy v3 tokens with computed expiry, never their secret",
		Long: cli.LongDesc(`
			List v3 tokens: NAME, USER, KIND (the authn.management.cattle.io/kind
			label, else the name prefix: kubectl-shell, agent, compose-token,
			helm-token, telemetry, drain-node, kubeconfig, ...), TTL ("never" for 0),
			EXPIRES, EXPIRED (computed from creation time and ttl, because Rancher
			does not keep the stored field current), LAST-USED and DESCRIPTION;
			-o wide adds AGE and CLUSTER.

			The selection flags are legacy delete's and combine (a token must
			match all). --expiring-within D shows tokens that expire within D or
			have expired; for monitoring, --fail-if-any makes the exit code 3 when
			any token is shown (0 when none is, 1 on errors).

			After the table, never-expiring tokens are counted by kind. The secret
			"token" field (and providerInfo) is removed before any output, JSON and
			YAML included.`),
		Example: templates.Examples(`
			# Every v3 token
			kubectl exttoken legacy list

			# The never-expiring ones an audit is after
			kubectl exttoken legacy list --never-expiring

			# Expired tokens, as YAML without secrets
			kubectl exttoken legacy list --expired -o yaml`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	o.Selection.addFlags(cmd, listSelection)
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "token")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete parses the selection and builds the client.
func (o *LegacyListOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.now = now()
	if err := o.Selection.complete(cmd); err != nil {
		return err
	}
	var err error
	o.tokens, err = newLegacyClient(o.f)
	return err
}

// Validate checks -o and the selection flags.
func (o *LegacyListOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	return o.Selection.validate()
}

// Run lists and prints.
func (o *LegacyListOptions) Run(ctx context.Context) error {
	now := o.now
	tokens, err := o.Selection.list(ctx, o.tokens, now)
	if err != nil {
		return err
	}
	if !o.print.IsTable() {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		for _, t := range tokens {
			list.Items = append(list.Items, *t.obj)
		}
		if err := o.print.Print(list, printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
		return cli.FailIfAny(o.FailIfAny, len(tokens), "v3 tokens")
	}
	if len(tokens) == 0 {
		fmt.Fprintln(o.ErrOut, noneFound("v3 tokens", o.Selection.selects()))
		return nil
	}
	cols := []printer.Column{{Name: "NAME"}, {Name: "USER"}, {Name: "KIND"}, {Name: "TTL"}, {Name: "EXPIRES"}, {Name: "EXPIRED"},
		{Name: "LAST-USED"}, {Name: "DESCRIPTION"}, {Name: "AGE", Wide: true}, {Name: "CLUSTER", Wide: true}}
	var rows [][]any
	var objs []runtime.Object
	for _, t := range tokens {
		ttlText := ttl.Never
		if !t.never() {
			ttlText = humanTTL(t.TTL)
		}
		at, ok := t.expiresAt()
		rows = append(rows, []any{printer.EscapeText(t.Name), printer.Cell(t.User), printer.Cell(t.Kind), ttlText, humanExpires(at, ok, now), strconv.FormatBool(t.expired(now)),
			humanAgo(t.LastUsed, now), printer.Cell(t.Description), humanAge(t.Created, now), printer.Cell(t.Cluster)})
		objs = append(objs, t.obj)
	}
	if err := o.print.Print(printer.NewTable(cols, rows, objs), printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	if !o.print.NoHeaders {
		if _, err := io.WriteString(o.Out, neverSummary(tokens, o.f)); err != nil {
			return err
		}
	}
	return cli.FailIfAny(o.FailIfAny, len(tokens), "v3 tokens")
}

// LegacyDeleteOptions is `kubectl exttoken legacy delete`.
type LegacyDeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Selection legacySelection
	Names     []string
	prune

	tokens  legacyClient
	now     time.Time
	current string // the v3 token this kubeconfig authenticates with
}

// NewCmdLegacyDelete builds `kubectl exttoken legacy delete`.
func NewCmdLegacyDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LegacyDeleteOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "delete NAME... | [--never-expiring] [--expired] [--kind K] [--user-id ID] [--older-than D] [--unused-for D] [-l SELECTOR] [--dry-run] [-o name]",
		Short: "Delete legacy v3 tokens by name, or a selection of them",
		Long: cli.LongDesc(`
			Delete v3 tokens by name, or prune every token a selection picks:
			--never-expiring (ttl 0), --expired, --older-than D (creation),
			--unused-for D (last use; never-used tokens count from creation),
			--kind, --user-id and -l. Selection flags combine: a token must
			match all of them, and "kubectl exttoken legacy list" with the same
			flags shows exactly what would go.

			Unlike "kubectl delete -l" (one deletecollection), a prune can
			select by age and last use and deletes each token only if it is
			still the one listed (UID precondition): a token recreated
			meanwhile under the same name is left alone. It deletes while it
			lists, --parallel at once (16 by default) within a client-side
			rate limit of 50 requests per second per worker, and pauses when
			the server throttles (429). An interrupted prune is finished by
			running it again: tokens already gone count as gone, not failed.
			The v3 token this kubeconfig authenticates with is skipped.

			A prune shows progress on stderr (a bar on a terminal, a line per
			5% or 10 seconds otherwise) and ends with a summary; it exits 1 if
			any delete failed. -o name prints each deleted token instead.
			Deleting a session token logs its user out; deleting an agent
			token can disconnect a cluster: review with --dry-run first (the
			count by kind and user and the first names; every name with -o
			name).`),
		Example: templates.Examples(`
			# What would go
			kubectl exttoken legacy delete --never-expiring --dry-run

			# Every name that would go
			kubectl exttoken legacy delete --never-expiring --dry-run -o name

			# Only the old kubectl-shell tokens
			kubectl exttoken legacy delete --never-expiring --kind kubectl-shell

			# Tokens nobody used for a year
			kubectl exttoken legacy delete --unused-for 365d --dry-run

			# One token by name
			kubectl exttoken legacy delete kubectl-shell-u-abcde`),
		ValidArgsFunction: completeLegacyTokens(f),
		RunE:              cli.RunE(o),
	}
	o.Selection.addFlags(cmd, deleteSelection)
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	addPruneFlags(cmd, &o.prune)
	return cmd
}

// Complete takes the names, parses the selection and builds the client.
func (o *LegacyDeleteOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	o.now = now()
	if err := o.Selection.complete(cmd); err != nil {
		return err
	}
	o.resource = legacyResource
	o.command = command(o.f, append(append([]string{"legacy", "delete"}, selectionArgs(cmd)...), "--dry-run", "-o", "name")...)
	o.prune.f = o.f
	dyn, err := o.f.DynamicForWorkers(o.Parallel)
	if err != nil {
		return err
	}
	o.tokens = legacyClient{ri: dyn.Resource(legacyGVR), f: o.f}
	o.current = currentLegacyToken(o.f)
	return nil
}

// currentLegacyToken is the name of the v3 token this kubeconfig
// authenticates with, if it uses one: its bearer token reads
// <name>:<secret> (docs/rancher-tokens.md §7), where an ext token's reads
// ext/<name>:<value> (§6). The server does not mark v3 tokens current.
func currentLegacyToken(f cli.Clients) string {
	cfg, err := f.RESTConfig()
	if err != nil || cfg == nil || strings.HasPrefix(cfg.BearerToken, "ext/") {
		return ""
	}
	name, _, ok := strings.Cut(cfg.BearerToken, ":")
	if !ok || validation.IsDNS1123Subdomain(name) != nil {
		return ""
	}
	return name
}

// Validate requires names or a selection, not both.
func (o *LegacyDeleteOptions) Validate() error {
	if err := o.Selection.validate(); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	return validateDelete(o.Names, o.Selection.selects(), selectionFlags, o.DryRun, o.Selection.ChunkSize, func(n string) error {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return fmt.Errorf("invalid v3 token name %q (%s); list them with %s", n, errs[0], command(o.f, "legacy", "list"))
		}
		return nil
	})
}

// Run deletes the named tokens one by one, or prunes the selection.
func (o *LegacyDeleteOptions) Run(ctx context.Context) error {
	do := func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error {
		return o.tokens.delete(ctx, t.Key, opts)
	}
	if len(o.Names) > 0 {
		var targets []deleter.Target
		for _, n := range o.Names {
			targets = append(targets, deleter.Target{Name: objectName(legacyResource, n), Key: n})
		}
		d := deleter.Deleter{Out: o.Out, Verb: "deleted", DryRun: o.DryRun, Parallel: o.Parallel, Do: do}
		_, err := d.Run(ctx, targets)
		return err
	}
	return o.run(ctx, o.IOStreams, func(emit func(pruneTarget), endPage func(last bool)) error {
		return o.Selection.each(ctx, o.tokens, o.now, func(t legacyToken) {
			tg := pruneTarget{Target: deleter.Target{Name: objectName(legacyResource, t.Name), Key: t.Name, UID: t.obj.GetUID()}, kind: t.Kind, user: t.User}
			if t.Name == o.current {
				tg.Skipped = "it authenticates this request"
			}
			emit(tg)
		}, endPage)
	}, do)
}
