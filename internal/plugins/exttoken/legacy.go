package exttoken

import (
	"context"
	"fmt"
	"io"
	"sort"
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

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

const legacyResource = "token.management.cattle.io"

// NewLegacyCmd builds `kubectl exttoken legacy` and its subcommands.
func NewLegacyCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "legacy",
		Short: "Audit and clean up legacy v3 tokens (tokens.management.cattle.io)",
		Long: templates.LongDesc(`
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
	cmd.AddCommand(NewLegacyListCmd(f, streams), NewLegacyDeleteCmd(f, streams))
	return cmd
}

// legacyPrefixes are the name prefixes Rancher gives its system-made v3
// tokens (docs/rancher-tokens.md §7), longest first.
var legacyPrefixes = []string{"kubectl-shell", "compose-token", "helm-token", "drain-node", "kubeconfig", "telemetry", "pipeline", "agent"}

// legacyToken is a v3 token without its secret.
type legacyToken struct {
	obj         *unstructured.Unstructured
	Name, User  string
	Kind        string
	TTL         int64
	Description string
	Cluster     string
	Created     time.Time
	LastUsed    time.Time
}

// stripLegacySecrets removes what must never be printed: the token
// itself and providerInfo (which carries OIDC access tokens).
func stripLegacySecrets(u *unstructured.Unstructured) {
	unstructured.RemoveNestedField(u.Object, "token")
	unstructured.RemoveNestedField(u.Object, "providerInfo")
}

func legacyFrom(u *unstructured.Unstructured) legacyToken {
	stripLegacySecrets(u)
	t := legacyToken{obj: u, Name: u.GetName(), Created: u.GetCreationTimestamp().Time}
	t.User, _, _ = unstructured.NestedString(u.Object, "userId")
	if t.User == "" {
		t.User = u.GetLabels()[labelV3UserID]
	}
	t.TTL, _, _ = unstructured.NestedInt64(u.Object, "ttl")
	t.Description, _, _ = unstructured.NestedString(u.Object, "description")
	t.Cluster, _, _ = unstructured.NestedString(u.Object, "clusterName")
	t.LastUsed = parseTime(u, "lastUsedAt")
	derived, _, _ := unstructured.NestedBool(u.Object, "isDerived")
	t.Kind = legacyKind(u.GetName(), u.GetLabels()[labelKind], derived)
	return t
}

// legacyKind is the kind label, else the name prefix, else session or
// derived from isDerived.
func legacyKind(name, label string, derived bool) string {
	if label != "" {
		return label
	}
	for _, p := range legacyPrefixes {
		if strings.HasPrefix(name, p+"-") {
			return p
		}
	}
	if !derived {
		return "session"
	}
	return "derived"
}

// never: v3 ttl 0 means the token never expires.
func (t legacyToken) never() bool { return t.TTL == 0 }

func (t legacyToken) expiresAt() (time.Time, bool) {
	if t.never() {
		return time.Time{}, false
	}
	return expiry(t.Created, t.TTL)
}

// expired is computed: the stored field is not maintained (#24342).
func (t legacyToken) expired(now time.Time) bool {
	at, ok := t.expiresAt()
	return ok && !now.Before(at)
}

// legacySelection is the filter both legacy commands share.
type legacySelection struct {
	NeverExpiring bool
	Expired       bool
	Kind          string
	User          string
	ChunkSize     int64
}

func (s *legacySelection) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&s.NeverExpiring, "never-expiring", false, "Only tokens with ttl 0, which never expire.")
	cmd.Flags().BoolVar(&s.Expired, "expired", false, "Only expired tokens (creation time + ttl has passed; the stored expired field is stale).")
	cmd.Flags().StringVar(&s.Kind, "kind", "", "Only tokens of this kind (label authn.management.cattle.io/kind or name prefix), e.g. kubectl-shell.")
	cmd.Flags().StringVar(&s.User, "user-id", "", "Only tokens of this Rancher user ID.")
	cmd.Flags().Int64Var(&s.ChunkSize, "chunk-size", defaultChunkSize, "List in pages of this many tokens; 0 fetches all at once.")
}

func (s *legacySelection) validate() error {
	if s.NeverExpiring && s.Expired {
		return fmt.Errorf("--never-expiring and --expired exclude each other: a ttl-0 token never expires")
	}
	if s.ChunkSize < 0 {
		return fmt.Errorf("invalid --chunk-size %d: use a positive number, or 0 to fetch everything at once", s.ChunkSize)
	}
	return nil
}

func (s *legacySelection) keep(t legacyToken, now time.Time) bool {
	switch {
	case s.NeverExpiring && !t.never(),
		s.Expired && !t.expired(now),
		s.Kind != "" && t.Kind != s.Kind,
		s.User != "" && t.User != s.User:
		return false
	}
	return true
}

// list fetches the selected v3 tokens page by page, secrets stripped as
// each page arrives.
func (s *legacySelection) list(ctx context.Context, f cli.Clients, now time.Time) ([]legacyToken, string, error) {
	ri, err := dynamicFor(f, legacyGVR)
	if err != nil {
		return nil, "", err
	}
	var out []legacyToken
	opts := metav1.ListOptions{Limit: s.ChunkSize}
	if s.User != "" {
		opts.LabelSelector = labelV3UserID + "=" + s.User
	}
	for {
		page, err := ri.List(ctx, opts)
		if err != nil {
			return nil, "", wrapLegacy(err, "list", "")
		}
		for i := range page.Items {
			t := legacyFrom(&page.Items[i])
			if s.keep(t, now) {
				out = append(out, t)
			}
		}
		if opts.Continue = page.GetContinue(); opts.Continue == "" {
			return out, page.GetResourceVersion(), nil
		}
	}
}

// LegacyListOptions is `kubectl exttoken legacy list`.
type LegacyListOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	print   *printer.Flags
	sel     legacySelection
}

// NewLegacyListCmd builds `kubectl exttoken legacy list`.
func NewLegacyListCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LegacyListOptions{f: f, streams: streams, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [--never-expiring] [--expired] [--kind K] [-o wide|json|yaml|name]",
		Aliases: []string{"ls"},
		Short:   "List legacy v3 tokens with computed expiry, never their secret",
		Long: templates.LongDesc(`
			List v3 tokens: NAME, USER, KIND (the authn.management.cattle.io/kind
			label, else the name prefix: kubectl-shell, agent, compose-token,
			helm-token, telemetry, drain-node, kubeconfig, ...), TTL ("never" for 0),
			EXPIRES, EXPIRED (computed from creation time and ttl, because Rancher
			does not keep the stored field current), LAST-USED and DESCRIPTION;
			-o wide adds AGE and CLUSTER.

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
	o.sel.addFlags(cmd)
	o.print.AddFlags(cmd)
	return cmd
}

// Complete has nothing to resolve: the resource is cluster-scoped.
func (o *LegacyListOptions) Complete(_ *cobra.Command, _ []string) error { return nil }

// Validate checks -o and the selection flags.
func (o *LegacyListOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	return o.sel.validate()
}

// Run lists and prints.
func (o *LegacyListOptions) Run(ctx context.Context) error {
	now := time.Now()
	tokens, rv, err := o.sel.list(ctx, o.f, now)
	if err != nil {
		return err
	}
	if !o.print.IsTable() {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": rv}}}
		for _, t := range tokens {
			list.Items = append(list.Items, *t.obj)
		}
		return o.print.Print(list, false, o.streams.Out)
	}
	if len(tokens) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No v3 tokens found.")
		return nil
	}
	cols := []printer.Column{{Name: "NAME"}, {Name: "USER"}, {Name: "KIND"}, {Name: "TTL"}, {Name: "EXPIRES"}, {Name: "EXPIRED"},
		{Name: "LAST-USED"}, {Name: "DESCRIPTION"}, {Name: "AGE", Wide: true}, {Name: "CLUSTER", Wide: true}}
	var rows [][]any
	var objs []runtime.Object
	for _, t := range tokens {
		ttl := "never"
		if !t.never() {
			ttl = humanTTL(t.TTL)
		}
		at, ok := t.expiresAt()
		rows = append(rows, []any{t.Name, t.User, t.Kind, ttl, humanExpires(at, ok, now), strconv.FormatBool(t.expired(now)),
			humanAgo(t.LastUsed, now), t.Description, humanAge(t.Created, now), t.Cluster})
		objs = append(objs, t.obj)
	}
	if err := o.print.Print(printer.NewTable(cols, rows, objs), false, o.streams.Out); err != nil {
		return err
	}
	if !o.print.NoHeaders {
		neverSummary(o.streams.Out, tokens)
	}
	return nil
}

