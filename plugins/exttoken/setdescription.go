package exttoken

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// SetDescriptionOptions is `kubectl exttoken set-description`.
type SetDescriptionOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Name, Text string

	tokens tokenClient
}

// NewCmdSetDescription builds `kubectl exttoken set-description NAME TEXT`.
func NewCmdSetDescription(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetDescriptionOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "set-description NAME TEXT",
		Short: "Change a Rancher token's description",
		Long: cli.LongDesc(`
			Replace a token's description (spec.description), shown by
			list -o wide. An empty TEXT ("") clears it.`),
		Example: templates.Examples(`
			# Say what a token is for
			kubectl exttoken set-description token-abcde "CI: deploy to staging"`),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeTokens(f, cli.OneName, anyToken),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete takes the arguments and builds the client.
func (o *SetDescriptionOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.Text = args[0], args[1]
	var err error
	o.tokens, err = newTokenClient(o.f)
	return err
}

// Validate checks the name.
func (o *SetDescriptionOptions) Validate() error { return validateTokenName(o.f, o.Name) }

// Run patches the description.
func (o *SetDescriptionOptions) Run(ctx context.Context) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"description": o.Text}})
	if err != nil {
		return err
	}
	if _, err := o.tokens.patch(ctx, o.Name, patch); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s/%s description set\n", extTokenResource, o.Name)
	return nil
}
