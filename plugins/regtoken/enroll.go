package regtoken

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// Test hooks, nil outside tests: the run's deadline and each state
// change, so a test ends --timeout on an event, not on the clock.
var (
	enrollDeadline func(context.Context, time.Duration) (context.Context, context.CancelFunc)
	enrollChanged  func(cl *fleet.EnrolledCluster, state string)
)

const (
	defaultParallel    = 8
	defaultEnrollLimit = 10 * time.Minute
)

// EnrollOptions is `kubectl regtoken enroll`: flags bound to the
// engine's options, the engine, and the printing.
type EnrollOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	opts  fleet.EnrollOptions
	print *printer.Flags
	e     *fleet.Enroller
	clusterRun
	// userClientIDs are --client-id as given (the inventory's are added
	// to the engine's, not to a re-run's flags).
	userClientIDs []string
	// userChartVersion is --chart-version as given: the engine fills in
	// the controller's, which a re-run reads again.
	userChartVersion string
}

// NewCmdEnroll builds `kubectl regtoken enroll`.
func NewCmdEnroll(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &EnrollOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable, "jsonl")}
	cmd := &cobra.Command{
		Use:   "enroll (CONTEXT... | --contexts-from FILE) [-n NAMESPACE] [--mode agent|manager] [--token-name NAME | --reuse-token NAME] [--ttl DURATION] [--label KEY=VALUE]... [--client-id [CONTEXT=]ID]... [flags]",
		Short: "Register downstream clusters with Fleet: token and helm install of the agent, or Fleet deploys it (--mode manager)",
		Long: cli.LongDesc(`
			Register the clusters of kubeconfig contexts with the Fleet manager of
			the current context (or --context), end to end.

			enroll creates a ClusterRegistrationToken (--token-name, else a name
			starting with enroll-) or uses an existing one (--reuse-token), waits
			for its values as create does, and installs the fleet-agent into every
			downstream CONTEXT by running helm with the argv create prints, plus
			--kube-context CONTEXT (and --kubeconfig when given): helm upgrade
			--install, without --wait, the values on helm's stdin (nothing is
			written to disk). It then waits, by watch, until the Fleet controller
			has granted each cluster's registration and the agent has stored its
			credential, and prints a table CONTEXT, CLIENT-ID, CLUSTER, STATUS
			(-o json|yaml: one result object).

			A cluster whose agent is registered already (its credential Secret
			fleet-agent exists) is reported and left alone: a new token does not
			make a healthy agent register again. --reregister deletes that Secret
			and restarts the agent after installing the new values, and waits for
			the new registration.

			The client ID of a Fleet Cluster is --client-id (with several
			contexts: --client-id CONTEXT=ID for each), else the UID of the
			cluster's kube-system namespace, as the agent takes it. Two contexts
			with one client ID would become one Fleet Cluster and are refused.

			--chart is fleet/fleet-agent (added with helm repo add from --repo-url,
			its index refreshed with helm repo update fleet), a local chart
			directory or .tgz, or an oci:// reference.
			--chart-version defaults to the Fleet controller's version, read from
			the image tag of its Deployment, so agent and controller match.

			Checked before anything is created: the contexts (known, not the
			management cluster, reachable, distinct clusters), the helm binary, the
			client IDs, and, for a token without --ttl, whether the controller
			requires a TTL. --timeout bounds the whole run; a cluster that did not
			register in time is reported with the most likely cause. The exit code
			is 0 only when every cluster registered (or, with
			--wait-registration=false, was installed).

			Many clusters: --contexts-from reads the contexts from a file (one per
			line, or YAML entries with name, clientID and labels; the entry's
			labels win over --label), --context-selector keeps the names that
			match, and --shard I/N takes a stable slice of them, for an Indexed
			Job or a CI matrix (a context's shard depends on its name only).
			--max-failures stops starting clusters once too many failed; those
			not started are reported NotStarted. A re-run leaves registered
			clusters alone, so running the same command again resumes. -o jsonl
			prints each cluster on stdout as it finishes.

			--mode manager registers the clusters the way Rancher does, without a
			token and without helm on this machine: in each downstream cluster it
			creates ServiceAccount kube-system/kubectl-regtoken-fleet, binds it to
			cluster-admin (the Fleet controller applies the agent's namespace,
			ClusterRole and Deployment with it) and mints a token for it with a
			TokenRequest valid for --credential-ttl. The kubeconfig built from the
			context's server and CA and that token (never your own credential)
			goes into Secret CLUSTER-kubeconfig (key value), labelled
			app.kubernetes.io/managed-by=kubectl-regtoken; --api-server-url and
			--api-server-ca-file, when given, go into it as apiServerURL and
			apiServerCA, the Fleet manager's address for the agent. Then it creates
			the Fleet Cluster CLUSTER (the context name made a valid name), whose
			spec.kubeConfigSecret names the Secret and spec.clientID is the
			kube-system UID (or --client-id), with the --label labels, and waits by
			watch until Fleet has deployed the agent and the agent has checked in
			(status.agent.lastSeen). A re-run skips clusters registered already,
			goes on waiting for the others, writes a new credential for a Cluster
			whose Secret is gone, and sets changed --label values on the Cluster.
			kubectl regtoken clusters lists them, repair redeploys an agent, remove
			takes a cluster out on both sides.`),
		Example: templates.Examples(`
			# Register two clusters with the Fleet manager of the current context
			kubectl regtoken enroll edge-1 edge-2 -n fleet-default --ttl 1h --label env=prod

			# Name the Fleet Clusters' client IDs, and read the result as JSON
			kubectl regtoken enroll edge-1 edge-2 --ttl 1h --client-id edge-1=store-17 --client-id edge-2=store-18 -o json

			# An air-gapped install from a chart archive, returning once helm is done
			kubectl regtoken enroll edge-1 --ttl 1h --chart ./fleet-agent-0.16.1.tgz --wait-registration=false

			# Show every helm command without running anything
			kubectl regtoken enroll edge-1 edge-2 --ttl 1h --dry-run=client

			# Shard 2 of 4 of an inventory, stopping after 5 failures, one JSON line per cluster
			kubectl regtoken enroll --contexts-from clusters.txt --shard 2/4 --max-failures 5 -o jsonl

			# Let Fleet's controller deploy the agents, with a credential valid for 90 days
			kubectl regtoken enroll edge-1 edge-2 -n fleet-default --mode manager --credential-ttl 90d --label env=prod`),
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeContexts(f),
		RunE:              cli.RunE(o),
	}
	fs := cmd.Flags()
	op := &o.opts
	fs.StringVar(&op.Mode, "mode", fleet.ModeAgent, "agent: a token and a helm install of the agent from here; manager: a credential minted in each cluster, a kubeconfig Secret and a Fleet Cluster, and Fleet's controller deploys the agent.")
	fs.StringVar(&op.CredentialTTL, "credential-ttl", "", "--mode manager: lifetime of the token minted in each cluster for the Fleet controller: "+ttl.Examples+" (never is refused: such tokens always expire; default 365d).")
	fs.StringVar(&op.KubeconfigSecretNamespace, "kubeconfig-secret-namespace", "", "--mode manager: namespace of the kubeconfig Secrets (default: the Clusters' namespace; Fleet allows only its own namespaces besides).")
	fs.StringVar(&op.TokenName, "token-name", "", "Name of the token to create (default: generated, starting with enroll-).")
	fs.StringVar(&op.ReuseToken, "reuse-token", "", "Use this existing token instead of creating one (an expired one is refused; it is never deleted).")
	fs.StringVar(&op.TTL, "ttl", "", "Time to live of the created token: "+ttl.Examples+" (default: --timeout plus 10m; the token is deleted once every cluster holds its own credential).")
	fs.BoolVar(&op.KeepToken, "keep-token", false, "Keep the created token after every cluster registered (default: delete it, since it can register more clusters).")
	fs.StringArrayVar(&op.Install.Labels, "label", nil, "Label KEY=VALUE for the Fleet Clusters, passed to helm as --set-string labels.KEY=VALUE (repeatable; with --reregister, default: the installed labels).")
	fs.StringArrayVar(&op.ClientIDs, "client-id", nil, "spec.clientID of the Fleet Cluster: ID with one context, CONTEXT=ID per context with several (repeatable); default: the installed client ID, else the cluster's kube-system UID.")
	fs.StringVar(&op.Install.APIServerURL, "api-server-url", "", "https URL of the Fleet manager's API server for the agents; default: the token's values, else the kubeconfig's server.")
	fs.StringVar(&op.Install.APIServerCAFile, "api-server-ca-file", "", "PEM file of that API server's CA; default: the token's values, else the kubeconfig's CA.")
	fs.StringVar(&op.Helm, "helm", "", "The helm binary to run (default: helm on PATH).")
	fs.StringVar(&op.Chart, "chart", fleet.AgentChart, "The fleet-agent chart: fleet/fleet-agent, a local directory or .tgz, or an oci:// reference.")
	fs.StringVar(&op.Install.ChartVersion, "chart-version", "", "Chart version for helm --version (default: the Fleet controller's version, from its image tag).")
	fs.StringVar(&op.RepoURL, "repo-url", fleet.HelmRepoURL, "URL of the fleet helm repository, for helm repo add (with --chart fleet/...).")
	fs.BoolVar(&op.Reregister, "reregister", false, "Make registered agents register again with the new token, keeping their client ID and labels; the old credential is restored if the new registration fails.")
	fs.BoolVar(&op.WaitRegistration, "wait-registration", true, "Wait until every cluster is registered; false returns once helm has installed the agents.")
	fs.DurationVar(&op.Timeout, "timeout", defaultEnrollLimit, "How long the whole run may take (values, installs, registrations).")
	fs.IntVar(&op.Parallel, "parallel", defaultParallel, "How many helm installs (--mode manager: clusters) run at once.")
	fs.IntVar(&op.WaveSize, "wave-size", 0, "Register the clusters in waves of this many, each wave with a token of its own that is deleted once the wave's clusters hold their credentials; a wave takes at most 30m (default 0: one token for all).")
	o.addRunFlags(cmd)
	dryrun.AddClientFlag(cmd, &op.DryRun, "run (the helm commands)")
	_ = cmd.MarkFlagFilename("api-server-ca-file", "pem", "crt")
	_ = cmd.MarkFlagFilename("helm")
	_ = cmd.RegisterFlagCompletionFunc("reuse-token", completeTokenNames(f, cli.OneName))
	_ = cmd.RegisterFlagCompletionFunc("client-id", completeClientIDContexts(f))
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{fleet.ModeAgent, fleet.ModeManager}, cobra.ShellCompDirectiveNoFileComp))
	o.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: json or yaml print one result object (token, and per context the helm argv, release, client ID, Fleet Cluster, status, error) and nothing else on stdout; jsonl one such cluster per line as it finishes."
	return cmd
}

