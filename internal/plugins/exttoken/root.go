// Package exttoken is `kubectl exttoken`: Rancher's ext Token API, the
// legacy v3 token audit and Rancher's token TTL settings.
package exttoken

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// Plugin describes kubectl exttoken.
var Plugin = cli.Plugin{
	Name:  "exttoken",
	Short: "Manage Rancher API tokens from kubectl",
	Long: `
		Create, list, expire and revoke Rancher tokens (tokens.ext.cattle.io),
		audit legacy never-expiring tokens and Rancher's token TTL settings.`,
	Example: `
		# Create a token that expires in 30 days; it is printed once
		kubectl exttoken create --description "CI" --ttl 30d

		# List your Rancher tokens with the server's columns
		kubectl exttoken list -o wide

		# Prune expired tokens
		kubectl exttoken delete --expired --dry-run

		# Audit never-expiring legacy tokens
		kubectl exttoken legacy list --never-expiring`,
}

// NewRoot builds the command tree of kubectl exttoken.
func NewRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(Plugin, streams, f)
	root.AddCommand(
		NewCreateCmd(f, streams),
		NewListCmd(f, streams),
		NewGetCmd(f, streams),
		NewDescribeCmd(f, streams),
		NewDeleteCmd(f, streams),
		NewDisableCmd(f, streams),
		NewEnableCmd(f, streams),
		NewSetTTLCmd(f, streams),
		NewSetDescriptionCmd(f, streams),
		NewLegacyCmd(f, streams),
		NewSettingsCmd(f, streams),
	)
	return root
}
