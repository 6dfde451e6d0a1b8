package regtoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// RemoveOptions is `kubectl regtoken remove`.
type RemoveOptions struct {
	genericiooptions.IOStreams
	clusterTargets
	DryRun string
}

// NewCmdRemove builds `kubectl regtoken remove`.
func NewCmdRemove(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RemoveOptions{IOStreams: streams, clusterTargets: clusterTargets{f: f}}
	cmd := &cobra.Command{
		Use:   "remove CONTEXT|CLUSTER... [-n NAMESPACE] [--dry-run]",
		Short: "Take registered clusters out of Fleet on both sides: the Fleet Cluster, the agent and the credentials",
		Long: cli.LongDesc(`
			Remove clusters from the Fleet manager of the current context, named by
			their kubeconfig CONTEXT or their Fleet CLUSTER name in the namespace
			(-n). A context is matched to its Fleet Cluster by the client ID (the
			cluster's kube-system UID) or the context enroll --mode manager
			recorded; a Cluster to its context the same way.

			Upstream it deletes the Fleet Cluster (Fleet then removes its
			namespace, import token and registrations) and, for a cluster enrolled
			with --mode manager, its kubeconfig Secret (a Secret kubectl regtoken
			did not write is kept and said so). Deleting a Cluster does not
			uninstall the agent, so downstream it deletes the agent itself, without
			helm: the objects of helm's release fleet-agent, of the release
			fleet-agent-CLUSTER that Fleet takes the agent over into, and those
			Fleet's controller applies directly in manager mode (Deployment,
			Secrets, ConfigMap, ServiceAccount, NetworkPolicy, ClusterRole and
			ClusterRoleBinding, the helm release records), the credential enroll
			--mode manager minted (ServiceAccount and ClusterRoleBinding
			kubectl-regtoken-fleet), and the cattle-fleet-system namespace when no
			other Deployment runs in it.

			Each object deleted gets a line. A Cluster without a context in the
			kubeconfig is removed upstream only, and said so. A failure does not
			stop the other clusters; running the same remove again finishes it.
			--dry-run (client) lists what exists and would go, deleting nothing.`),
		Example: templates.Examples(`
			# See what would be removed, then remove two clusters
			kubectl regtoken remove edge-1 edge-2 -n fleet-default --dry-run
			kubectl regtoken remove edge-1 edge-2 -n fleet-default

			# Remove a Fleet Cluster by name
			kubectl regtoken remove cluster-0a1b2c3d4e5f -n fleet-default`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeClusterTargets(f),
		RunE:              cli.RunE(o),
	}
	dryrun.AddClientFlag(cmd, &o.DryRun, "removed (the objects that exist)")
	return cmd
}

// Complete resolves the namespace and the management clients.
func (o *RemoveOptions) Complete(_ *cobra.Command, args []string) error { return o.complete(args) }

// Validate checks --dry-run and the namespace.
func (o *RemoveOptions) Validate() error {
	if err := dryrun.ValidateClient(o.DryRun, "a removal spans the management and the downstream clusters"); err != nil {
		return err
	}
	return o.validate()
}

// Run resolves every argument first (a typo removes nothing), then
// removes the clusters at once and prints their steps in argument order.
func (o *RemoveOptions) Run(ctx context.Context) error {
	what := "removed"
	if o.DryRun == dryrun.Client {
		what = "removed (dry run)"
	}
	targets, err := o.m.ResolveTargets(ctx, o.args, what)
	if err != nil {
		return err
	}
	steps := make([][]fleet.Step, len(targets))
	errs := make([]error, len(targets))
	var g errgroup.Group
	g.SetLimit(lifecycleParallel)
	for i, t := range targets {
		g.Go(func() error {
			steps[i], errs[i] = o.m.Remove(ctx, t, fleet.RemoveOptions{DryRun: o.DryRun == dryrun.Client})
			return nil
		})
	}
	_ = g.Wait()
	suffix := dryrun.Suffix(o.DryRun)
	var r deleter.Result
	for i, t := range targets {
		for _, s := range steps[i] {
			fmt.Fprintln(o.Out, printer.EscapeText(s.String())+suffix)
		}
		switch {
		case t.Cluster == nil:
			fmt.Fprintf(o.ErrOut, "note: context %s matches no Fleet Cluster in namespace %s: only its downstream side was looked at\n", printer.EscapeText(t.Context), o.m.Namespace)
		case t.Context == "":
			fmt.Fprintf(o.ErrOut, "note: Fleet Cluster %s matches no context of the kubeconfig: its agent and credential downstream were not reached; remove them with kubectl regtoken remove CONTEXT once the kubeconfig has the cluster's context\n", printer.EscapeText(t.ClusterName()))
		}
		if errs[i] == nil && len(steps[i]) == 0 {
			fmt.Fprintf(o.ErrOut, "note: %s: nothing to remove\n", printer.EscapeText(t.Arg))
		}
		if errs[i] != nil {
			// Once the Cluster is gone, only the context still names
			// the cluster.
			again := fleet.Hint(o.f, "remove", orText(t.Context, t.Arg), "-n", o.m.Namespace)
			err := fmt.Errorf("%s; run %s to finish", apierror.OneLine(errs[i].Error()), again)
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: t.Arg}, Err: err})
			continue
		}
		r.Done++
	}
	if o.DryRun == dryrun.Client {
		fmt.Fprintf(o.ErrOut, "note: nothing was deleted%s\n", suffix)
	}
	return r.Err("removed", len(targets))
}
