package regtoken

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/rancherimport"
)

// rancherLocal is what import calls the cluster of the current context.
var rancherLocal = cli.Management{What: "Rancher's local cluster", Whose: "Rancher's"}

// rancherImportGVK names the one object import prints with -o json|yaml.
var rancherImportGVK = fleet.ResultGVK.GroupVersion().WithKind("RancherImport")

// RancherImport is import's result. It never holds a token or an import
// URL.
type RancherImport struct {
	metav1.TypeMeta `json:",inline"`
	// Workspace is the namespace of the Rancher clusters.
	Workspace string                   `json:"workspace"`
	Clusters  []*rancherimport.Cluster `json:"clusters"`
	Warnings  []string                 `json:"warnings"`
	Notes     []string                 `json:"notes"`
}

// DeepCopyObject makes RancherImport a runtime.Object for the printers.
func (r *RancherImport) DeepCopyObject() runtime.Object {
	c := *r
	c.Warnings, c.Notes = slices.Clone(r.Warnings), slices.Clone(r.Notes)
	c.Clusters = make([]*rancherimport.Cluster, len(r.Clusters))
	for i, cl := range r.Clusters {
		cc := *cl
		c.Clusters[i] = &cc
	}
	return &c
}

// ImportOptions is `kubectl regtoken import`.
type ImportOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Name          string
	Labels        []string
	RancherURL    string
	RancherCAFile string
	ManifestOnly  bool
	ManifestFile  string
	Force         bool
	Wait          bool
	Timeout       time.Duration
	Parallel      int
	clusterRun
	// contextLabels are each context's inventory labels.
	contextLabels map[string]map[string]string
	DryRun        string

	args      []string
	workspace string
	labels    map[string]string
	warnings  []string
	caPEM     []byte
	rancher   *rancherimport.Rancher
	clusters  []*rancherimport.Cluster
	contexts  map[*rancherimport.Cluster]cli.Clients
	// progressStop ends the progress display before the result prints.
	progressStop func()
}

