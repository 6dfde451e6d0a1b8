package regtoken

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// StatusRepaired is a cluster whose agent checked in again.
const StatusRepaired = "Repaired"

// RepairOptions is `kubectl regtoken repair`.
type RepairOptions struct {
	genericiooptions.IOStreams
	clusterTargets

	Timeout      time.Duration
	Helm         string
	Chart        string
	ChartVersion string
	RepoURL      string

	mu sync.Mutex // the progress lines of clusters repaired at once
}

// NewCmdRepair builds `kubectl regtoken repair`.
func NewCmdRepair(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RepairOptions{IOStreams: streams, clusterTargets: clusterTargets{f: f}}
	cmd := &cobra.Command{
		Use:   "repair CONTEXT|CLUSTER... [-n NAMESPACE] [--timeout D]",
		Short: "Make registered clusters' agents deploy or register again, keeping each cluster's identity",
		Long: cli.LongDesc(`
			Repair the agents of registered clusters, named by kubeconfig CONTEXT or
			Fleet CLUSTER name in the namespace (-n), matched as remove matches them.

			A cluster enrolled with --mode manager: repair bumps the Cluster's
			spec.redeployAgentGeneration, so Fleet's controller deletes and
			re-applies every agent object downstream, and waits by watch until the
			new agent has checked in (a new status.agent.lastSeen). The agent
			re-registers on its own; this takes about a minute (it waits for the
			old agent's lease).

			A cluster registered by an agent with a token (agent mode) needs its
			context: repair runs kubectl regtoken enroll CONTEXT --reregister, which
			creates a token, installs its values with helm, removes the agent's
			credential and restarts it, and waits for the new registration, keeping
			the client ID and labels the agent was installed with. The old
			credential is kept in memory and put back if the new registration
			fails; the token is deleted once the agent holds its new credential.
			--helm, --chart, --chart-version and --repo-url are enroll's.

			The result is a table CONTEXT, CLUSTER, MODE, STATUS; --timeout bounds
			the whole run. The exit code is 0 only when every cluster checked in
			again.`),
		Example: templates.Examples(`
			# Redeploy the agent of a cluster enrolled with --mode manager
			kubectl regtoken repair edge-1 -n fleet-default

			# Re-register an agent-mode cluster that lost its registration, from a chart archive
			kubectl regtoken repair edge-2 -n fleet-default --chart ./fleet-agent-0.16.1.tgz`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeClusterTargets(f),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", defaultEnrollLimit, "How long the whole repair may take.")
	cmd.Flags().StringVar(&o.Helm, "helm", "", "Agent mode: the helm binary to run (default: helm on PATH).")
	cmd.Flags().StringVar(&o.Chart, "chart", fleet.AgentChart, "Agent mode: the fleet-agent chart: fleet/fleet-agent, a local directory or .tgz, or an oci:// reference.")
	cmd.Flags().StringVar(&o.ChartVersion, "chart-version", "", "Agent mode: chart version for helm --version (default: the Fleet controller's version).")
	cmd.Flags().StringVar(&o.RepoURL, "repo-url", fleet.HelmRepoURL, "Agent mode: URL of the fleet helm repository (with --chart fleet/...).")
	_ = cmd.MarkFlagFilename("helm")
	return cmd
}

// Complete resolves the namespace and the management clients.
func (o *RepairOptions) Complete(_ *cobra.Command, args []string) error { return o.complete(args) }

// Validate checks the flags.
func (o *RepairOptions) Validate() error {
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 10m", o.Timeout)
	}
	return o.validate()
}

type repaired struct {
	t      *fleet.Target
	status string
	err    error
}

// Run resolves every argument, then repairs the manager-mode clusters
// (redeploy) and the agent-mode ones (one enroll --reregister for all)
// at once.
func (o *RepairOptions) Run(ctx context.Context) error {
	deadline := enrollDeadline
	if deadline == nil {
		deadline = context.WithTimeout
	}
	ctx, cancel := deadline(ctx, o.Timeout)
	defer cancel()
	targets, err := o.m.ResolveTargets(ctx, o.args, "repaired")
	if err != nil {
		return err
	}
	results := make([]*repaired, len(targets))
	var agents []string
	agentIdx := map[string]int{}
	for i, t := range targets {
		results[i] = &repaired{t: t}
		switch {
		case t.Cluster == nil:
			results[i].err = fmt.Errorf("context %s matches no Fleet Cluster in namespace %s: register it with %s", t.Context, o.m.Namespace, fleet.Hint(o.f, "enroll", t.Context, "-n", o.m.Namespace))
		case t.Mode() == fleet.ModeManager:
		case t.Context == "":
			results[i].err = fmt.Errorf("the Fleet Cluster %s was registered by an agent (agent mode) and matches no context of the kubeconfig: re-registering it needs the cluster; add its context and run %s", t.ClusterName(), fleet.Hint(o.f, "repair", "CONTEXT", "-n", o.m.Namespace))
		default:
			agentIdx[t.Context] = i
			agents = append(agents, t.Context)
		}
	}
	var g errgroup.Group
	g.SetLimit(lifecycleParallel)
	for _, r := range results {
		if r.err != nil || r.t.Mode() != fleet.ModeManager {
			continue
		}
		g.Go(func() error {
			r.err = o.redeploy(ctx, r.t)
			return nil
		})
	}
	if len(agents) > 0 {
		g.Go(func() error {
			o.reregister(ctx, agents, func(ctxName string, status string, err error) {
				r := results[agentIdx[ctxName]]
				r.status, r.err = status, err
			})
			return nil
		})
	}
	_ = g.Wait()
	return o.finish(results)
}

// redeploy is one manager-mode cluster's repair.
func (o *RepairOptions) redeploy(ctx context.Context, t *fleet.Target) error {
	label := t.Context
	if label == "" {
		label = t.ClusterName()
	}
	// The kubeconfig Secret must be there: without it Fleet cannot
	// reach the cluster to deploy anything.
	if ns, name, ok := t.Summary.KubeconfigSecret(); ok {
		if _, err := o.m.Core.Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("the kubeconfig Secret %s/%s of Fleet Cluster %s cannot be read (%s): Fleet could not deploy the agent; run %s to write a new one", ns, name, t.ClusterName(), apierror.OneLine(err.Error()), fleet.Hint(o.f, "enroll", orText(t.Context, "CONTEXT"), "--mode", fleet.ModeManager, "-n", o.m.Namespace))
		}
	}
	err := o.m.Redeploy(ctx, t, func(line string) { o.say(label, line) })
	switch {
	case err == nil:
		o.say(label, StatusRepaired)
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the redeployed agent of Fleet Cluster %s did not check in within --timeout %s: see the Cluster's conditions (%s); repair again to wait once more", t.ClusterName(), o.Timeout,
			cli.HintCommand(o.f, "kubectl", "get", "clusters.fleet.cattle.io", t.ClusterName(), "-n", o.m.Namespace, "-o", "yaml"))
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted while waiting for the agent of Fleet Cluster %s; spec.redeployAgentGeneration was bumped, so Fleet redeploys it anyway", t.ClusterName())
	}
	return err
}