// neverSummary counts never-expiring tokens by kind/prefix.
func neverSummary(w io.Writer, tokens []legacyToken) {
	counts := map[string]int{}
	total := 0
	for _, t := range tokens {
		if t.never() {
			counts[t.Kind]++
			total++
		}
	}
	fmt.Fprintln(w)
	if total == 0 {
		fmt.Fprintln(w, "Never-expiring tokens (ttl 0): none")
		return
	}
	fmt.Fprintf(w, "Never-expiring tokens (ttl 0): %d\n", total)
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if counts[kinds[i]] != counts[kinds[j]] {
			return counts[kinds[i]] > counts[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-16s %d\n", k, counts[k])
	}
	fmt.Fprintln(w, "Review them, then: kubectl exttoken legacy delete --never-expiring [--kind KIND] --dry-run")
}

// LegacyDeleteOptions is `kubectl exttoken legacy delete`.
type LegacyDeleteOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	sel     legacySelection
	DryRun  string
	Names   []string
}

// NewLegacyDeleteCmd builds `kubectl exttoken legacy delete`.
func NewLegacyDeleteCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LegacyDeleteOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "delete NAME... | --never-expiring | --expired [--kind K] [--dry-run]",
		Short: "Delete legacy v3 tokens by name, or all never-expiring or expired ones",
		Long: templates.LongDesc(`
			Delete v3 tokens by name, or every never-expiring (ttl 0) or expired
			token, optionally only of one --kind or --user-id. Deletion is item by
			item with a UID precondition, so a token recreated meanwhile under the
			same name is left alone. Deleting a session token logs its user out;
			deleting an agent token can disconnect a cluster: review with --dry-run
			first.`),
		Example: templates.Examples(`
			# What would go
			kubectl exttoken legacy delete --never-expiring --dry-run

			# Only the old kubectl-shell tokens
			kubectl exttoken legacy delete --never-expiring --kind kubectl-shell

			# One token by name
			kubectl exttoken legacy delete kubectl-shell-u-abcde`),
		ValidArgsFunction: completeNames(f, legacyGVR, false),
		RunE:              cli.RunE(o),
	}
	o.sel.addFlags(cmd)
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	return cmd
}