// NewCmdImport builds `kubectl regtoken import` and its read-only views.
func NewCmdImport(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ImportOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable, "jsonl"), Wait: true}
	cmd := &cobra.Command{
		Use:   "import CONTEXT... [--name NAME] [--label KEY=VALUE]... [flags]",
		Short: "Import existing clusters into Rancher: Rancher cluster, manifest applied downstream, wait until Active",
		Long: cli.LongDesc(`
			Import the clusters of kubeconfig contexts into the Rancher whose local
			cluster is the current context (or --context), end to end and without
			admin rights: a Rancher user who may create clusters can import.

			For each CONTEXT, import creates the Rancher cluster (a
			clusters.provisioning.cattle.io in fleet-default, named after the
			context, or --name with one context; --label adds labels), or reuses the
			one of that name; waits for its cluster ID; reads its import token where
			the Rancher version keeps it (the Secret status.tokenSecretName names
			from 2.13.8, 2.14.4 and 2.15.0, else status.token); fetches the manifest
			from Rancher's /v3/import over HTTPS, trusting Rancher's CA (the cacerts
			setting, else the system's roots; --rancher-ca-file overrides); applies
			it to the downstream cluster server-side (field manager
			kubectl-regtoken); and waits, by watch, until Rancher marks the cluster
			Ready (AgentDeployed, then Ready). It prints a table CONTEXT, NAME,
			CLUSTER-ID, STATUS (-o json|yaml: one result object; -o jsonl: one line
			per cluster as it finishes).

			The import URL and the token are credentials: import never prints,
			logs or writes them, unless --manifest-only asks for the manifest.
			--manifest-only creates the Rancher clusters named by the arguments
			(not contexts) and prints their manifests on stdout, or writes them to
			--manifest-file (mode 0600, never over a file without --force), applying
			nothing.

			A cluster that failed keeps its Rancher cluster: running the same
			command again finishes it. A cluster that is Active and whose
			cattle-cluster-agent Deployment exists is left alone; one whose agent
			is gone gets the manifest applied again, which repairs it.

			Many clusters: --contexts-from, --context-selector, --shard and
			--max-failures work as in enroll (an inventory entry's labels win over
			--label; its clientID is for Fleet and is not used here).

			Checked before anything is created: the contexts (known, not Rancher's
			own cluster, reachable, distinct clusters), the names, the labels,
			Rancher's address and CA. --timeout bounds the whole run; a cluster
			that was not Ready in time is reported with the most likely cause. The
			exit code is 0 only when every cluster is Active (or, with --wait=false,
			applied).`),
		Example: templates.Examples(`
			# Import two clusters into the Rancher of the current context
			kubectl regtoken import edge-1 edge-2 --label env=prod

			# Name the Rancher cluster, and read the result as JSON
			kubectl regtoken import kind-dev --name dev -o json

			# Only the manifest, into a file only you can read
			kubectl regtoken import dev --manifest-only --manifest-file dev-import.yaml

			# Clusters whose import token rotates within a week
			kubectl regtoken import list --expiring-within 7d`),
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeContexts(f),
		RunE:              cli.RunE(o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Name, "name", "", "Name of the Rancher cluster (with one context; default: the context's name).")
	fs.StringArrayVar(&o.Labels, "label", nil, "Label KEY=VALUE for the Rancher cluster (repeatable).")
	fs.StringVar(&o.RancherURL, "rancher-url", "", "Rancher's https address to fetch the import manifest from (default: the server-url setting); the agents connect to server-url either way.")
	fs.StringVar(&o.RancherCAFile, "rancher-ca-file", "", "PEM file of Rancher's CA (default: the cacerts setting, else the system's roots).")
	fs.BoolVar(&o.ManifestOnly, "manifest-only", false, "Create the Rancher clusters named by the arguments and print their manifests (credentials!) instead of applying them.")
	fs.StringVar(&o.ManifestFile, "manifest-file", "", "With --manifest-only, write the manifests to this new file (mode 0600) instead of stdout.")
	fs.BoolVar(&o.Force, "force", false, "With --manifest-file, replace an existing file.")
	fs.BoolVar(&o.Wait, "wait", true, "Wait until every cluster is Active; false returns once the manifests are applied.")
	fs.DurationVar(&o.Timeout, "timeout", defaultEnrollLimit, "How long the whole run may take.")
	fs.IntVar(&o.Parallel, "parallel", defaultParallel, "How many clusters are imported at once.")
	o.addRunFlags(cmd)
	dryrun.AddClientFlag(cmd, &o.DryRun, "created and applied")
	_ = cmd.MarkFlagFilename("rancher-ca-file", "pem", "crt")
	o.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: json or yaml print one result object (per cluster: context, name, cluster ID, where the token was read, status, error; never a token); jsonl one such cluster per line as it finishes."
	cmd.AddCommand(newCmdImportList(f, streams), newCmdImportCommand(f, streams))
	return cmd
}

// Complete reads the flags' files and settles names and workspace.
func (o *ImportOptions) Complete(_ *cobra.Command, args []string) error {
	entries, err := o.completeRun(o.f, args, o.In)
	if err != nil {
		return err
	}
	o.args, o.contextLabels = nil, map[string]map[string]string{}
	for _, e := range entries {
		o.args = append(o.args, e.Context)
		if len(e.Labels) > 0 {
			o.contextLabels[e.Context] = e.Labels
		}
	}
	o.workspace = rancherimport.DefaultWorkspace
	if ns, explicit, err := o.f.Namespace(); err == nil && explicit {
		o.workspace = ns
	}
	labels, warnings, err := fleet.ParseLabels(o.Labels)
	if err != nil {
		return err
	}
	o.warnings = warnings
	o.labels = map[string]string{}
	for _, l := range labels {
		o.labels[l.Key] = l.Value
	}
	if o.RancherURL != "" {
		if o.RancherURL, err = rancherimport.ParseURL(o.RancherURL, "--rancher-url"); err != nil {
			return err
		}
	}
	if o.RancherCAFile != "" {
		b, err := os.ReadFile(o.RancherCAFile)
		if err != nil {
			return fmt.Errorf("--rancher-ca-file: %w", err)
		}
		if _, err := rancherimport.CAPool(b, "--rancher-ca-file "+o.RancherCAFile); err != nil {
			return err
		}
		o.caPEM = b
	}
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	core, err := o.f.CoreV1()
	if err != nil {
		return err
	}
	o.rancher = &rancherimport.Rancher{Dyn: dyn, Core: core, Workspace: o.workspace}
	return nil
}

