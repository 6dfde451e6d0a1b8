// Package exttoken is `kubectl exttoken`: Rancher's ext Token API, the
// legacy v3 token audit and Rancher's token TTL settings.
package exttoken

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Plugin describes kubectl exttoken.
var Plugin = cli.Plugin{
	Name:  "exttoken",
	Short: "Manage Rancher API tokens from kubectl",
	Long: `
		Create, list, expire and revoke Rancher tokens (tokens.ext.cattle.io),
		audit legacy never-expiring tokens and Rancher's token TTL settings.`,
	Example: `
		# List your Rancher tokens with the server's columns
		kubectl exttoken list -o wide`,
}

// NewRoot builds the command tree of kubectl exttoken.
func NewRoot(streams genericiooptions.IOStreams) (*cobra.Command, *cli.Factory) {
	root, f := cli.NewRoot(Plugin, streams)
	return root, f
}
