package exttoken

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
)

// DeleteOptions is `kubectl exttoken delete`.
type DeleteOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams

	Names     []string
	Expired   bool
	DryRun    string
	ChunkSize int64
}

// NewDeleteCmd builds `kubectl exttoken delete`.
func NewDeleteCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:     "delete NAME... | --expired [--dry-run]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Revoke Rancher tokens by name, or prune the expired ones",
		Long: templates.LongDesc(`
			Delete (revoke) tokens by name, or with --expired every token whose
			creation time plus TTL has passed. Rancher up to 2.14 never deletes
			expired tokens, so they pile up.

			Tokens are deleted one by one: Rancher's user role has no
			deletecollection, and one failure does not stop the others. A pruned
			token is deleted only if it is still the one that was listed (UID
			precondition). --dry-run (or --dry-run=client) only prints what would be
			deleted; --dry-run=server lets the server check each delete.`),
		Example: templates.Examples(`
			# Revoke two tokens
			kubectl exttoken delete token-abcde token-fghij

			# What would pruning remove?
			kubectl exttoken delete --expired --dry-run

			# Prune expired tokens
			kubectl exttoken delete --expired`),
		ValidArgsFunction: completeNames(f, tokensGVR, false),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Expired, "expired", false, "Delete every expired token you can see (all users' for administrators).")
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	cmd.Flags().Int64Var(&o.ChunkSize, "chunk-size", defaultChunkSize, "With --expired, list tokens in pages of this many.")
	return cmd
}

// Complete takes the names.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return nil
}

// Validate requires names or --expired, not both.
func (o *DeleteOptions) Validate() error {
	return validateDelete(o.Names, o.Expired, "--expired", o.DryRun, o.ChunkSize, validateTokenName)
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
	if chunk < 0 {
		return fmt.Errorf("invalid --chunk-size %d: use a positive number, or 0 to fetch everything at once", chunk)
	}
	for _, n := range names {
		if err := valid(n); err != nil {
			return err
		}
	}
	return nil
}

// Run deletes.
func (o *DeleteOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, tokensGVR)
	if err != nil {
		return err
	}
	targets := make([]target, 0, len(o.Names))
	for _, n := range o.Names {
		targets = append(targets, target{name: n})
	}
	if o.Expired {
		now := time.Now()
		_, err := listTokens(ctx, ri, "", o.ChunkSize, func(u *unstructured.Unstructured) error {
			if tokenFrom(u).expired(now) {
				targets = append(targets, target{name: u.GetName(), uid: u.GetUID()})
			}
			return nil
		})
		if err != nil {
			return wrapToken(err, "list", "")
		}
		if len(targets) == 0 {
			fmt.Fprintln(o.streams.ErrOut, "No expired tokens found.")
			return nil
		}
	}
	d := deleter{
		streams: o.streams, resource: extTokenResource, dryRun: o.DryRun,
		del: func(ctx context.Context, t target, opts metav1.DeleteOptions) error {
			return wrapToken(ri.Delete(ctx, t.name, opts), "delete", t.name)
		},
	}
	return d.run(ctx, targets)
}

// target is one object to delete; uid, when set, is a precondition.
type target struct {
	name string
	uid  types.UID
}

// deleter deletes item by item, reporting each, and fails with one line
// that counts what was and was not deleted.
type deleter struct {
	streams  genericiooptions.IOStreams
	resource string
	dryRun   string
	del      func(context.Context, target, metav1.DeleteOptions) error
}

func (d deleter) run(ctx context.Context, targets []target) error {
	var failed []error
	done := 0
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after deleting %d of %d: %w", done, len(targets), err)
		}
		if d.dryRun == dryrun.Client {
			fmt.Fprintf(d.streams.Out, "%s %q deleted%s\n", d.resource, t.name, dryrun.Suffix(d.dryRun))
			done++
			continue
		}
		opts := metav1.DeleteOptions{DryRun: dryrun.Request(d.dryRun)}
		if t.uid != "" {
			uid := t.uid
			opts.Preconditions = &metav1.Preconditions{UID: &uid}
		}
		suffix := dryrun.Suffix(d.dryRun)
		if err := d.del(ctx, t, opts); err != nil {
			failed = append(failed, err)
			continue
		}
		done++
		fmt.Fprintf(d.streams.Out, "%s %q deleted%s\n", d.resource, t.name, suffix)
	}
	switch len(failed) {
	case 0:
		return nil
	case len(targets):
		if len(targets) == 1 {
			return failed[0]
		}
		return fmt.Errorf("deleted none of %d: %v (and %d more failures)", len(targets), failed[0], len(failed)-1)
	default:
		return fmt.Errorf("deleted %d of %d; %d failed, first: %v", done, len(targets), len(failed), failed[0])
	}
}
