package exttoken

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// enabledState is what enable and disable set spec.enabled to.
type enabledState bool

const (
	tokenEnabled  enabledState = true
	tokenDisabled enabledState = false
)

func (s enabledState) verb() string {
	if s == tokenEnabled {
		return "enabled"
	}
	return "disabled"
}

// EnableOptions is `kubectl exttoken enable` and `disable`.
type EnableOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Names []string

	state  enabledState
	tokens tokenClient
}

// NewCmdDisable builds `kubectl exttoken disable NAME...`.
func NewCmdDisable(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &EnableOptions{IOStreams: streams, f: f, state: tokenDisabled}
	return &cobra.Command{
		Use:   "disable NAME...",
		Short: "Disable Rancher tokens without deleting them (spec.enabled=false)",
		Long: cli.LongDesc(`
			Disable tokens: Rancher rejects a disabled token until it is enabled
			again, and keeps it (with its owner, TTL and last use) for review.
			Every named token is tried; a failure does not stop the others.
			Disabling the token this request authenticates with gets a warning
			first: it logs your kubeconfig out.`),
		Example: templates.Examples(`
			# Stop a token from working for now
			kubectl exttoken disable token-abcde`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeTokens(f, cli.ManyNames, func(t extToken) bool { return t.Enabled }),
		RunE:              cli.RunE(o),
	}
}

// NewCmdEnable builds `kubectl exttoken enable NAME...`.
func NewCmdEnable(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &EnableOptions{IOStreams: streams, f: f, state: tokenEnabled}
	return &cobra.Command{
		Use:   "enable NAME...",
		Short: "Enable disabled Rancher tokens again (spec.enabled=true)",
		Long: cli.LongDesc(`
			Enable tokens that were disabled. An expired token stays expired:
			enabling does not extend its TTL. Every named token is tried; a
			failure does not stop the others.`),
		Example: templates.Examples(`
			# Let a disabled token work again
			kubectl exttoken enable token-abcde`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeTokens(f, cli.ManyNames, func(t extToken) bool { return !t.Enabled }),
		RunE:              cli.RunE(o),
	}
}

// Complete takes the names and builds the client.
func (o *EnableOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	var err error
	o.tokens, err = newTokenClient(o.f)
	return err
}

// Validate checks the names.
func (o *EnableOptions) Validate() error {
	for _, n := range o.Names {
		if err := validateTokenName(o.f, n); err != nil {
			return err
		}
	}
	return nil
}

// Run patches spec.enabled on each token that is not in that state yet.
func (o *EnableOptions) Run(ctx context.Context) error {
	doing := "disabling"
	if o.state == tokenEnabled {
		doing = "enabling"
	}
	targets := namedTargets(ctx, o.ErrOut, o.tokens, o.Names, doing, func(t extToken) string {
		if t.Enabled == bool(o.state) {
			return "already " + o.state.verb()
		}
		return ""
	})
	patch := fmt.Appendf(nil, `{"spec":{"enabled":%t}}`, bool(o.state))
	d := deleter.Deleter{Out: o.Out, Verb: o.state.verb(), DryRun: dryrun.None,
		Do: func(ctx context.Context, t deleter.Target, _ metav1.DeleteOptions) error {
			_, err := o.tokens.patch(ctx, t.Key, patch)
			return err
		}}
	_, err := d.Run(ctx, targets)
	return err
}
