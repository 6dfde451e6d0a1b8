package exttoken

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// KubeconfigListOptions is `kubectl exttoken kubeconfig list` and, with
// a name, `kubectl exttoken kubeconfig get NAME`.
type KubeconfigListOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Name      string // get: one kubeconfig
	Selector  string
	ChunkSize int64

	kubeconfigs kubeconfigClient
	rest        rest.Interface
}

// NewCmdKubeconfigList builds `kubectl exttoken kubeconfig list`.
func NewCmdKubeconfigList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &KubeconfigListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:     "list [-o wide|json|yaml|name] [-l SELECTOR]",
		Aliases: []string{"ls"},
		Short:   "List Rancher kubeconfigs with the server's own columns",
		Long: cli.LongDesc(`
			List Rancher kubeconfigs (kubeconfigs.ext.cattle.io): yours, or every
			user's for an administrator. The table is the server's own, as
			kubectl get prints it: NAME TTL TOKENS STATUS AGE, and with -o wide
			USER, CLUSTERS and DESCRIPTION too. The content of a kubeconfig is
			never shown: Rancher returns it only when it is created.`),
		Example: templates.Examples(`
			# Your kubeconfigs
			kubectl exttoken kubeconfig list

			# With owner, clusters and description
			kubectl exttoken kubeconfig list -o wide`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "Only kubeconfigs matching this label selector (sent to the server).")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	o.print.AddFlags(cmd)
	return cmd
}

// NewCmdKubeconfigGet builds `kubectl exttoken kubeconfig get NAME`.
func NewCmdKubeconfigGet(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &KubeconfigListOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "get NAME [-o wide|json|yaml|name]",
		Short: "Show one Rancher kubeconfig (never its content)",
		Long: cli.LongDesc(`
			Show one kubeconfig with the server's columns, or as an object with
			-o json|yaml. Its content is never shown: Rancher returns it only
			when it is created. Other users' kubeconfigs are "not found" unless
			you are an administrator.`),
		Example: templates.Examples(`
			# The server's row, with owner and clusters
			kubectl exttoken kubeconfig get kubeconfig-abcde -o wide`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeKubeconfigs(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	o.print.AddFlags(cmd)
	return cmd
}

// Complete takes the name and builds the clients.
func (o *KubeconfigListOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Name = args[0]
	}
	var err error
	if o.kubeconfigs, err = newKubeconfigClient(o.f); err != nil {
		return err
	}
	if o.print.IsTable() {
		o.rest, err = tokensREST(o.f)
	}
	return err
}

// Validate checks -o, the name and the selector before a request.
func (o *KubeconfigListOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	if o.ChunkSize < 0 {
		return fmt.Errorf("invalid --chunk-size %d: use a positive number, or 0 to fetch everything at once", o.ChunkSize)
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("invalid label selector %q: %s", o.Selector, apierror.OneLine(err.Error()))
	}
	if o.Name != "" {
		name, err := kubeconfigName(o.Name)
		o.Name = name
		return err
	}
	return nil
}

// Run prints the server's table, or the objects.
func (o *KubeconfigListOptions) Run(ctx context.Context) error {
	if o.print.IsTable() {
		src := tableSource{path: kubeconfigsPath, resource: kubeconfigsGVR.GroupResource(), scrub: scrubKubeconfig, wrap: o.kubeconfigs.wrap}
		t, err := fetchTableOf(ctx, o.rest, src, tableQuery{Name: o.Name, LabelSelector: o.Selector, ChunkSize: o.ChunkSize})
		if err != nil {
			return err
		}
		if len(t.Rows) == 0 {
			fmt.Fprintln(o.ErrOut, "No kubeconfigs found.")
			return nil
		}
		return o.print.Print(t, printer.WithoutNamespace, o.Out)
	}
	if o.Name != "" {
		u, err := o.kubeconfigs.get(ctx, o.Name)
		if err != nil {
			return err
		}
		return o.print.Print(u, printer.WithoutNamespace, o.Out)
	}
	items, err := o.kubeconfigs.list(ctx, o.Selector, o.ChunkSize)
	if err != nil {
		return err
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}, Items: items}
	return o.print.Print(list, printer.WithoutNamespace, o.Out)
}

// KubeconfigDescribeOptions is `kubectl exttoken kubeconfig describe`.
type KubeconfigDescribeOptions struct {
	genericiooptions.IOStreams
	f    cli.Clients
	Name string

	kubeconfigs kubeconfigClient
	tokens      tokenClient
}