// Complete resolves the token, the downstream contexts and the clients.
func (o *EnrollOptions) Complete(_ *cobra.Command, args []string) error {
	o.userClientIDs = slices.Clone(o.opts.ClientIDs)
	entries, err := o.completeRun(o.f, args, o.In)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		// An empty slice of the inventory is a job with nothing to do,
		// not an error: an Indexed Job's pod for it succeeds.
		return nil
	}
	o.opts.MaxFailures = o.maxFail
	o.opts.Contexts, o.opts.ContextLabels = nil, map[string][]string{}
	for _, e := range entries {
		o.opts.Contexts = append(o.opts.Contexts, e.Context)
		if e.ClientID != "" {
			o.opts.ClientIDs = append(o.opts.ClientIDs, e.Context+"="+e.ClientID)
		}
		if len(e.Labels) > 0 {
			o.opts.ContextLabels[e.Context] = fleetLabels(e.Labels)
		}
	}
	o.opts.Deadline = enrollDeadline
	o.userChartVersion = o.opts.Install.ChartVersion
	if k := o.f.Flags().KubeConfig; k != nil {
		o.opts.Kubeconfig = *k
	}
	o.e, err = fleet.NewEnroller(o.f, o.opts)
	return err
}

// fleetLabels are an inventory entry's labels as --label values, in key
// order.
func fleetLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// Validate checks every input before any request: the flags, the
// contexts and the client IDs.
func (o *EnrollOptions) Validate() error {
	if o.e == nil {
		return nil
	}
	if o.print.Output() != "jsonl" {
		if err := validateResultOutput(o.print); err != nil {
			return err
		}
	}
	return o.e.Validate()
}

