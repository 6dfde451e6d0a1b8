// Command kubectl-regtoken is the kubectl regtoken plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/plugins/regtoken"
)

func main() { cli.Main(regtoken.Plugin, regtoken.NewRoot) }
