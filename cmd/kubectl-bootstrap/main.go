// Command kubectl-bootstrap is the kubectl bootstrap plugin.
package main

import (
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/plugins/bootstrap"
)

func main() { cli.Main(bootstrap.Plugin, bootstrap.NewRoot) }
