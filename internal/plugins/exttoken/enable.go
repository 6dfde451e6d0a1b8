package exttoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// EnableOptions is `kubectl exttoken enable` and `disable`.
type EnableOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	enable  bool
	Names   []string
}

// NewDisableCmd builds `kubectl exttoken disable NAME...`.
func NewDisableCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	return newEnableCmd(f, streams, false)
}

// NewEnableCmd builds `kubectl exttoken enable NAME...`.
func NewEnableCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	return newEnableCmd(f, streams, true)
}

func newEnableCmd(f cli.Clients, streams genericiooptions.IOStreams, enable bool) *cobra.Command {
	o := &EnableOptions{f: f, streams: streams, enable: enable}
	cmd := &cobra.Command{
		Use:   "disable NAME...",
		Short: "Disable Rancher tokens without deleting them (spec.enabled=false)",
		Long: templates.LongDesc(`
			Disable tokens: Rancher rejects a disabled token until it is enabled
			again, and keeps it (with its owner, TTL and last use) for review.`),
		Example: templates.Examples(`
			# Stop a token from working for now
			kubectl exttoken disable token-abcde`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeNames(f, tokensGVR, false),
		RunE:              cli.RunE(o),
	}
	if enable {
		cmd.Use = "enable NAME..."
		cmd.Short = "Enable disabled Rancher tokens again (spec.enabled=true)"
		cmd.Long = templates.LongDesc(`
			Enable tokens that were disabled. An expired token stays expired:
			enabling does not extend its TTL.`)
		cmd.Example = templates.Examples(`
			# Let a disabled token work again
			kubectl exttoken enable token-abcde`)
	}
	return cmd
}

// Complete takes the names.
func (o *EnableOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return nil
}

// Validate checks the names.
func (o *EnableOptions) Validate() error {
	for _, n := range o.Names {
		if err := validateTokenName(n); err != nil {
			return err
		}
	}
	return nil
}

// Run patches spec.enabled on each token.
func (o *EnableOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, tokensGVR)
	if err != nil {
		return err
	}
	word := "disabled"
	if o.enable {
		word = "enabled"
	}
	patch := fmt.Appendf(nil, `{"spec":{"enabled":%t}}`, o.enable)
	for i, n := range o.Names {
		if _, err := ri.Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			err = wrapToken(err, "patch", n)
			if i > 0 {
				return fmt.Errorf("%w (the %d token(s) before it were %s; the rest were not touched)", err, i, word)
			}
			return err
		}
		fmt.Fprintf(o.streams.Out, "%s/%s %s\n", extTokenResource, n, word)
	}
	return nil
}