// Validate checks every input before any request.
func (o *ImportOptions) Validate() error {
	if len(o.args) == 0 {
		return nil
	}
	switch {
	case o.Name != "" && len(o.args) > 1:
		return fmt.Errorf("--name names one Rancher cluster but %d contexts are given: import them one at a time, or leave out --name to name each after its context", len(o.args))
	case o.ManifestFile != "" && !o.ManifestOnly:
		return errors.New("--manifest-file needs --manifest-only")
	case o.ManifestOnly && o.print.Output() != "":
		return errors.New("--manifest-only prints the manifests, not a result: leave out -o")
	case o.Timeout <= 0:
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 10m", o.Timeout)
	case o.Parallel < 1:
		return fmt.Errorf("--parallel %d is less than 1: pass how many clusters may be imported at once, e.g. --parallel 8", o.Parallel)
	}
	if err := dryrun.ValidateClient(o.DryRun, "Rancher's import has no server dry run"); err != nil {
		return err
	}
	switch out := o.print.Output(); out {
	case "", "json", "yaml", "jsonl":
	case "name", "wide":
		return fmt.Errorf("-o %s is not supported here: use -o json, yaml or jsonl", out)
	default:
		if err := o.print.Validate(); err != nil {
			return err
		}
	}
	if o.ManifestFile != "" {
		if err := atomicfile.CheckWritable(o.ManifestFile, o.Force, "--manifest-file"); err != nil {
			return err
		}
	}
	if o.ManifestOnly {
		return o.resolveNames()
	}
	return o.resolveContexts()
}

// clusterName checks a Rancher cluster name (a DNS label, not "local").
func clusterName(name, from string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%s %q is not a valid Rancher cluster name: %s; pass --name with lower-case letters, digits and '-' (with several contexts, import that one alone)", from, name, errs[0])
	}
	if name == "local" {
		return fmt.Errorf("%s %q is Rancher's own cluster: pass another --name", from, name)
	}
	return nil
}

// resolveNames takes --manifest-only's arguments as Rancher cluster names.
func (o *ImportOptions) resolveNames() error {
	seen := map[string]bool{}
	for _, name := range o.args {
		if err := clusterName(name, "name"); err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("cluster %q is given twice: name each cluster once", name)
		}
		seen[name] = true
		o.clusters = append(o.clusters, &rancherimport.Cluster{Name: name, Status: rancherimport.StatusPending})
	}
	return nil
}

