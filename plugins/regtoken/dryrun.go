package regtoken

import (
	"fmt"

	"github.com/spf13/cobra"
)

// --dry-run as kubectl spells it: none, client (nothing is sent) or server
// (the apiserver validates, including Fleet's CEL rule, and stores
// nothing). A bare --dry-run means client.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

func addDryRunFlag(cmd *cobra.Command, target *string) {
	cmd.Flags().StringVar(target, "dry-run", dryRunNone, `Must be "none", "client" or "server". client: only print what would be done; server: let the API server check it without persisting.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunClient
	_ = cmd.RegisterFlagCompletionFunc("dry-run", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{dryRunNone, dryRunClient, dryRunServer}, cobra.ShellCompDirectiveNoFileComp
	})
}

func validateDryRun(v string) error {
	switch v {
	case dryRunNone, dryRunClient, dryRunServer:
		return nil
	}
	return fmt.Errorf(`--dry-run=%q is not one of "none", "client", "server"`, v)
}
