package exttoken

import (
	"context"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// completeTokens completes ext token names (the server already limits
// them to the caller's own) for which keep holds.
func completeTokens(f cli.Clients, arity cli.Arity, keep func(extToken) bool) cobra.CompletionFunc {
	return cli.CompleteNames(arity, func(ctx context.Context) ([]string, error) {
		return names(ctx, f, tokensGVR, func(u *unstructured.Unstructured) bool { return keep(tokenFrom(u)) })
	})
}

// completeLegacyTokens completes v3 token names.
func completeLegacyTokens(f cli.Clients) cobra.CompletionFunc {
	return cli.CompleteNames(cli.ManyNames, func(ctx context.Context) ([]string, error) {
		return names(ctx, f, legacyGVR, func(*unstructured.Unstructured) bool { return true })
	})
}

func anyToken(extToken) bool { return true }

// names is the first page of gvr's names for which keep holds: enough to
// complete, bounded whatever the count.
func names(ctx context.Context, f cli.Clients, gvr schema.GroupVersionResource, keep func(*unstructured.Unstructured) bool) ([]string, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: cli.DefaultChunkSize})
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range list.Items {
		if keep(&list.Items[i]) {
			out = append(out, list.Items[i].GetName())
		}
	}
	return out, nil
}

// extKinds are the spec.kind values Rancher itself gives ext tokens
// (docs/rancher-tokens.md §2): what --kind completes on ext tokens.
var extKinds = []string{"session", "kubeconfig"}

// completeKinds completes a --kind flag with kinds; any other value is
// still accepted.
func completeKinds(cmd *cobra.Command, kinds []string) {
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kinds, cobra.ShellCompDirectiveNoFileComp))
}