// NewCmdKubeconfigDescribe builds `kubectl exttoken kubeconfig describe NAME`.
func NewCmdKubeconfigDescribe(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &KubeconfigDescribeOptions{IOStreams: streams, f: f}
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a Rancher kubeconfig: owner, clusters, expiry, its tokens",
		Long: cli.LongDesc(`
			Describe one kubeconfig: owner, clusters, current context, TTL and when
			it expires (creation time plus TTL), its status, and each of its tokens
			(kind, cluster, expiry, last use), which Rancher deletes with it.`),
		Example: templates.Examples(`
			# Everything about one kubeconfig
			kubectl exttoken kubeconfig describe kubeconfig-abcde`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeKubeconfigs(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
}

// Complete takes the name and builds the clients.
func (o *KubeconfigDescribeOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	var err error
	if o.kubeconfigs, err = newKubeconfigClient(o.f); err != nil {
		return err
	}
	o.tokens, err = newTokenClient(o.f)
	return err
}

// Validate checks the name.
func (o *KubeconfigDescribeOptions) Validate() error {
	name, err := kubeconfigName(o.Name)
	o.Name = name
	return err
}

// Run fetches the kubeconfig and its tokens and describes them.
func (o *KubeconfigDescribeOptions) Run(ctx context.Context) error {
	u, err := o.kubeconfigs.get(ctx, o.Name)
	if err != nil {
		return err
	}
	k := kubeconfigFrom(u)
	tokens := map[string]string{}
	for _, n := range k.Tokens {
		t, err := o.tokens.get(ctx, n)
		if err != nil {
			tokens[n] = "<" + apierror.OneLine(err.Error()) + ">"
			continue
		}
		tokens[n] = tokenSummary(tokenFrom(t), now())
	}
	_, err = io.WriteString(o.Out, describeKubeconfig(u, k, tokens, now()))
	return err
}

// tokenSummary is one token's line in a kubeconfig's description.
func tokenSummary(t extToken, now time.Time) string {
	scope := "all clusters"
	if t.ClusterName != "" {
		scope = "cluster " + t.ClusterName
	}
	at, ok := t.expiresAt()
	return fmt.Sprintf("kind %s, %s, expires %s, last used %s", t.Kind, scope, humanExpires(at, ok, now), humanAgo(t.LastUsed, now))
}

// describeKubeconfig is the human description; server text is escaped by
// printer.DescribeLine.
func describeKubeconfig(u *unstructured.Unstructured, k kubeconfigView, tokens map[string]string, now time.Time) string {
	var w strings.Builder
	line := func(key, v string) { printer.DescribeLine(&w, key, v) }
	orNone := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	line("Name", k.Name)
	line("User", orNone(k.User, "<unknown>"))
	clusters := strings.Join(k.Clusters, ", ")
	if len(k.Clusters) > 0 && k.Clusters[0] == allClusters {
		clusters = "* (every cluster the user could reach when it was created)"
	}
	line("Clusters", orNone(clusters, "<none: Rancher's own entry only>"))
	line("Context", orNone(k.CurrentContext, "<server default>"))
	line("Default entry", orNone(k.DefaultEntry, "<not set: included>"))
	line("Description", orNone(k.Description, "<none>"))
	line("TTL", fmt.Sprintf("%s (%d s)", formatSeconds(k.TTL), k.TTL))
	line("Created", printer.Stamp(k.Created, now))
	if at, ok := k.expiresAt(); ok {
		line("Expires", fmt.Sprintf("%s (%s)", at.UTC().Format(time.RFC3339), humanExpires(at, true, now)))
	} else {
		line("Expires", ttl.Never)
	}
	line("Status", orNone(k.Summary, "<none>"))
	if len(k.Tokens) == 0 {
		line("Tokens", "<none>")
	}
	for i, n := range k.Tokens {
		if i == 0 {
			line("Tokens", n+": "+tokens[n])
			continue
		}
		// Further tokens continue the Tokens block under its values.
		fmt.Fprintf(&w, "%-15s %s\n", "", printer.EscapeText(n+": "+tokens[n]))
	}
	line("Labels", mapText(u.GetLabels()))
	line("Annotations", mapText(u.GetAnnotations()))
	return w.String()
}
