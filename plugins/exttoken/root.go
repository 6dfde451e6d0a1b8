// Package exttoken is `kubectl exttoken`: Rancher's ext Token API, the
// legacy v3 token audit and Rancher's token TTL settings.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
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
		NewCmdCreate(f, streams),
		NewCmdList(f, streams),
		NewCmdGet(f, streams),
		NewCmdDescribe(f, streams),
		NewCmdDelete(f, streams),
		NewCmdDisable(f, streams),
		NewCmdEnable(f, streams),
		NewCmdSetTTL(f, streams),
		NewCmdSetDescription(f, streams),
		NewCmdLegacy(f, streams),
		NewCmdSettings(f, streams),
		NewCmdKubeconfig(f, streams), NewCmdExpiring(f, streams),
	)
	return root
}