// Run enrolls and prints the result.
func (o *EnrollOptions) Run(ctx context.Context) error {
	if o.e == nil {
		o.sayNothingLeft(o.ErrOut)
		return nil
	}
	if o.opts.DryRun == dryrun.Client {
		return o.printDryRun()
	}
	jsonl := &jsonLines{w: o.Out}
	prog := newEnrollProgress(o.ErrOut, progress.IsTerminal(o.ErrOut), time.Now, o.e.Clusters(), time.Now(), time.Second)
	o.e.Said = func(line string) { fmt.Fprintln(o.ErrOut, printer.EscapeText(line)) }
	o.e.Changed = func(cl *fleet.EnrolledCluster, state, detail string) {
		prog.set(cl, state, detail)
		if o.print.Output() == "jsonl" && cl.Status != fleet.StatusPending && state == cl.Status {
			jsonl.print(cl)
		}
		if enrollChanged != nil {
			enrollChanged(cl, state)
		}
	}
	res, tok, err := o.e.Run(ctx)
	prog.stop()
	if err != nil {
		return err
	}
	return o.finish(res, tok)
}

// finish prints the result and turns failures into the one error line,
// with a re-run that repeats every flag that shapes the install.
func (o *EnrollOptions) finish(res *fleet.Enrollment, tok *fleet.Token) error {
	if tok == nil || res.TokenDeleted {
		for _, n := range res.Notes {
			if tok == nil || strings.Contains(n, "was deleted") {
				fmt.Fprintf(o.ErrOut, "note: %s\n", printer.EscapeText(n))
			}
		}
	}
	if err := printRunEnd(o.print, o.Out, func() *metav1.Table { return enrollTable(res.Clusters) }, res); err != nil {
		return err
	}
	var r deleter.Result
	var elsewhere []string
	for _, cl := range res.Clusters {
		switch cl.Status {
		case fleet.StatusFailed, fleet.StatusNotStarted:
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: cl.Context}, Err: errors.New(cl.Error)})
		case fleet.StatusRegisteredElsewhere:
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: cl.Context}, Err: errors.New(cl.Error)})
			elsewhere = append(elsewhere, cl.Context)
		default:
			r.Done++
		}
	}
	verb := "registered"
	if !o.opts.WaitRegistration {
		verb = "installed"
	}
	err := r.Err(verb, len(res.Clusters))
	if err == nil {
		return nil
	}
	if len(res.Waves) > 0 {
		// Each wave had its own token; a re-run makes new ones.
		var kept []string
		for _, w := range res.Waves {
			if !w.TokenDeleted {
				kept = append(kept, w.Token)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("%w; re-run with %s", err, o.rerunHint(failedContexts(res), elsewhere, ""))
		}
		return fmt.Errorf("%w; re-run with %s; the tokens of the waves with failures stay until they expire, or delete them with %s", err,
			o.rerunHint(failedContexts(res), elsewhere, ""), fleet.Hint(o.f, append(append([]string{"delete"}, kept...), "-n", o.e.Namespace())...))
	}
	if tok == nil || res.TokenDeleted || res.TokenGone {
		return fmt.Errorf("%w; re-run with %s", err, o.rerunHint(failedContexts(res), elsewhere, ""))
	}
	return fmt.Errorf("%w; %s %q stays in namespace %q (%s) for a re-run: %s; or delete it with %s", err, fleet.Kind, tok.Name, tok.Namespace, describeExpiry(tok),
		o.rerunHint(failedContexts(res), elsewhere, tok.Name), fleet.Hint(o.f, "delete", tok.Name, "-n", tok.Namespace))
}

