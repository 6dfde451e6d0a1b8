// Command kubectl-bootstrap is the kubectl bootstrap plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/plugins/bootstrap"
)

func main() { cli.Main(bootstrap.Plugin, bootstrap.NewRoot) }
