// Command kubectl-regtoken is the kubectl regtoken plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/regtoken"
)

func main() { cli.Main(regtoken.Plugin, regtoken.NewRoot) }
