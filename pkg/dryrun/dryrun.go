// Package dryrun is kubectl's --dry-run flag, bound once for every command
// that creates, changes or deletes.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package dryrun

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The three strategies, spelled as kubectl spells them.
const (
	None   = "none"   // do it
	Client = "client" // send nothing; print what would be done
	Server = "server" // send it as a dry run: the server checks, persists nothing
)

// AddFlag binds --dry-run to p. A bare --dry-run means client, as
// kubectl's once did. what completes the help: "print what would be <what>".
func AddFlag(cmd *cobra.Command, p *string, what string) {
	cmd.Flags().StringVar(p, "dry-run", None, `Must be "none", "client", or "server". client: only print what would be `+what+`, without sending anything; server: send the request as a dry run, so the server checks it but persists nothing.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = Client
	_ = cmd.RegisterFlagCompletionFunc("dry-run", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{None, Client, Server}, cobra.ShellCompDirectiveNoFileComp
	})
}

// AddClientFlag binds --dry-run for a command whose work the server cannot
// dry-run (helm installs, the k3s supervisor): only "none" and "client".
func AddClientFlag(cmd *cobra.Command, p *string, what string) {
	cmd.Flags().StringVar(p, "dry-run", None, `Must be "none" or "client". client: only print what would be `+what+`, changing nothing.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = Client
	_ = cmd.RegisterFlagCompletionFunc("dry-run", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{None, Client}, cobra.ShellCompDirectiveNoFileComp
	})
}

// ValidateClient is Validate for AddClientFlag's commands: server is
// refused with why (the part that has no dry run) and the alternative.
func ValidateClient(v, why string) error {
	if v == Server {
		return fmt.Errorf(`--dry-run=server is not possible: %s; use --dry-run=client to see what would be done`, why)
	}
	if v != None && v != Client {
		return fmt.Errorf(`invalid --dry-run %q: use "none" or "client"`, v)
	}
	return nil
}

// Validate rejects anything but the three strategies.
func Validate(v string) error {
	switch v {
	case None, Client, Server:
		return nil
	}
	return fmt.Errorf(`invalid --dry-run %q: use "none", "client" or "server"`, v)
}

// Request is the dryRun field of a request's options for strategy v.
func Request(v string) []string {
	if v == Server {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// Suffix marks a printed outcome that did not really happen.
func Suffix(v string) string {
	switch v {
	case Client:
		return " (dry run)"
	case Server:
		return " (server dry run)"
	}
	return ""
}