// rerunHint is enroll for the failed contexts with every flag that shapes
// the install, so that, run as printed, it registers the same identity.
func (o *EnrollOptions) rerunHint(contexts, elsewhere []string, token string) string {
	op := o.opts
	args := append([]string{"enroll"}, o.rerunArgs(contexts)...)
	args = append(args, "-n", o.e.Namespace())
	if op.Mode == fleet.ModeManager {
		args = append(args, "--mode", fleet.ModeManager)
		if op.CredentialTTL != "" {
			args = append(args, "--credential-ttl", op.CredentialTTL)
		}
		if op.KubeconfigSecretNamespace != "" {
			args = append(args, "--kubeconfig-secret-namespace", op.KubeconfigSecretNamespace)
		}
	}
	if token != "" {
		args = append(args, "--reuse-token", token)
	}
	for _, l := range op.Install.Labels {
		args = append(args, "--label", l)
	}
	for _, id := range o.userClientIDs {
		if ctx, _, ok := strings.Cut(id, "="); !ok || slices.Contains(contexts, ctx) {
			args = append(args, "--client-id", id)
		}
	}
	if op.Chart != fleet.AgentChart {
		args = append(args, "--chart", op.Chart)
	}
	if op.RepoURL != fleet.HelmRepoURL {
		args = append(args, "--repo-url", op.RepoURL)
	}
	if v := o.userChartVersion; v != "" {
		args = append(args, "--chart-version", v)
	}
	if op.Helm != "" {
		args = append(args, "--helm", op.Helm)
	}
	if op.Install.APIServerURL != "" {
		args = append(args, "--api-server-url", op.Install.APIServerURL)
	}
	if op.Install.APIServerCAFile != "" {
		args = append(args, "--api-server-ca-file", op.Install.APIServerCAFile)
	}
	if op.Reregister || len(elsewhere) > 0 {
		args = append(args, "--reregister")
	}
	if !op.WaitRegistration {
		args = append(args, "--wait-registration=false")
	}
	if op.KeepToken {
		args = append(args, "--keep-token")
	}
	if op.WaveSize > 0 {
		args = append(args, "--wave-size", fmt.Sprint(op.WaveSize))
	}
	return fleet.Hint(o.f, args...)
}

