package exttoken

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
)

// A prune is a delete by selection (delete --expired, legacy delete
// --never-expiring, ...). It can pick 100,000 tokens (rancher/rancher
// #37705), so it does not print a line per token: it reports progress on
// stderr and ends with a summary; -o name prints every deleted name, and a
// client dry run prints a plan (counts by kind and user, the first names).

// planNames is how many names a dry-run plan shows; -o name shows all.
const planNames = 10

// planUsers is how many owners a dry-run plan names.
const planUsers = 10

// prune is what delete and legacy delete share for a selection.
type prune struct {
	Output   string // "" or "name"
	DryRun   string
	Parallel int

	resource string // "token.ext.cattle.io", as kubectl names one object
	command  string // the command line for the full list in a plan
	// f renders the hint in a token's failure line with the user's
	// connection flags, as the command's own error line does.
	f cli.Clients
}

// addPruneFlags binds -o for the deletes (only -o name: kubectl delete's).
func addPruneFlags(cmd *cobra.Command, p *prune) {
	cmd.Flags().StringVarP(&p.Output, "output", "o", "", `Output format: "name" prints the name of every token deleted (with --dry-run: every token a selection would delete) instead of a summary.`)
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"name"}, cobra.ShellCompDirectiveNoFileComp
	})
	cmd.Flags().IntVar(&p.Parallel, "parallel", deleter.DefaultParallel, "Delete this many tokens at a time (the client-side rate limit, raised with it, and the server's 429s still pace them).")
}

func (p *prune) validate() error {
	if p.Output != "" && p.Output != "name" {
		return fmt.Errorf(`invalid -o %q: delete prints only names ("-o name")`, p.Output)
	}
	if p.Parallel < 1 {
		return fmt.Errorf("invalid --parallel %d: use 1 or more", p.Parallel)
	}
	return nil
}

// pruneTarget is one selected token with what a plan counts it by.
type pruneTarget struct {
	deleter.Target
	kind, user string
}

// run deletes what list emits (or, on a client dry run, prints the plan).
func (p *prune) run(ctx context.Context, streams genericiooptions.IOStreams, list func(emit func(pruneTarget), endPage func(last bool)) error, do func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error) error {
	if p.DryRun == dryrun.Client {
		return p.plan(streams, list)
	}
	summary := streams.Out
	var names io.Writer
	if p.Output == "name" {
		names, summary = streams.Out, streams.ErrOut
	}
	// The bar counts every target finished, skipped and failed ones too,
	// so it says "finished": "deleted 311 of 311" above a summary of 310
	// deleted and 1 skipped would be two truths.
	rep := progress.New(streams.ErrOut, progress.IsTerminal(streams.ErrOut), now, "finished")
	stop := tick(ctx, rep)
	defer stop()
	pr := deleter.Pruner{
		Deleter:  deleter.Deleter{Verb: "deleted", DryRun: p.DryRun, Do: do},
		Parallel: p.Parallel, Progress: rep, Names: names, Summary: summary,
		Retries: deleter.DefaultRetries, Now: now,
		Explain: func(err error) string { return cli.Explain(err, p.f) },
	}
	s, err := pr.Prune(ctx, func(emit func(deleter.Target), endPage func(bool)) error {
		return list(func(t pruneTarget) {
			if names != nil {
				t.Name = p.resource + "/" + t.Key
			}
			emit(t.Target)
		}, endPage)
	})
	if err == nil && s.Listed == 0 {
		fmt.Fprintln(streams.ErrOut, "No matching tokens found.")
	}
	return err
}

// tick lets the reporter write its 10-second lines while deletes are slow.
func tick(ctx context.Context, rep *progress.Reporter) func() {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rep.Tick()
			}
		}
	}()
	return cancel
}

// plan prints what a client dry run would delete: with -o name every
// name, else the count by kind and by user and the first names.
func (p *prune) plan(streams genericiooptions.IOStreams, list func(emit func(pruneTarget), endPage func(last bool)) error) error {
	total := 0
	byKind, byUser := map[string]int{}, map[string]int{}
	var first []string
	skipped := 0
	err := list(func(t pruneTarget) {
		if t.Skipped != "" {
			skipped++
			fmt.Fprintf(streams.ErrOut, "%s would be skipped: %s\n", t.Name, t.Skipped)
			return
		}
		total++
		if p.Output == "name" {
			fmt.Fprintf(streams.Out, "%s/%s\n", p.resource, t.Key)
			return
		}
		byKind[t.kind]++
		byUser[t.user]++
		if len(first) < planNames {
			first = append(first, printer.EscapeText(t.Key))
		}
	}, nil)
	if err != nil {
		return err
	}
	if p.Output == "name" {
		return nil
	}
	if total == 0 && skipped == 0 {
		fmt.Fprintln(streams.ErrOut, "No matching tokens found.")
		return nil
	}
	w := streams.Out
	fmt.Fprintf(w, "Would delete %d %s%s\n", total, plural(total, p.resource), dryrun.Suffix(dryrun.Client))
	if total == 0 {
		return nil
	}
	fmt.Fprintf(w, "  by kind: %s\n", counts(byKind, len(byKind)))
	fmt.Fprintf(w, "  by user: %s\n", counts(byUser, planUsers))
	more := ""
	if total > len(first) {
		more = fmt.Sprintf(", ... (%d more)", total-len(first))
	}
	fmt.Fprintf(w, "  first:   %s%s\n", strings.Join(first, ", "), more)
	fmt.Fprintf(w, "Every name: %s\n", p.command)
	return nil
}

// counts renders "kubeconfig 30000, session 20000", largest first, at
// most n entries and how many more.
func counts(m map[string]int, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, min(n, len(keys))+1)
	for _, k := range keys[:min(n, len(keys))] {
		label := printer.EscapeText(k)
		if k == "" {
			label = `""`
		}
		parts = append(parts, fmt.Sprintf("%s %d", label, m[k]))
	}
	if len(keys) > n {
		parts = append(parts, fmt.Sprintf("... (%d more)", len(keys)-n))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, resource string) string {
	// kubectl's plural of token.ext.cattle.io is tokens.ext.cattle.io.
	if n == 1 {
		return resource
	}
	name, group, _ := strings.Cut(resource, ".")
	return name + "s." + group
}
