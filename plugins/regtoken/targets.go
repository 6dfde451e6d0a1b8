package regtoken

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// lifecycleParallel is how many clusters remove and repair handle at once.
const lifecycleParallel = 8

// clusterTargets is what remove and repair share: their CONTEXT|CLUSTER
// arguments and the Fleet management side of the namespace (-n) those
// name Clusters in. fleet.Manager.ResolveTargets turns the arguments into
// targets in Run.
type clusterTargets struct {
	f    cli.Clients
	args []string
	m    *fleet.Manager
}

// complete resolves the namespace and the management clients.
func (c *clusterTargets) complete(args []string) error {
	c.args = args
	ns, _, err := c.f.Namespace()
	if err != nil {
		return err
	}
	c.m, err = fleet.NewManager(c.f, ns)
	return err
}

// validate checks the namespace.
func (c *clusterTargets) validate() error { return fleet.ValidateNamespace(c.m.Namespace) }

// completeClusterTargets completes remove's and repair's arguments: the
// downstream contexts, then the Fleet Clusters of the namespace.
func completeClusterTargets(f cli.Clients) cobra.CompletionFunc {
	contexts := completeContexts(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		out, _ := contexts(cmd, args, toComplete)
		ns, _, err := f.Namespace()
		if err != nil {
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		m, err := fleet.NewManager(f, ns)
		if err != nil {
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), fleet.ContextProbeTimeout)
		defer cancel()
		if items, err := m.ListClusters(ctx); err == nil {
			for _, s := range items {
				if !slices.Contains(out, s.Name) && !slices.Contains(args, s.Name) {
					out = append(out, s.Name)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
