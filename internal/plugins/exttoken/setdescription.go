package exttoken

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// SetDescriptionOptions is `kubectl exttoken set-description`.
type SetDescriptionOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams

	Name, Text string
}

// NewSetDescriptionCmd builds `kubectl exttoken set-description NAME TEXT`.
func NewSetDescriptionCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetDescriptionOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "set-description NAME TEXT",
		Short: "Change a Rancher token's description",
		Long: templates.LongDesc(`
			Replace a token's description (spec.description), shown by
			list -o wide. An empty TEXT ("") clears it.`),
		Example: templates.Examples(`
			# Say what a token is for
			kubectl exttoken set-description token-abcde "CI: deploy to staging"`),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeNames(f, tokensGVR, true),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete takes the arguments.
func (o *SetDescriptionOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.Text = args[0], args[1]
	return nil
}

// Validate checks the name.
func (o *SetDescriptionOptions) Validate() error { return validateTokenName(o.Name) }

// Run patches the description.
func (o *SetDescriptionOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, tokensGVR)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"description": o.Text}})
	if err != nil {
		return err
	}
	if _, err := ri.Patch(ctx, o.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return wrapToken(err, "patch", o.Name)
	}
	fmt.Fprintf(o.streams.Out, "%s/%s description set\n", extTokenResource, o.Name)
	return nil
}
