package regtoken

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fanout"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/inventory"
)

// clusterRun is what enroll and import share for a run over many
// clusters: which clusters (the arguments and pkg/inventory's flags),
// when to stop starting them (--max-failures) and how fast to ask the
// management side (the request budget).
type clusterRun struct {
	inv  inventory.Options
	rate cli.RequestBudget
	// maxFailures is --max-failures as given, for the re-run.
	maxFailures string
	maxFail     fanout.MaxFailures
}

// addRunFlags binds the inventory, --max-failures and the request budget.
func (r *clusterRun) addRunFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	r.inv.AddFlags(fs)
	fanout.AddMaxFailuresFlag(fs, &r.maxFailures)
	r.rate.AddFlags(fs)
	_ = cmd.MarkFlagFilename("contexts-from", "txt", "yaml", "yml", "json")
}

// completeRun checks the flags, applies the request budget to f and
// resolves the inventory; no entries is a run with nothing to do.
func (r *clusterRun) completeRun(f cli.Clients, args []string, stdin io.Reader) ([]inventory.Entry, error) {
	if err := r.rate.Validate(); err != nil {
		return nil, err
	}
	r.rate.Apply(f)
	entries, err := r.inv.Resolve(args, stdin)
	if err != nil {
		return nil, err
	}
	if r.maxFail, err = fanout.ParseMaxFailures(r.maxFailures); err != nil {
		return nil, err
	}
	return entries, nil
}

// sayNothingLeft is the note of a run whose inventory left no context
// (an Indexed Job's empty shard): not an error.
func (r *clusterRun) sayNothingLeft(w io.Writer) {
	fmt.Fprintf(w, "note: no context is left of the inventory after %s: nothing to do\n", strings.Join(r.inv.Args(), " "))
}

// rerunArgs are the arguments that run the contexts left again: the
// inventory's flags, which resume, else the contexts.
func (r *clusterRun) rerunArgs(left []string) []string { return r.inv.Rerun(left, r.maxFailures) }
