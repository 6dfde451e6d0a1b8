package regtoken

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/rancherimport"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// importRancher is the Rancher of the current context, in the workspace
// -n names (default fleet-default).
func importRancher(f cli.Clients) (*rancherimport.Rancher, error) {
	ws := rancherimport.DefaultWorkspace
	if ns, explicit, err := f.Namespace(); err == nil && explicit {
		ws = ns
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	core, err := f.CoreV1()
	if err != nil {
		return nil, err
	}
	return &rancherimport.Rancher{Dyn: dyn, Core: core, Workspace: ws}, nil
}

// ImportListOptions is `kubectl regtoken import list`.
type ImportListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	ExpiringWithin string
	FailIfAny      bool

	within  time.Duration
	rancher *rancherimport.Rancher
}

func newCmdImportList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ImportListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-o wide|json|yaml|name] [--expiring-within D [--fail-if-any]]",
		Aliases: []string{"ls"},
		Short:   "List the imported Rancher clusters with their state and their import token's expiry",
		Long: cli.LongDesc(`
			List the imported clusters of the Rancher of the current context (the
			clusters.provisioning.cattle.io of fleet-default, or -n, that Rancher
			does not provision itself).

			Columns: NAME, CLUSTER-ID, STATE (Active once Rancher marks the cluster
			Ready, Unavailable when its agent is gone, Pending before), TOKEN-EXPIRES
			(when the import token rotates, Rancher 2.15 and newer; "never" before),
			GRACE (until when the previous token still works after a rotation) and
			AGE. It reads the tokens' objects, never the tokens.

			--expiring-within D shows only clusters whose token rotates within D or
			whose previous token is in its grace period: scripts holding an import
			command must fetch a new one. --fail-if-any makes the exit code 3 when
			any is shown.

			(A kubeconfig context named list is imported with kubectl regtoken
			import -- list.)`),
		Example: templates.Examples(`
			# Imported clusters and their state
			kubectl regtoken import list

			# A cron job's check: exit 3 when an import token rotates within a day
			kubectl regtoken import list --expiring-within 1d --fail-if-any`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.ExpiringWithin, "expiring-within", "", "Only clusters whose import token rotates within this duration (e.g. 7d) or is in its grace period.")
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "cluster")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete parses the window and builds the client.
func (o *ImportListOptions) Complete(_ *cobra.Command, _ []string) error {
	var err error
	if o.ExpiringWithin != "" {
		if o.within, err = ttl.ParseWithin("--expiring-within", o.ExpiringWithin); err != nil {
			return err
		}
	}
	o.rancher, err = importRancher(o.f)
	return err
}

// Validate checks -o.
func (o *ImportListOptions) Validate() error { return o.print.Validate() }

// Run lists and prints.
func (o *ImportListOptions) Run(ctx context.Context) error {
	all, err := o.rancher.List(ctx)
	if err != nil {
		return err
	}
	at := fleet.Now()
	var shown []rancherimport.Imported
	for _, c := range all {
		if o.ExpiringWithin == "" || c.ExpiringWithin(o.within, at) {
			shown = append(shown, c)
		}
	}
	if !o.print.IsTable() {
		if err := o.print.Print(importedList(shown), printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
		return cli.FailIfAny(o.FailIfAny, len(shown), "clusters")
	}
	if len(shown) == 0 {
		what := "No imported Rancher clusters found"
		if o.ExpiringWithin != "" {
			what = "No import tokens rotate within " + o.ExpiringWithin
		}
		fmt.Fprintf(o.ErrOut, "%s in namespace %s.\n", what, o.rancher.Workspace)
		return nil
	}
	if err := o.print.Print(importedTable(shown, at), printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(shown), "clusters")
}

var importedColumns = []printer.Column{{Name: "NAME"}, {Name: "CLUSTER-ID"}, {Name: "STATE"}, {Name: "TOKEN-EXPIRES"}, {Name: "GRACE"}, {Name: "AGE"}, {Name: "LABELS", Wide: true}}

func importedTable(clusters []rancherimport.Imported, at time.Time) *metav1.Table {
	rows := make([][]any, 0, len(clusters))
	for _, c := range clusters {
		id, state := c.ID, c.State
		if id == "" {
			id = "<none>"
		}
		if c.Reason != "" {
			state += " (" + c.Reason + ")"
		}
		expires := ttl.Never
		switch {
		case c.TokenExpires.IsZero():
		case c.TokenExpires.After(at):
			expires = "in " + duration.HumanDuration(c.TokenExpires.Sub(at))
		default:
			expires = "rotating"
		}
		grace := "<none>"
		if c.InGrace(at) {
			grace = duration.HumanDuration(c.GraceUntil.Sub(at)) + " left"
		}
		var labels []string
		for k, v := range c.Labels {
			labels = append(labels, k+"="+v)
		}
		rows = append(rows, []any{c.Name, id, state, expires, grace, duration.HumanDuration(at.Sub(c.Created)), strings.Join(slices.Sorted(slices.Values(labels)), ",")})
	}
	return printer.NewTable(importedColumns, rows, nil)
}

// importedList is -o json|yaml|name's object: ImportedCluster items.
func importedList(clusters []rancherimport.Imported) runtime.Object {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": fleet.ResultGVK.GroupVersion().String(), "kind": "ImportedClusterList"}}
	for _, c := range clusters {
		item := map[string]any{
			"apiVersion": fleet.ResultGVK.GroupVersion().String(), "kind": "ImportedCluster",
			"metadata":  map[string]any{"name": c.Name, "creationTimestamp": c.Created.UTC().Format(time.RFC3339)},
			"clusterID": c.ID, "state": c.State, "reason": c.Reason,
			"tokenExpiresAt": rfc3339(c.TokenExpires), "gracePeriodExpiresAt": rfc3339(c.GraceUntil),
		}
		if len(c.Labels) > 0 {
			item["metadata"].(map[string]any)["labels"] = toAnyMap(c.Labels)
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: item})
	}
	_ = meta.SetList(list, nil)
	return list
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ImportCommandOptions is `kubectl regtoken import command`.
type ImportCommandOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	ShowToken     bool
	RancherURL    string
	RancherCAFile string
	Timeout       time.Duration

	name    string
	caPEM   []byte
	rancher *rancherimport.Rancher
}

