// Package plugins lists the three plugins, for what handles them all (the
// mains, the benchmarks, completion tests).
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package plugins

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/bootstrap"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/exttoken"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/regtoken"
)

// Entry is one plugin and the constructor of its command tree.
type Entry struct {
	cli.Plugin
	NewRoot func(genericiooptions.IOStreams, cli.Clients) *cobra.Command
}

// All are the plugins this repository ships.
var All = []Entry{
	{regtoken.Plugin, regtoken.NewRoot},
	{exttoken.Plugin, exttoken.NewRoot},
	{bootstrap.Plugin, bootstrap.NewRoot},
}

// ByName finds a plugin by its kubectl name ("regtoken").
func ByName(name string) (Entry, bool) {
	for _, e := range All {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// NewCommand builds the plugin's tree on clients from the kubeconfig, as
// its binary does.
func (e Entry) NewCommand(streams genericiooptions.IOStreams) (*cobra.Command, *cli.Factory) {
	f := cli.NewFactory(e.Binary())
	return e.NewRoot(streams, f), f
}
