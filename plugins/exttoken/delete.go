package exttoken

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// DeleteOptions is `kubectl exttoken delete`.
type DeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Names     []string
	Selection tokenSelection
	ChunkSize int64
	prune

	tokens tokenClient
	now    time.Time
}

// NewCmdDelete builds `kubectl exttoken delete`.
func NewCmdDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:     "delete NAME... | [--expired] [--never-expiring] [--older-than D] [--unused-for D] [--kind K] [--user-id ID] [-l SELECTOR] [--dry-run] [-o name]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Revoke Rancher tokens by name, or prune a selection",
		Long: cli.LongDesc(`
			Delete (revoke) tokens by name, or prune every token a selection
			picks: --expired (creation time plus TTL has passed; Rancher up to
			2.14 never deletes them, so they pile up), --never-expiring,
			--older-than D (creation), --unused-for D (last use; never-used
			tokens count from creation), --kind, --user-id and -l. Selection
			flags combine: a token must match all of them. "kubectl exttoken
			list" with the same flags shows exactly what would go.

			Tokens are deleted one by one: Rancher's user role has no
			deletecollection, and one failure does not stop the others. A
			prune deletes while it still lists (pages of --chunk-size), up to
			--parallel at once (16 by default), within a client-side rate
			limit of 50 requests per second per worker; when the server
			throttles (429) every worker pauses as long as it asks. Each
			pruned token is deleted only if it is still the one that was
			listed (UID precondition); one replaced meanwhile is skipped and
			one already gone is counted as gone, so an interrupted prune
			(Ctrl-C, a dropped connection) is finished by running it again.

			A prune shows progress on stderr (a bar on a terminal, a line per
			5% or 10 seconds otherwise) and ends with a summary: deleted,
			already gone, skipped, failed (each failure on its own line); it
			exits 1 if any failed. -o name prints each deleted token instead.
			Deleting the token this request authenticates with logs your
			kubeconfig out: a named one gets a warning first, a selected one
			is skipped. --dry-run (or --dry-run=client) prints what a prune
			would delete, counted by kind and user with the first names
			(every name with -o name); --dry-run=server lets the server check
			each delete.`),
		Example: templates.Examples(`
			# Revoke two tokens
			kubectl exttoken delete token-abcde token-fghij

			# What would pruning remove?
			kubectl exttoken delete --expired --dry-run

			# Prune expired tokens
			kubectl exttoken delete --expired

			# Kubeconfig tokens nobody used for 90 days, every name
			kubectl exttoken delete --kind kubeconfig --unused-for 90d --dry-run -o name

			# A large prune, 32 deletes at a time
			kubectl exttoken delete --older-than 180d --parallel 32`),
		ValidArgsFunction: completeTokens(f, cli.ManyNames, anyToken),
		RunE:              cli.RunE(o),
	}
	o.Selection.addFlags(cmd, deleteSelection)
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	addPruneFlags(cmd, &o.prune)
	return cmd
}

// Complete takes the names, parses the selection and builds the client.
func (o *DeleteOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	o.now = now()
	if err := o.Selection.complete(cmd); err != nil {
		return err
	}
	o.resource = extTokenResource
	o.command = command(o.f, append(append([]string{"delete"}, selectionArgs(cmd)...), "--dry-run", "-o", "name")...)
	o.prune.f = o.f
	dyn, err := o.f.DynamicForWorkers(o.Parallel)
	if err != nil {
		return err
	}
	o.tokens = tokenClient{ri: dyn.Resource(tokensGVR), f: o.f}
	return nil
}

// Validate requires names or a selection, not both.
func (o *DeleteOptions) Validate() error {
	if err := o.Selection.validate(); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	return validateDelete(o.Names, o.Selection.selects(), selectionFlags, o.DryRun, o.ChunkSize, func(n string) error { return validateTokenName(o.f, n) })
}

func validateDelete(names []string, selected bool, flag, dryRun string, chunk int64, valid func(string) error) error {
	switch {
	case len(names) == 0 && !selected:
		return fmt.Errorf("nothing to delete: name tokens or pass %s", flag)
	case len(names) > 0 && selected:
		return fmt.Errorf("name tokens or pass %s, not both", flag)
	}
	if err := dryrun.Validate(dryRun); err != nil {
		return err
	}
	if err := cli.ValidateChunkSize(chunk); err != nil {
		return err
	}
	for _, n := range names {
		if err := valid(n); err != nil {
			return err
		}
	}
	return nil
}

// Run deletes the named tokens one by one, or prunes the selection.
func (o *DeleteOptions) Run(ctx context.Context) error {
	do := func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error {
		return o.tokens.delete(ctx, t.Key, opts)
	}
	if len(o.Names) > 0 {
		targets := namedTargets(ctx, o.ErrOut, o.tokens, o.Names, "deleting", nil)
		d := deleter.Deleter{Out: o.Out, Verb: "deleted", DryRun: o.DryRun, Parallel: o.Parallel, Do: do}
		_, err := d.Run(ctx, targets)
		return err
	}
	selector := o.Selection.serverSelector(ctx, o.f)
	return o.run(ctx, o.IOStreams, func(emit func(pruneTarget), endPage func(last bool)) error {
		return o.tokens.eachPage(ctx, selector, o.ChunkSize, func(u *unstructured.Unstructured) error {
			t := tokenFrom(u)
			if !o.Selection.keep(t, o.now) {
				return nil
			}
			tg := pruneTarget{Target: deleter.Target{Name: objectName(extTokenResource, t.Name), Key: t.Name, UID: u.GetUID()}, kind: t.Kind, user: t.UserID}
			if t.Current {
				tg.Skipped = "it authenticates this request"
			}
			emit(tg)
			return nil
		}, endPage)
	}, do)
}

// selectionArgs are the selection flags the user gave, to repeat them in
// the command that prints the full list.
func selectionArgs(cmd *cobra.Command) []string {
	var args []string
	for _, name := range []string{"expired", "never-expiring", "older-than", "unused-for", "kind", "user-id", "selector", "chunk-size"} {
		fl := cmd.Flags().Lookup(name)
		if fl == nil || !fl.Changed {
			continue
		}
		if fl.Value.Type() == "bool" {
			args = append(args, "--"+name)
			continue
		}
		args = append(args, "--"+name+"="+fl.Value.String())
	}
	return args
}

// objectName is how kubectl names an object it deleted: token.ext.cattle.io "x".
func objectName(resource, name string) string { return fmt.Sprintf("%s %q", resource, name) }

// namedTargets looks up each named token first, to warn before the one
// that authenticates this request is deleted or disabled (doing is the
// change as an -ing verb); skip, when set, says why a token is left alone
// ("" to change it). A token that cannot be read is still tried: the
// change itself then says why it failed.
func namedTargets(ctx context.Context, errOut io.Writer, tokens tokenClient, names []string, doing string, skip func(extToken) string) []deleter.Target {
	targets := make([]deleter.Target, 0, len(names))
	for _, n := range names {
		tg := deleter.Target{Name: objectName(extTokenResource, n), Key: n}
		if u, err := tokens.get(ctx, n); err == nil {
			t := tokenFrom(u)
			tg.UID = u.GetUID()
			if skip != nil {
				tg.Skipped = skip(t)
			}
			if t.Current && tg.Skipped == "" {
				fmt.Fprintf(errOut, "warning: %s authenticates this request: %s it logs this kubeconfig out\n", n, doing)
			}
		}
		targets = append(targets, tg)
	}
	return targets
}
