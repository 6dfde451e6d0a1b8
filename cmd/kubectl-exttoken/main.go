// Command kubectl-exttoken is the kubectl exttoken plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/exttoken"
)

func main() { cli.Main(exttoken.Plugin, exttoken.NewRoot) }
