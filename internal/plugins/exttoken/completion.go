package exttoken

import (
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// completeNames completes names of gvr from the cluster (the server
// already limits ext tokens to the caller's own), skipping names already
// on the command line. With single, only the first argument completes.
func completeNames(f cli.Clients, gvr schema.GroupVersionResource, single bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if single && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ri, err := dynamicFor(f, gvr)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := cli.CompletionContext(cmd)
		defer cancel()
		list, err := ri.List(ctx, metav1.ListOptions{Limit: defaultChunkSize})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := map[string]bool{}
		for _, a := range args {
			seen[a] = true
		}
		var out []string
		for _, it := range list.Items {
			if n := it.GetName(); !seen[n] && strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
