package regtoken

import (
	"slices"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// completeTokenNames completes token names in the namespace -n (or the
// kubeconfig's) selects; many allows several names (delete).
func completeTokenNames(f cli.Clients, many bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, _, err := f.Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		client, err := tokenClient(f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := cli.CompletionContext(cmd)
		defer cancel()
		list, err := client.Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, item := range list.Items {
			if !slices.Contains(args, item.GetName()) {
				names = append(names, item.GetName())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
