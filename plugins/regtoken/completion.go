package regtoken

import (
	"context"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// completeTokenNames completes token names in the namespace -n (or the
// kubeconfig's) selects.
func completeTokenNames(f cli.Clients, arity cli.Arity) cobra.CompletionFunc {
	return cli.CompleteNames(arity, func(ctx context.Context) ([]string, error) {
		ns, _, err := f.Namespace()
		if err != nil {
			return nil, err
		}
		client, err := fleet.TokenClient(f)
		if err != nil {
			return nil, err
		}
		list, err := client.Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(list.Items))
		for _, item := range list.Items {
			names = append(names, item.GetName())
		}
		return names, nil
	})
}
