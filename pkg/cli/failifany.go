package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// FailIfAnyCode is --fail-if-any's exit code: distinct from errors (1), so
// a cron job or a CI step can tell "something to look at" from "broken".
const FailIfAnyCode = 3

// AddFailIfAnyFlag binds --fail-if-any with the help every plugin's list
// shows; item is what the list shows, singular ("token", "cluster").
func AddFailIfAnyFlag(cmd *cobra.Command, p *bool, item string) {
	cmd.Flags().BoolVar(p, "fail-if-any", false, "Exit with code 3 when any "+item+" is shown (for monitoring; errors exit 1).")
}

// FailIfAny is --fail-if-any's outcome once n items of what were shown:
// exit 3 when set and n > 0, nil otherwise.
func FailIfAny(set bool, n int, what string) error {
	if !set || n == 0 {
		return nil
	}
	return &Exit{Code: FailIfAnyCode, Message: fmt.Sprintf("%s shown: %d; exit 3 (--fail-if-any)", what, n)}
}
