package exttoken

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// stdoutFile is the --kubeconfig-file that asks for stdout.
const stdoutFile = "-"

// KubeconfigCreateOptions is `kubectl exttoken kubeconfig create`.
type KubeconfigCreateOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Clusters            []string
	AllClusters         bool
	TTL                 string
	CurrentContext      string
	Description         string
	IncludeDefaultEntry bool
	File                string
	Force               bool
	DryRun              string

	ttlSeconds   int64
	defaultEntry *bool // sent only when the flag was given
	kubeconfigs  kubeconfigClient
}

// NewCmdKubeconfigCreate builds `kubectl exttoken kubeconfig create`.
func NewCmdKubeconfigCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &KubeconfigCreateOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "create [CLUSTER...|--all-clusters] --kubeconfig-file PATH|- [--ttl DURATION] [--current-context NAME] [--description D] [--include-default-entry=false] [--force] [-o name|json|yaml]",
		Short: "Have Rancher generate a kubeconfig for clusters, written once to a 0600 file",
		Long: cli.LongDesc(`
			Create a Rancher kubeconfig (kubeconfigs.ext.cattle.io) for the named
			clusters (their IDs, as in kubectl get clusters.management.cattle.io),
			or with --all-clusters for every cluster you can reach (spec.clusters
			"*"). Rancher creates the kubeconfig's tokens (kind kubeconfig) and
			returns its content once: it is written to --kubeconfig-file, a new
			file of mode 0600 written atomically (an existing file is replaced
			only with --force), or with --kubeconfig-file - to stdout. It is
			never written anywhere else. Without clusters the kubeconfig has
			only Rancher's own entry.

			--ttl takes the TTL grammar (90m, 12h, 30d, 1d12h) and is sent in the
			seconds this API counts; without it Rancher applies its default.
			Rancher refuses, rather than shortens, a TTL above its maximum for
			kubeconfigs (kubeconfig-default-token-ttl-minutes, clamped to
			auth-token-max-ttl-minutes, up to 2.15): when the settings are
			readable the command refuses it first, with the same numbers.
			Kubeconfigs always expire: never is refused.

			--current-context picks the entry kubectl uses by default (a cluster
			given); Rancher checks it. --include-default-entry=false leaves out
			Rancher's own entry (Rancher 2.15+; an older Rancher would ignore it,
			so the kubeconfig is deleted again and the command fails).

			Your credential must be a Rancher token (a kubeconfig from Rancher's
			UI or a v3 API key; an ext token only from Rancher 2.15 on). The
			command prints where the kubeconfig went and when it expires on
			stderr; -o name prints kubeconfig.ext.cattle.io/<name> for "kubectl
			exttoken kubeconfig delete", -o json|yaml the object without its
			content. Delete the kubeconfig to revoke its tokens.`),
		Example: templates.Examples(`
			# A kubeconfig for two clusters, good for 8 hours
			kubectl exttoken kubeconfig create c-m-abc12 c-m-def34 --ttl 8h --kubeconfig-file ci.kubeconfig

			# Every cluster you can reach; keep the name to revoke it later
			kubectl exttoken kubeconfig create --all-clusters --ttl 1h --kubeconfig-file ci.kubeconfig -o name

			# To stdout, e.g. into a CI secret store
			kubectl exttoken kubeconfig create c-m-abc12 --ttl 2h --kubeconfig-file - | store-secret kubeconfig

			# What would be sent, without creating anything
			kubectl exttoken kubeconfig create c-m-abc12 --ttl 2h --dry-run -o yaml`),
		ValidArgsFunction: completeClusters(f),
		RunE:              cli.RunE(o),
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.AllClusters, "all-clusters", false, `Every cluster you can reach (spec.clusters "*").`)
	fl.StringVar(&o.TTL, "ttl", "", "Time to live of the kubeconfig's tokens: 90m, 12h, 30d, 1d12h; without it the server's default.")
	fl.StringVar(&o.CurrentContext, "current-context", "", "The kubeconfig's current context: one of the clusters given (default: the first).")
	fl.StringVar(&o.Description, "description", "", "Human readable description (spec.description).")
	fl.BoolVar(&o.IncludeDefaultEntry, "include-default-entry", true, "Include Rancher's own entry (spec.includeDefaultEntry, Rancher 2.15+); sent only when given.")
	fl.StringVar(&o.File, "kubeconfig-file", "", "Write the kubeconfig to this new file (mode 0600), or - for stdout. Required.")
	fl.BoolVar(&o.Force, "force", false, "Replace an existing --kubeconfig-file.")
	dryrun.AddFlag(cmd, &o.DryRun, "sent")
	o.print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("ttl", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"1h", "2h", "8h", "1d", "7d", "30d"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// completeClusters completes Rancher cluster IDs.
func completeClusters(f cli.Clients) cobra.CompletionFunc {
	return cli.CompleteNames(cli.ManyNames, func(ctx context.Context) ([]string, error) {
		return names(ctx, f, clustersGVR, func(*unstructured.Unstructured) bool { return true })
	})
}

// Complete takes the clusters, parses the TTL and builds the client.
func (o *KubeconfigCreateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Clusters = args
	if cmd.Flags().Changed("include-default-entry") {
		v := o.IncludeDefaultEntry
		o.defaultEntry = &v
	}
	if o.TTL != "" {
		v, err := ttl.Parse("--ttl", o.TTL)
		if err != nil {
			return err
		}
		if v.Never {
			return fmt.Errorf("--ttl never: Rancher kubeconfigs always expire (spec.ttl can't be negative); pass a duration such as 8h, or leave --ttl out for the server's default")
		}
		if v.Duration%time.Second != 0 {
			return fmt.Errorf("--ttl %q: this API counts whole seconds; pass e.g. 90s or 2h", o.TTL)
		}
		o.ttlSeconds = int64(v.Duration / time.Second)
	}
	var err error
	o.kubeconfigs, err = newKubeconfigClient(o.f)
	return err
}

// Validate checks everything local before a kubeconfig exists, so a
// failure never leaves one (and its tokens) behind.
func (o *KubeconfigCreateOptions) Validate() error {
	// Without -o the command prints only its summary, on stderr.
	if o.print.Output() != "" {
		if err := o.print.Validate(); err != nil {
			return err
		}
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, c := range o.Clusters {
		if c == allClusters {
			return fmt.Errorf(`cluster "*": pass --all-clusters for every cluster you can reach (a bare * is expanded by the shell)`)
		}
		if errs := validation.IsDNS1123Subdomain(c); len(errs) > 0 {
			return fmt.Errorf("invalid cluster %q: a Rancher cluster ID such as local or c-m-abc12 (%s); list them with kubectl get clusters.management.cattle.io", c, errs[0])
		}
		if seen[c] {
			return fmt.Errorf("cluster %s is named twice: Rancher requires spec.clusters to be unique; name each cluster once", c)
		}
		seen[c] = true
	}
	if o.AllClusters && len(o.Clusters) > 0 {
		return fmt.Errorf("name clusters or pass --all-clusters, not both")
	}
	if o.defaultEntry != nil && !*o.defaultEntry && len(o.Clusters) == 0 && !o.AllClusters {
		return fmt.Errorf("--include-default-entry=false leaves the kubeconfig empty: Rancher requires at least one cluster then; name a cluster or pass --all-clusters")
	}
	if o.DryRun != dryrun.None {
		// A dry run returns no content: there is nothing to write.
		return nil
	}
	if o.File == "" {
		return fmt.Errorf("--kubeconfig-file is required: Rancher returns the kubeconfig only once; pass a new file (written with mode 0600) or - for stdout")
	}
	if o.File == stdoutFile {
		if o.print.Output() != "" {
			return fmt.Errorf("-o %s and --kubeconfig-file - both want stdout: write the kubeconfig to a file, or drop -o", o.print.Output())
		}
		return nil
	}
	return atomicfile.CheckWritable(o.File, o.Force, "--kubeconfig-file")
}

func (o *KubeconfigCreateOptions) object() *unstructured.Unstructured {
	spec := map[string]any{}
	clusters := o.Clusters
	if o.AllClusters {
		clusters = []string{allClusters}
	}
	if len(clusters) > 0 {
		list := make([]any, len(clusters))
		for i, c := range clusters {
			list[i] = c
		}
		spec["clusters"] = list
	}
	if o.ttlSeconds != 0 {
		spec["ttl"] = o.ttlSeconds
	}
	if o.CurrentContext != "" {
		spec["currentContext"] = o.CurrentContext
	}
	if o.Description != "" {
		spec["description"] = o.Description
	}
	if o.defaultEntry != nil {
		spec["includeDefaultEntry"] = *o.defaultEntry
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kubeconfigsGVR.GroupVersion().String(),
		"kind":       "Kubeconfig",
		"metadata":   map[string]any{"generateName": "kubeconfig-"},
		"spec":       spec,
	}}
}

// Run creates the kubeconfig and hands its content over once.
func (o *KubeconfigCreateOptions) Run(ctx context.Context) error {
	obj := o.object()
	if o.DryRun == dryrun.Client {
		return o.printDryRun(obj)
	}
	if o.ttlSeconds != 0 {
		if max, why, ok := kubeconfigTTLMax(ctx, o.f); ok && o.ttlSeconds > max {
			return fmt.Errorf("%s", ttlTooLong(o.ttlSeconds, max, why))
		}
	}
	created, err := o.kubeconfigs.create(ctx, obj, metav1.CreateOptions{DryRun: dryrun.Request(o.DryRun)})
	if err != nil {
		return err
	}
	name := created.GetName()
	if o.DryRun == dryrun.Server {
		scrubKubeconfig(created)
		return o.printDryRun(created)
	}
	if o.defaultEntry != nil && !*o.defaultEntry && kubeconfigFrom(created).DefaultEntry == "" {
		return o.undo(ctx, name, fmt.Errorf("the server dropped --include-default-entry=false (it returned a kubeconfig with Rancher's own entry): that needs Rancher 2.15 or later"))
	}
	value, _, _ := unstructured.NestedString(created.Object, "status", "value")
	if value == "" {
		return o.undo(ctx, name, fmt.Errorf("kubeconfig %s was created but the server returned no content", name))
	}
	if o.File == stdoutFile {
		if _, err := fmt.Fprint(o.Out, value); err != nil {
			return o.undo(ctx, name, err)
		}
	} else if err := atomicfile.Write(o.File, []byte(value), o.Force); err != nil {
		return o.undo(ctx, name, err)
	}
	scrubKubeconfig(created)
	if o.print.Output() != "" {
		if err := o.print.Print(created, printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
	}
	fmt.Fprintln(o.ErrOut, o.summary(kubeconfigFrom(created)))
	return nil
}

// summary is the stderr line after a create: what, for whom, where it
// went, when it expires, how to revoke it.
func (o *KubeconfigCreateOptions) summary(k kubeconfigView) string {
	clusters := "Rancher's own entry only"
	if len(k.Clusters) > 0 {
		clusters = "clusters " + strings.Join(k.Clusters, ", ")
	}
	if k.CurrentContext != "" {
		clusters += " (current context " + k.CurrentContext + ")"
	}
	expires := "expiry unknown"
	if at, ok := k.expiresAt(); ok {
		expires = fmt.Sprintf("expires %s (TTL %s)", at.UTC().Format(time.RFC3339), formatSeconds(k.TTL))
	}
	where := "on stdout"
	if o.File != stdoutFile {
		where = "to " + o.File + " (mode 0600)"
	}
	tokens := fmt.Sprintf("%d tokens", len(k.Tokens))
	if len(k.Tokens) == 1 {
		tokens = "1 token"
	}
	return printer.EscapeText(fmt.Sprintf("%s/%s created for user %s: %s, %s, %s; written %s. Revoke it and its tokens with %s",
		kubeconfigResource, k.Name, k.User, clusters, tokens, expires, where, command(o.f, "kubeconfig", "delete", k.Name)))
}

func (o *KubeconfigCreateOptions) printDryRun(obj *unstructured.Unstructured) error {
	if o.print.Output() != "" {
		return o.print.Print(obj, printer.WithoutNamespace, o.Out)
	}
	name := obj.GetName()
	if name == "" {
		name = "(generated name)"
	}
	fmt.Fprintf(o.Out, "%s/%s created%s\n", kubeconfigResource, name, dryrun.Suffix(o.DryRun))
	return nil
}

// undo deletes a kubeconfig whose content could not be handed over (its
// tokens go with it), so no such credential is left behind.
func (o *KubeconfigCreateOptions) undo(ctx context.Context, name string, cause error) error {
	if err := o.kubeconfigs.delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("%w; kubeconfig %q was created and could not be deleted (%s): delete it with %s", cause, name, apierror.OneLine(err.Error()), command(o.f, "kubeconfig", "delete", name))
	}
	return fmt.Errorf("%w; kubeconfig %s was deleted again with its tokens, nothing was kept", cause, name)
}
