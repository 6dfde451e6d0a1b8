package regtoken

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// ClustersOptions is `kubectl regtoken clusters`.
type ClustersOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	AllNamespaces  bool
	ExpiringWithin string
	FailIfAny      bool
	NoContexts     bool

	within time.Duration
	m      *fleet.Manager
}

// NewCmdClusters builds `kubectl regtoken clusters`.
func NewCmdClusters(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ClustersOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "clusters [-A] [-o wide|json|yaml|name] [--expiring-within D [--fail-if-any]]",
		Short: "List the Fleet Clusters: mode, ready, agent check-in, what registered them, their kubeconfig context",
		Long: cli.LongDesc(`
			List the Fleet Clusters of a namespace (or all with -A), registered either
			way: by an agent with a token (MODE agent) or by enroll --mode manager
			through a kubeconfig Secret (MODE manager).

			Columns: NAME, MODE, READY (the Cluster's Ready condition),
			AGENT-LAST-SEEN (when the agent last checked in, "never" before its
			first check-in), REGISTERED-BY (token/NAME from the cluster's
			registration, secret/NAME for manager mode, "<unknown>" for agents older
			than v0.16, which leave no token label) and CONTEXT: the kubeconfig
			context whose cluster it is, found by asking every context of the
			kubeconfig (8 at once, 5s each, best effort) for its kube-system UID, the
			client ID Fleet knows the cluster by; --no-contexts skips that.
			-o wide adds CLIENT-ID, LABELS and CREDENTIAL-EXPIRES (manager mode's
			minted credential).

			--expiring-within D shows only manager-mode clusters whose credential
			expires within D or has expired. To renew one, delete its kubeconfig
			Secret and run kubectl regtoken enroll --mode manager CONTEXT again: a
			Cluster whose Secret is gone gets a new credential. --fail-if-any makes
			the exit code 3 when any is shown.`),
		Example: templates.Examples(`
			# The clusters of fleet-default, with their contexts
			kubectl regtoken clusters -n fleet-default

			# Every cluster, with client IDs, labels and credential expiry
			kubectl regtoken clusters -A -o wide

			# A cron job's check: exit 3 when a minted credential expires within 30 days
			kubectl regtoken clusters -A --expiring-within 30d --fail-if-any`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the Clusters of all namespaces.")
	cmd.Flags().StringVar(&o.ExpiringWithin, "expiring-within", "", "Only manager-mode clusters whose credential expires within this duration (e.g. 30d) or has expired.")
	cmd.Flags().BoolVar(&o.NoContexts, "no-contexts", false, "Do not ask the kubeconfig's contexts which cluster they are (CONTEXT shows the context enroll recorded).")
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "cluster")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete resolves the namespace, --expiring-within and the client.
func (o *ClustersOptions) Complete(_ *cobra.Command, _ []string) error {
	ns := ""
	if !o.AllNamespaces {
		var err error
		if ns, _, err = o.f.Namespace(); err != nil {
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
	o.m, err = fleet.NewManager(o.f, ns)
	return err
}

// Validate checks -o.
func (o *ClustersOptions) Validate() error { return o.print.Validate() }

// Run lists, matches the contexts and prints.
func (o *ClustersOptions) Run(ctx context.Context) error {
	items, err := o.m.ListClusters(ctx)
	if err != nil {
		return err
	}
	if o.ExpiringWithin != "" {
		items = slices.DeleteFunc(items, func(s fleet.ClusterSummary) bool { return !s.CredentialExpiresWithin(fleet.Now(), o.within) })
	}
	if len(items) > 0 && !o.NoContexts {
		fleet.MatchContexts(items, fleet.ContextUIDs(ctx, o.f))
	}
	if !o.print.IsTable() {
		list, err := fleet.NewSummaryList(items).Unstructured()
		if err != nil {
			return err
		}
		if err := o.print.Print(list, printer.Namespaces(o.AllNamespaces), o.Out); err != nil {
			return err
		}
		return cli.FailIfAny(o.FailIfAny, len(items), "clusters")
	}
	if len(items) == 0 {
		what := "No Fleet Clusters found"
		if o.ExpiringWithin != "" {
			what = "No manager-mode credentials expire within " + o.ExpiringWithin
		}
		if o.AllNamespaces {
			fmt.Fprintf(o.ErrOut, "%s.\n", what)
		} else {
			fmt.Fprintf(o.ErrOut, "%s in namespace %s.\n", what, o.m.Namespace)
		}
		return nil
	}
	if err := o.print.Print(clustersTable(items, fleet.Now()), printer.Namespaces(o.AllNamespaces), o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(items), "clusters")
}

var clustersColumns = []printer.Column{
	{Name: "NAME"}, {Name: "MODE"}, {Name: "READY"}, {Name: "AGENT-LAST-SEEN"}, {Name: "REGISTERED-BY"}, {Name: "CONTEXT"},
	{Name: "CLIENT-ID", Wide: true}, {Name: "LABELS", Wide: true}, {Name: "CREDENTIAL-EXPIRES", Wide: true},
}

// clustersTable is the human table; server text is escaped to a cell.
func clustersTable(items []fleet.ClusterSummary, now time.Time) *metav1.Table {
	rows := make([][]any, 0, len(items))
	objs := make([]runtime.Object, 0, len(items))
	for i := range items {
		s := &items[i]
		seen := "never"
		if t, err := time.Parse(time.RFC3339, s.AgentLastSeen); err == nil {
			seen = ttl.Format(now.Sub(t).Truncate(time.Second)) + " ago"
		}
		expires := "<none>"
		if s.CredentialExpires != "" {
			expires = s.CredentialExpires
		}
		rows = append(rows, []any{
			printer.Cell(s.Name), s.Mode, printer.Cell(s.Ready), seen, orText(printer.Cell(s.RegisteredBy), "<unknown>"), orText(printer.Cell(s.Context), "<none>"),
			orText(printer.Cell(s.ClientID), "<none>"), orText(printer.Cell(formatLabelMap(s.Labels)), "<none>"), printer.Cell(expires),
		})
		objs = append(objs, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace}})
	}
	return printer.NewTable(clustersColumns, rows, objs)
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func formatLabelMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}
