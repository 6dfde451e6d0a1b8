// Command kubectl-exttoken is the kubectl exttoken plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/plugins/exttoken"
)

func main() { cli.Main(exttoken.Plugin, exttoken.NewRoot) }
