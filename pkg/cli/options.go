package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// Options is the shape of every command's options, as in kubectl: fill in
// from flags and arguments, check everything before any request, then act.
type Options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE runs o's three steps as a cobra RunE; the command's context carries
// the signal cancellation that Run must honour.
func RunE(o Options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