func newCmdImportCommand(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ImportCommandOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "command NAME [--show-token]",
		Short: "Print the install command of an imported Rancher cluster (with its token only with --show-token)",
		Long: cli.LongDesc(`
			Print the command that imports the Rancher cluster NAME when run with a
			kubectl context of the downstream cluster: curl fetching Rancher's
			import manifest, piped into kubectl apply. For those who must paste it
			on a machine this kubeconfig does not reach; kubectl regtoken import
			does it all for the clusters it can reach.

			The command holds the cluster's import token, a credential: anyone
			with it can attach a cluster as NAME. Without --show-token it is
			printed as <token>; --show-token prints the real one. On Rancher 2.15
			and newer the token rotates (kubectl regtoken import list shows when),
			and a pasted command stops working at the end of the grace period.

			When Rancher's certificate is not publicly trusted (its cacerts
			setting is set), the command trusts a rancher-ca.pem, and a first
			command saves that file. Nothing is changed on the server.`),
		Example: templates.Examples(`
			# The command with the token hidden
			kubectl regtoken import command edge-3

			# The command with the real token (a credential)
			kubectl regtoken import command edge-3 --show-token`),
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.ShowToken, "show-token", false, "Print the real import token in the command: a credential, keep the output secret.")
	cmd.Flags().StringVar(&o.RancherURL, "rancher-url", "", "Rancher's https address for the command (default: the server-url setting).")
	cmd.Flags().StringVar(&o.RancherCAFile, "rancher-ca-file", "", "PEM file of Rancher's CA (default: the cacerts setting, else the system's roots).")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", time.Minute, "How long to wait for Rancher's cluster ID and import token.")
	_ = cmd.MarkFlagFilename("rancher-ca-file", "pem", "crt")
	return cmd
}

// Complete reads the flags.
func (o *ImportCommandOptions) Complete(_ *cobra.Command, args []string) error {
	o.name = args[0]
	var err error
	if o.RancherURL != "" {
		if o.RancherURL, err = rancherimport.ParseURL(o.RancherURL, "--rancher-url"); err != nil {
			return err
		}
	}
	if o.RancherCAFile != "" {
		if o.caPEM, err = os.ReadFile(o.RancherCAFile); err != nil {
			return fmt.Errorf("--rancher-ca-file: %w", err)
		}
	}
	o.rancher, err = importRancher(o.f)
	return err
}

// Validate checks the name.
func (o *ImportCommandOptions) Validate() error {
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 1m", o.Timeout)
	}
	return clusterName(o.name, "name")
}

// Run reads the token and prints the command.
func (o *ImportCommandOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	server, err := o.rancher.Server(ctx, o.RancherURL, o.caPEM, "--rancher-ca-file "+o.RancherCAFile)
	if err != nil {
		return err
	}
	id, err := o.rancher.WaitID(ctx, o.name)
	if err != nil {
		return err
	}
	tok, err := o.rancher.ReadToken(ctx, id)
	if err != nil {
		return err
	}
	url := server.ImportURL(tok)
	if !o.ShowToken {
		url = strings.Replace(url, "/v3/import/"+tok.Reveal()+"_", "/v3/import/<token>_", 1)
	}
	curl := []string{"curl", "-sfL", url}
	if server.CA != nil && o.caPEM == nil {
		save := cli.HintCommand(o.f, "kubectl", "get", rancherimport.SettingsGVR.GroupResource().String(), "cacerts", "-o", "jsonpath={.value}")
		fmt.Fprintf(o.Out, "%s > rancher-ca.pem\n", save)
	}
	if server.CA != nil {
		curl = []string{"curl", "--cacert", "rancher-ca.pem", "-sfL", url}
	}
	fmt.Fprintf(o.Out, "%s | %s\n", shellquote.Join(curl), shellquote.Join([]string{"kubectl", "apply", "-f", "-"}))
	switch {
	case !o.ShowToken:
		fmt.Fprintln(o.ErrOut, "note: the token is hidden; --show-token prints it (a credential: anyone with it can attach a cluster as "+o.name+")")
	case !tok.ExpiresAt.IsZero():
		fmt.Fprintf(o.ErrOut, "warning: the command holds the import token of %s (%s), a credential: keep it secret; the token rotates at %s and then works for the grace period only\n", o.name, id, tok.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(o.ErrOut, "warning: the command holds the import token of %s (%s), a credential: keep it secret\n", o.name, id)
	}
	return nil
}