func failedContexts(res *fleet.Enrollment) []string {
	var out []string
	for _, cl := range res.Clusters {
		if cl.Failed() {
			out = append(out, cl.Context)
		}
	}
	return out
}

// printDryRun prints what enroll would run, sending nothing.
func (o *EnrollOptions) printDryRun() error {
	if o.opts.Mode == fleet.ModeManager {
		lines, notes := o.e.ManagedPlan()
		for _, l := range lines {
			fmt.Fprintln(o.Out, l)
		}
		for _, n := range notes {
			fmt.Fprintf(o.ErrOut, "note: %s\n", printer.EscapeText(n))
		}
		fmt.Fprintf(o.ErrOut, "note: nothing was sent%s\n", dryrun.Suffix(o.opts.DryRun))
		return nil
	}
	res, name, commands := o.e.Plan()
	if res.Created {
		fmt.Fprintf(o.Out, "%s/%s created in namespace %s%s\n", fleet.ObjectRef, name, o.e.Namespace(), dryrun.Suffix(o.opts.DryRun))
	}
	for _, c := range commands {
		fmt.Fprintln(o.Out, c)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", printer.EscapeText(n))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", printer.EscapeText(w))
	}
	fmt.Fprintf(o.ErrOut, "note: nothing was run%s; helm reads the token's values on stdin (%s)\n", dryrun.Suffix(o.opts.DryRun), fleet.Hint(o.f, "values", name, "-n", o.e.Namespace(), "--values-file", "-"))
	if o.opts.Install.ChartVersion == "" && !strings.HasPrefix(o.opts.Chart, ".") && !strings.HasPrefix(o.opts.Chart, "/") && !strings.HasSuffix(o.opts.Chart, ".tgz") {
		fmt.Fprintln(o.ErrOut, "note: without --chart-version, enroll passes the Fleet controller's version (read from its Deployment, which a dry run does not read)")
	}
	return nil
}

// completeContexts completes the kubeconfig's contexts other than the
// current one.
func completeContexts(f cli.Clients) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		names, current, err := f.KubeconfigContexts()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range names {
			if n != current && !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeClientIDContexts offers CONTEXT= for --client-id, for the
// contexts that could be enrolled.
func completeClientIDContexts(f cli.Clients) cobra.CompletionFunc {
	contexts := completeContexts(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		names, _ := contexts(cmd, nil, toComplete)
		out := make([]string, 0, len(names))
		for _, n := range names {
			out = append(out, n+"=")
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
}
