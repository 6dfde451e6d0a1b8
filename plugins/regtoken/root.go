// Package regtoken is `kubectl regtoken`: Fleet ClusterRegistrationTokens.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package regtoken

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Plugin describes kubectl regtoken.
var Plugin = cli.Plugin{
	Name:  "regtoken",
	Short: "Register clusters with Fleet in one command",
	Long: `
		Create Fleet ClusterRegistrationTokens, wait for the values Secret the
		Fleet controller makes, write values.yaml and print the helm install of
		the fleet-agent, or enroll downstream clusters end to end: token, helm
		install of the agent, and the wait until Fleet has registered them.`,
	Example: `
		# Create a token valid for 24 hours, write values.yaml and print the helm install
		kubectl regtoken create my-cluster -n fleet-default --ttl 24h

		# Register the clusters of two kubeconfig contexts with Fleet
		kubectl regtoken enroll edge-1 edge-2 -n fleet-default --ttl 1h

		# See the tokens, their expiry and whether their values are ready
		kubectl regtoken list -n fleet-default`,
}

// NewRoot builds the command tree of kubectl regtoken.
func NewRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(Plugin, streams, f)
	root.AddCommand(
		NewCmdCreate(f, streams),
		NewCmdList(f, streams),
		NewCmdGet(f, streams),
		NewCmdDescribe(f, streams),
		NewCmdDelete(f, streams),
		NewCmdValues(f, streams),
		NewCmdHelm(f, streams),
		NewCmdEnroll(f, streams),
		NewCmdImport(f, streams),
		NewCmdClusters(f, streams),
		NewCmdRemove(f, streams),
		NewCmdRepair(f, streams),
	)
	return root
}