// reregister is enroll --reregister for the agent-mode contexts: the
// engine's own path, which keeps client ID and labels and restores the
// old credential when the new registration fails.
func (o *RepairOptions) reregister(ctx context.Context, contexts []string, done func(ctxName, status string, err error)) {
	opts := fleet.EnrollOptions{
		Contexts: contexts, Reregister: true, WaitRegistration: true, Timeout: o.Timeout, Parallel: defaultParallel, DryRun: dryrun.None,
		Helm: o.Helm, Chart: o.Chart, RepoURL: o.RepoURL, Install: fleet.InstallOptions{ChartVersion: o.ChartVersion},
		Deadline: func(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
			return context.WithCancel(ctx)
		},
	}
	if k := o.f.Flags().KubeConfig; k != nil {
		opts.Kubeconfig = *k
	}
	fail := func(err error) {
		for _, c := range contexts {
			done(c, fleet.StatusFailed, err)
		}
	}
	e, err := fleet.NewEnroller(o.f, opts)
	if err != nil {
		fail(err)
		return
	}
	if err := e.Validate(); err != nil {
		fail(err)
		return
	}
	e.Said = func(line string) { o.say("", line) }
	e.Changed = func(cl *fleet.EnrolledCluster, state, detail string) {
		if detail != "" && cl.Status != fleet.StatusFailed {
			state += " " + detail
		}
		o.say(cl.Context, state)
	}
	res, _, err := e.Run(ctx)
	if err != nil {
		fail(err)
		return
	}
	for _, cl := range res.Clusters {
		switch cl.Status {
		case fleet.StatusRegistered:
			done(cl.Context, StatusRepaired, nil)
		case fleet.StatusAlreadyRegistered:
			done(cl.Context, cl.Status, nil)
		default:
			done(cl.Context, cl.Status, errors.New(cl.Error))
		}
	}
}

// say is one progress line on stderr.
func (o *RepairOptions) say(label, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if label == "" {
		fmt.Fprintln(o.ErrOut, printer.EscapeText(line))
		return
	}
	fmt.Fprintf(o.ErrOut, "%s: %s\n", printer.EscapeText(label), printer.EscapeText(line))
}

var repairColumns = []printer.Column{{Name: "CONTEXT"}, {Name: "CLUSTER"}, {Name: "MODE"}, {Name: "STATUS"}}

// finish prints the table and the one partial-failure line.
func (o *RepairOptions) finish(results []*repaired) error {
	rows := make([][]any, 0, len(results))
	var r deleter.Result
	for _, x := range results {
		status := x.status
		switch {
		case x.err != nil:
			status = fleet.StatusFailed
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: x.t.Arg}, Err: x.err})
		case status == "":
			status = StatusRepaired
			r.Done++
		default:
			r.Done++
		}
		rows = append(rows, []any{orText(printer.Cell(x.t.Context), "<none>"), printer.Cell(x.t.ClusterName()), orText(x.t.Mode(), "<none>"), status})
	}
	if err := printer.NewFlags(printer.WithTable).Print(printer.NewTable(repairColumns, rows, nil), printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return r.Err("repaired", len(results))
}