// mergeLabels are an inventory entry's labels over --label, checked as
// --label is.
func mergeLabels(flags, own map[string]string, ctxName string) (map[string]string, error) {
	if _, _, err := fleet.ParseLabels(fleetLabels(own)); err != nil {
		return nil, fmt.Errorf("the labels of context %s: %w", ctxName, err)
	}
	out := maps.Clone(flags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out, nil
}

// resolveContexts checks the downstream contexts against the kubeconfig
// and builds their clients; it reads no cluster.
func (o *ImportOptions) resolveContexts() error {
	names, current, err := o.f.KubeconfigContexts()
	if err != nil {
		return err
	}
	o.contexts = map[*rancherimport.Cluster]cli.Clients{}
	if err := cli.CheckDownstream(o.f, o.args, names, current, rancherLocal); err != nil {
		return err
	}
	named := map[string]string{}
	for _, ctxName := range o.args {
		name, from := ctxName, "context"
		if o.Name != "" {
			name, from = o.Name, "--name"
		}
		if err := clusterName(name, from); err != nil {
			return err
		}
		if other, dup := named[name]; dup {
			return fmt.Errorf("contexts %q and %q would both become Rancher cluster %q: import them one at a time with --name", other, ctxName, name)
		}
		named[name] = ctxName
		clients, err := o.f.ForContext(ctxName)
		if err != nil {
			return err
		}
		dyn, err := clients.Dynamic()
		if err != nil {
			return err
		}
		c := &rancherimport.Cluster{Context: ctxName, Name: name, Status: rancherimport.StatusPending,
			Downstream: rancherimport.Downstream{Dyn: dyn}}
		if own := o.contextLabels[ctxName]; len(own) > 0 {
			if c.Labels, err = mergeLabels(o.labels, own, ctxName); err != nil {
				return err
			}
		}
		o.contexts[c] = clients
		o.clusters = append(o.clusters, c)
	}
	return nil
}

// Run imports: checks, Rancher's address, clusters, result.
func (o *ImportOptions) Run(ctx context.Context) error {
	if len(o.args) == 0 {
		o.sayNothingLeft(o.ErrOut)
		return nil
	}
	if o.DryRun == dryrun.Client {
		return o.printDryRun()
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res := &RancherImport{Workspace: o.workspace, Clusters: o.clusters, Warnings: append([]string{}, o.warnings...), Notes: []string{}}
	res.SetGroupVersionKind(rancherImportGVK)
	// Rancher's address and CA are read while the clusters are: nothing
	// depends on the other, and both come before the first create.
	var server rancherimport.Server
	var serverErr error
	var g errgroup.Group
	g.Go(func() error {
		server, serverErr = o.rancher.Server(ctx, o.RancherURL, o.caPEM, "--rancher-ca-file "+o.RancherCAFile)
		return nil
	})
	err := o.preflight(ctx)
	_ = g.Wait()
	if err != nil {
		return err
	}
	if serverErr != nil {
		return fmt.Errorf("%w; nothing was created", serverErr)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", printer.EscapeText(w))
	}

	im := &rancherimport.Importer{
		Rancher: o.rancher, Server: server, Labels: o.labels, Parallel: o.Parallel, MaxFailures: o.maxFail,
		ManifestOnly: o.ManifestOnly, Wait: o.Wait,
		AgentPresent: rancherimport.AgentDeploymentPresent,
		Hint: func(c *rancherimport.Cluster, words ...string) string {
			return cli.HintCommand(o.contexts[c], append([]string{"kubectl"}, words...)...)
		},
	}
	o.report(im)
	if err := im.Run(ctx, o.clusters); err != nil {
		return err
	}
	if o.ManifestOnly {
		return o.writeManifests()
	}
	return o.finish(res)
}

// preflight reads every downstream cluster before anything is created:
// Rancher's own cluster, or two contexts of one cluster, refuse the run;
// a cluster that cannot be read fails alone.
func (o *ImportOptions) preflight(ctx context.Context) error {
	if o.ManifestOnly {
		return nil
	}
	mgmtUID := ""
	uids := make([]string, len(o.clusters))
	contexts := make([]string, len(o.clusters))
	var g errgroup.Group
	g.Go(func() error {
		if core, err := o.f.CoreV1(); err == nil {
			mgmtUID, _ = fleet.KubeSystemUID(ctx, core) // best effort, as enroll's
		}
		return nil
	})
	for i, c := range o.clusters {
		contexts[i] = c.Context
		g.Go(func() error {
			core, err := o.contexts[c].CoreV1()
			if err == nil {
				uids[i], err = fleet.KubeSystemUID(ctx, core)
			}
			if err != nil {
				c.Fail(err)
			}
			return nil
		})
	}
	_ = g.Wait()
	return fleet.CheckDistinctClusters(contexts, uids, mgmtUID, rancherLocal)
}

// report shows every cluster's state on stderr with pkg/progress's live
// lines, as enroll does (a failure shows its error on a terminal and
// points below in logs), and with -o jsonl prints each cluster on stdout
// as it finishes.
func (o *ImportOptions) report(im *rancherimport.Importer) {
	labels := make([]string, len(o.clusters))
	label := map[*rancherimport.Cluster]string{}
	for i, c := range o.clusters {
		l := c.Context
		if l == "" {
			l = c.Name
		}
		labels[i] = printer.EscapeText(l)
		label[c] = labels[i]
	}
	lines := progress.NewLines(o.ErrOut, progress.IsTerminal(o.ErrOut), time.Now, labels, time.Now(), time.Second)
	jsonl := &jsonLines{w: o.Out}
	im.Progress = func(c *rancherimport.Cluster, state string) {
		tty, log := state, state
		switch c.Status {
		case rancherimport.StatusFailed:
			tty, log = c.Status+": "+c.Error, c.Status+" (see below)"
		case rancherimport.StatusActive, rancherimport.StatusAlreadyActive:
			tty, log = state+" as "+c.ID, state+" as "+c.ID
		}
		lines.Set(label[c], printer.EscapeText(tty), printer.EscapeText(log))
		if o.print.Output() == "jsonl" && c.Status != rancherimport.StatusPending {
			jsonl.print(c)
		}
	}
	for _, c := range o.clusters {
		if c.Status == rancherimport.StatusFailed {
			im.Progress(c, c.Status)
		}
	}
	o.progressStop = lines.Stop
}

// finish prints the result and turns failures into the shared
// partial-failure line with the re-run command.
func (o *ImportOptions) finish(res *RancherImport) error {
	if o.progressStop != nil {
		o.progressStop()
	}
	if err := printRunEnd(o.print, o.Out, func() *metav1.Table { return importTable(res.Clusters) }, res); err != nil {
		return err
	}
	var r deleter.Result
	var failed, exist []string
	for _, c := range res.Clusters {
		if c.Status != rancherimport.StatusFailed && c.Status != rancherimport.StatusNotStarted {
			r.Done++
			continue
		}
		r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: c.Context}, Err: errors.New(c.Error)})
		failed = append(failed, c.Context)
		if c.ID != "" || c.Created {
			exist = append(exist, c.Name)
		}
	}
	verb := "imported"
	if !o.Wait {
		verb = "applied"
	}
	err := r.Err(verb, len(res.Clusters))
	if err == nil || len(exist) == 0 {
		return err
	}
	rerun := append([]string{"import"}, o.rerunArgs(failed)...)
	if o.Name != "" {
		rerun = append(rerun, "--name", o.Name)
	}
	if o.workspace != rancherimport.DefaultWorkspace {
		rerun = append(rerun, "-n", o.workspace)
	}
	del := append([]string{"kubectl", "delete", rancherimport.ProvisioningClustersGVR.GroupResource().String(), "-n", o.workspace}, exist...)
	return fmt.Errorf("%w; the Rancher clusters stay in namespace %q for a re-run (%s), or delete them with %s", err, o.workspace, fleet.Hint(o.f, rerun...), cli.HintCommand(o.f, del...))
}

