package bootstrap

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// completeTokenIDs completes token IDs from the cluster, with cli's one
// name completion (arity: one argument or every argument).
func completeTokenIDs(f cli.Clients, arity cli.Arity) cobra.CompletionFunc {
	return cli.CompleteNames(arity, func(ctx context.Context) ([]string, error) {
		core, err := f.CoreV1()
		if err != nil {
			return nil, err
		}
		items, err := listTokenSecrets(ctx, core, cli.DefaultChunkSize)
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(items))
		for i := range items {
			if id := IDFromSecretName(items[i].Name); id != "" {
				ids = append(ids, id)
			}
		}
		return ids, nil
	})
}

// flagValues completes a flag from a fixed list.
func flagValues(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
