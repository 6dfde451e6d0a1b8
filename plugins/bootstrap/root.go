// Package bootstrap is `kubectl bootstrap`: bootstrap tokens as kubeadm,
// k3s and rke2 use them.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package bootstrap

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Plugin describes kubectl bootstrap.
var Plugin = cli.Plugin{
	Name:  "bootstrap",
	Short: "Bootstrap tokens for kubeadm, k3s and rke2",
	Long: `
		Create, list, inspect and delete bootstrap tokens exactly as kubeadm
		does, print secure K10 tokens and join commands for kubeadm, k3s and
		rke2 nodes.`,
	Example: `
		# Create a token and print the kubeadm join command
		kubectl bootstrap create --print-join-command

		# A secure K10 token and the k3s agent join line
		kubectl bootstrap create --flavor k3s --print-join-command

		# List tokens, check one really authenticates, delete it
		kubectl bootstrap list
		kubectl bootstrap verify abcdef.0123456789abcdef
		kubectl bootstrap delete abcdef`,
}

// NewRoot builds the command tree of kubectl bootstrap.
func NewRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(Plugin, streams, f)
	// Every command but generate (which sends nothing) and rotate (which
	// talks to a supervisor, not the API) reads or writes
	// kube-system only.
	for _, cmd := range []*cobra.Command{
		NewCmdCreate(f, streams),
		NewCmdList(f, streams),
		NewCmdDelete(f, streams),
		NewCmdInspect(f, streams),
		NewCmdVerify(f, streams),
		NewCmdExtend(f, streams),
	} {
		addNamespaceFlag(cmd, f)
		root.AddCommand(cmd)
	}
	root.AddCommand(NewCmdGenerate(f, streams), NewCmdRotate(f, streams))
	return root
}
