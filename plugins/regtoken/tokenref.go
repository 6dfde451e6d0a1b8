package regtoken

import (
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// tokenRef is what get, values and helm resolve in Complete: one token
// named by the argument, in the namespace -n (or the kubeconfig) selects,
// and the client that reaches it.
type tokenRef struct {
	Name string

	namespace string
	tokens    dynamic.ResourceInterface
}

func (r *tokenRef) complete(f cli.Clients, args []string) error {
	r.Name = args[0]
	var err error
	if r.namespace, _, err = f.Namespace(); err != nil {
		return err
	}
	client, err := fleet.TokenClient(f)
	if err != nil {
		return err
	}
	r.tokens = client.Namespace(r.namespace)
	return nil
}