// Complete takes the names.
func (o *LegacyDeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return nil
}

// Validate requires names or a selection, not both.
func (o *LegacyDeleteOptions) Validate() error {
	if err := o.sel.validate(); err != nil {
		return err
	}
	selected := o.sel.NeverExpiring || o.sel.Expired
	if !selected && (o.sel.Kind != "" || o.sel.User != "") {
		return fmt.Errorf("--kind and --user-id narrow --never-expiring or --expired: pass one of those too")
	}
	return validateDelete(o.Names, selected, "--never-expiring or --expired", o.DryRun, o.sel.ChunkSize, func(n string) error {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return fmt.Errorf("invalid v3 token name %q (%s); list them with kubectl exttoken legacy list", n, errs[0])
		}
		return nil
	})
}

// Run deletes.
func (o *LegacyDeleteOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, legacyGVR)
	if err != nil {
		return err
	}
	var targets []target
	for _, n := range o.Names {
		targets = append(targets, target{name: n})
	}
	if len(o.Names) == 0 {
		tokens, _, err := o.sel.list(ctx, o.f, time.Now())
		if err != nil {
			return err
		}
		for _, t := range tokens {
			targets = append(targets, target{name: t.Name, uid: t.obj.GetUID()})
		}
		if len(targets) == 0 {
			fmt.Fprintln(o.streams.ErrOut, "No matching v3 tokens found.")
			return nil
		}
	}
	d := deleter{
		streams: o.streams, resource: legacyResource, dryRun: o.DryRun,
		del: func(ctx context.Context, t target, opts metav1.DeleteOptions) error {
			return wrapLegacy(ri.Delete(ctx, t.name, opts), "delete", t.name)
		},
	}
	return d.run(ctx, targets)
}