var importColumns = []printer.Column{{Name: "CONTEXT"}, {Name: "NAME"}, {Name: "CLUSTER-ID"}, {Name: "STATUS"}}

func importTable(clusters []*rancherimport.Cluster) *metav1.Table {
	rows := make([][]any, 0, len(clusters))
	for _, c := range clusters {
		id := c.ID
		if id == "" {
			id = "<none>"
		}
		rows = append(rows, []any{c.Context, c.Name, id, c.Status})
	}
	return printer.NewTable(importColumns, rows, nil)
}

// writeManifests prints or writes --manifest-only's manifests: the one
// place the token leaves the plugin, because the user asked for it.
func (o *ImportOptions) writeManifests() error {
	if o.progressStop != nil {
		o.progressStop()
	}
	var out []byte
	var r deleter.Result
	for _, c := range o.clusters {
		if c.Status == rancherimport.StatusFailed {
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: c.Name}, Err: errors.New(c.Error)})
			continue
		}
		r.Done++
		out = fmt.Appendf(out, "# Rancher cluster %s (%s): holds its import token, keep it secret\n", c.Name, c.ID)
		out = append(out, c.Manifest.Bytes()...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	if len(out) > 0 {
		if o.ManifestFile == "" {
			if _, err := o.Out.Write(out); err != nil {
				return err
			}
			fmt.Fprintln(o.ErrOut, "the manifests on stdout hold the clusters' import tokens: keep them secret")
		} else {
			if err := atomicfile.Write(o.ManifestFile, out, o.Force); err != nil {
				return err
			}
			fmt.Fprintf(o.ErrOut, "%s written (mode 0600): it holds the clusters' import tokens, keep it secret; apply it with kubectl apply --server-side -f %s on each cluster\n", o.ManifestFile, o.ManifestFile)
		}
	}
	return r.Err("fetched", len(o.clusters))
}

// printDryRun says what import would do, sending nothing.
func (o *ImportOptions) printDryRun() error {
	suffix := dryrun.Suffix(o.DryRun)
	for _, c := range o.clusters {
		fmt.Fprintf(o.Out, "%s/%s created or reused in namespace %s%s\n", rancherimport.ProvisioningClustersGVR.GroupResource(), c.Name, o.workspace, suffix)
		if o.ManifestOnly {
			continue
		}
		fmt.Fprintf(o.Out, "Rancher's import manifest for %s applied server-side to context %s%s\n", c.Name, c.Context, suffix)
	}
	return nil
}
