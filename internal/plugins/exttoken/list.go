package exttoken

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

// defaultChunkSize is kubectl's --chunk-size default.
const defaultChunkSize = 500

// ListOptions is `kubectl exttoken list`.
type ListOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	print   *printer.Flags

	User           string
	Kind           string
	kindSet        bool
	Expired        bool
	ExpiringWithin string
	Selector       string
	ChunkSize      int64
	ShowExpiry     bool

	within   time.Duration
	selector string // what is sent: -l plus --kind (never a user ID)
	now      time.Time
}

// NewListCmd builds `kubectl exttoken list`.
func NewListCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{f: f, streams: streams, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-o wide|json|yaml|name] [--user ID] [--kind K] [--expired] [--expiring-within D] [-l SELECTOR] [--show-expiry]",
		Aliases: []string{"ls"},
		Short:   "List Rancher tokens with the server's own columns",
		Long: templates.LongDesc(`
			List Rancher tokens (tokens.ext.cattle.io). Administrators see every
			user's tokens, everyone else only their own: Rancher filters on the
			server, and this command never asks for another user's tokens by label.

			The table is the server's own, fetched as kubectl get fetches it, so
			"kubectl exttoken list" and "kubectl get tokens.ext.cattle.io" print the
			same rows: NAME KIND TTL AGE, and with -o wide USER and DESCRIPTION too.
			--show-expiry prints a table computed from the tokens instead, adding
			EXPIRES, EXPIRED, ENABLED and LAST-USED, which the server's table lacks.

			--expired and --expiring-within filter on the expiry computed from
			creation time and TTL. --user filters by owner: on the server for
			administrators, otherwise on what the server returned. Large lists are
			fetched in pages of --chunk-size, as kubectl does.`),
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
			kubectl exttoken list --kind kubeconfig --expiring-within 7d -o yaml`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.User, "user-id", "", "Only tokens of this Rancher user ID (spec.userID).")
	fl.StringVar(&o.Kind, "kind", "", "Only tokens of this kind (spec.kind, e.g. session, kubeconfig).")
	fl.BoolVar(&o.Expired, "expired", false, "Only expired tokens.")
	fl.StringVar(&o.ExpiringWithin, "expiring-within", "", "Only tokens that are not expired yet but expire within this duration (e.g. 7d).")
	fl.StringVarP(&o.Selector, "selector", "l", "", "Label selector, e.g. -l team=ci (non-admins on Rancher up to 2.15.0: key=value terms only).")
	fl.Int64Var(&o.ChunkSize, "chunk-size", defaultChunkSize, "Fetch large lists in pages of this many tokens; 0 fetches all at once.")
	fl.BoolVar(&o.ShowExpiry, "show-expiry", false, "Print EXPIRES, EXPIRED, ENABLED and LAST-USED computed from the tokens instead of the server's table.")
	o.print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"session", "kubeconfig"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// Complete parses durations and builds the selector that is sent.
func (o *ListOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.now = time.Now()
	o.kindSet = cmd.Flags().Changed("kind")
	if o.ExpiringWithin != "" {
		ms, err := ParseTTL(o.ExpiringWithin)
		if err != nil || ms <= 0 {
			return fmt.Errorf("invalid --expiring-within %q: use a duration such as 12h or 7d", o.ExpiringWithin)
		}
		o.within = time.Duration(ms) * time.Millisecond
	}
	return nil
}

// Validate checks flags and the selector before anything is sent.
func (o *ListOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	if o.ChunkSize < 0 {
		return fmt.Errorf("invalid --chunk-size %d: use a positive number, or 0 to fetch everything at once", o.ChunkSize)
	}
	if o.Expired && o.ExpiringWithin != "" {
		return fmt.Errorf("--expired and --expiring-within exclude each other: expiring tokens are not expired yet")
	}
	if o.ShowExpiry && !o.print.IsTable() {
		return fmt.Errorf("--show-expiry is a table: drop -o %s or --show-expiry", o.print.Output())
	}
	sel, err := userSelector(o.Selector)
	if err != nil {
		return err
	}
	if o.kindSet {
		if errs := validation.IsValidLabelValue(o.Kind); len(errs) > 0 {
			return fmt.Errorf("invalid --kind %q: %s", o.Kind, errs[0])
		}
		sel = joinSelector(sel, labelKind+"="+o.Kind)
	}
	o.selector = sel
	return nil
}

// userSelector parses -l and refuses cattle.io/user-id terms: Rancher up to
// 2.15.0 passes another user's ID through and returns their tokens to a
// non-admin (docs/rancher-tokens.md §3 note 3). --user-id is the way.
func userSelector(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid label selector %q: %s", s, apierror.OneLine(err.Error()))
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() == labelUserID {
			return "", fmt.Errorf("label selector %q names %s: use --user-id, which never asks Rancher for another user's tokens", s, labelUserID)
		}
	}
	return sel.String(), nil
}

func joinSelector(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// keep applies the client-side filters to one token.
func (o *ListOptions) keep(t extToken) bool {
	if o.User != "" && t.UserID != o.User {
		return false
	}
	if o.kindSet && t.Kind != o.Kind {
		return false
	}
	at, ok := t.expiresAt()
	if o.Expired && !(ok && !o.now.Before(at)) {
		return false
	}
	if o.within > 0 && !(ok && at.After(o.now) && !at.After(o.now.Add(o.within))) {
		return false
	}
	return true
}

// needsObjects: filters that need the spec rather than row metadata.
func (o *ListOptions) needsObjects() bool { return o.Expired || o.within > 0 || o.User != "" }

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	selector := o.selector
	if o.User != "" {
		// An administrator's server can filter by owner; for anyone else
		// the server already returns only their own tokens, and sending
		// another user's ID is what leaks on older Rancher.
		if admin, _ := isRancherAdmin(ctx, o.f); admin {
			selector = joinSelector(selector, labelUserID+"="+o.User)
		}
	}
	if o.print.IsTable() && !o.ShowExpiry {
		return o.serverTable(ctx, selector)
	}
	ri, err := dynamicFor(o.f, tokensGVR)
	if err != nil {
		return err
	}
	var items []unstructured.Unstructured
	rv, err := listTokens(ctx, ri, selector, o.ChunkSize, func(u *unstructured.Unstructured) error {
		if o.keep(tokenFrom(u)) {
			items = append(items, *u)
		}
		return nil
	})
	if err != nil {
		return wrapToken(err, "list", "")
	}
	if !o.print.IsTable() {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": rv}}, Items: items}
		return o.print.Print(list, false, o.streams.Out)
	}
	if len(items) == 0 {
		return o.none()
	}
	return o.print.Print(expiryTable(items, o.now), false, o.streams.Out)
}

func (o *ListOptions) none() error {
	fmt.Fprintln(o.streams.ErrOut, "No tokens found.")
	return nil
}

func (o *ListOptions) serverTable(ctx context.Context, selector string) error {
	rc, err := tokensREST(o.f)
	if err != nil {
		return err
	}
	t, err := fetchTable(ctx, rc, tableQuery{LabelSelector: selector, ChunkSize: o.ChunkSize, IncludeObject: o.needsObjects()})
	if err != nil {
		return err
	}
	if o.needsObjects() {
		rows := t.Rows[:0]
		for _, row := range t.Rows {
			if u, ok := rowToken(row); ok && o.keep(tokenFrom(u)) {
				rows = append(rows, row)
			}
		}
		t.Rows = rows
	}
	if len(t.Rows) == 0 {
		return o.none()
	}
	return o.print.Print(t, false, o.streams.Out)
}

// expiryTable is the --show-expiry view, computed from the tokens.
func expiryTable(items []unstructured.Unstructured, now time.Time) *metav1.Table {
	cols := []printer.Column{{Name: "NAME"}, {Name: "USER", Wide: true}, {Name: "KIND"}, {Name: "TTL"}, {Name: "AGE"},
		{Name: "EXPIRES"}, {Name: "EXPIRED"}, {Name: "ENABLED"}, {Name: "LAST-USED"}, {Name: "DESCRIPTION", Wide: true}}
	var rows [][]any
	var objs []runtime.Object
	for i := range items {
		t := tokenFrom(&items[i])
		at, ok := t.expiresAt()
		rows = append(rows, []any{t.Name, t.UserID, t.Kind, humanTTL(t.TTL), humanAge(t.Created, now),
			humanExpires(at, ok, now), strconv.FormatBool(t.expired(now)), strconv.FormatBool(t.Enabled), humanAgo(t.LastUsed, now), t.Description})
		objs = append(objs, &items[i])
	}
	return printer.NewTable(cols, rows, objs)
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
