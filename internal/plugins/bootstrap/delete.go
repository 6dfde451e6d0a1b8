package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
)

// DeleteOptions is kubectl bootstrap delete.
type DeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Expired bool
	DryRun  string

	ids []string
}

// NewCmdDelete builds kubectl bootstrap delete.
func NewCmdDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{IOStreams: streams, f: f, DryRun: dryrun.None}
	cmd := &cobra.Command{
		Use:   "delete (ID | TOKEN)... | --expired",
		Short: "Delete bootstrap tokens by ID or whole token, or all expired ones",
		Long: templates.LongDesc(`
			Delete bootstrap tokens, named by ID (abcdef), by the whole token
			(abcdef.0123456789abcdef) or by a secure K10 token, as kubeadm token
			delete accepts them. Every argument is checked before anything is
			deleted.

			--expired deletes every token past its expiration (including those
			whose expiration cannot be parsed, which the API server treats as
			expired), which is the token cleaner's job when it does not run.
			--dry-run shows what would be deleted.

			kube-apiserver caches successful token authentications (10 seconds by
			default), so a deleted token can still authenticate for that long.`),
		Example: templates.Examples(`
			# Delete a token by ID
			kubectl bootstrap delete abcdef

			# Delete by the whole token, as printed by create
			kubectl bootstrap delete abcdef.0123456789abcdef

			# Show which expired tokens would be deleted, then delete them
			kubectl bootstrap delete --expired --dry-run
			kubectl bootstrap delete --expired`),
		ValidArgsFunction: completeTokenIDs(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.Expired, "expired", false, "Delete every expired bootstrap token.")
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	return cmd
}

// Complete parses the arguments into token IDs.
func (o *DeleteOptions) Complete(args []string) error {
	for i, a := range args {
		p, err := ParseToken(a, fmt.Sprintf("argument %d", i+1), true)
		if err != nil {
			return err
		}
		o.ids = append(o.ids, p.ID)
	}
	return nil
}

// Validate checks the combination of arguments and flags.
func (o *DeleteOptions) Validate(args []string) error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	switch {
	case len(args) == 0 && !o.Expired:
		return errors.New(`missing argument: pass the ID or the token to delete (kubectl bootstrap list shows them), or --expired`)
	case len(args) > 0 && o.Expired:
		return errors.New("pass token IDs or --expired, not both")
	}
	return nil
}

// Run deletes.
func (o *DeleteOptions) Run(ctx context.Context) error {
	core, err := o.f.CoreV1()
	if err != nil {
		return err
	}
	type target struct {
		id  string
		uid *metav1.Preconditions
	}
	var targets []target
	if o.Expired {
		secrets, err := listTokenSecrets(ctx, core, defaultChunkSize)
		if err != nil {
			return err
		}
		t := now()
		for i := range secrets {
			s := &secrets[i]
			id := IDFromSecretName(s.Name)
			// The library's rule, as the authenticator and the token
			// cleaner apply it: an unparsable expiration is expired.
			if id == "" || !bootstrapsecretutil.HasExpired(s, t) {
				continue
			}
			// Only the Secret we saw: a token re-created under the same
			// ID meanwhile is not expired.
			targets = append(targets, target{id: id, uid: metav1.NewUIDPreconditions(string(s.UID))})
		}
		if len(targets) == 0 {
			fmt.Fprintf(o.ErrOut, "No expired bootstrap tokens found in %s.\n", Namespace)
			return nil
		}
	} else {
		for _, id := range o.ids {
			targets = append(targets, target{id: id})
		}
	}

	suffix := dryrun.Suffix(o.DryRun)
	opts := metav1.DeleteOptions{DryRun: dryrun.Request(o.DryRun)}
	var failed []string
	var firstErr error
	for _, tg := range targets {
		if o.DryRun != dryrun.Client {
			opts.Preconditions = tg.uid
			err := core.Secrets(Namespace).Delete(ctx, SecretName(tg.id), opts)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed = append(failed, tg.id)
				if firstErr == nil {
					firstErr = deleteError(err, tg.id)
				}
				continue
			}
		} else if !o.Expired {
			// A client dry run still says whether the token exists.
			if _, found, err := getTokenSecret(ctx, core, tg.id); err != nil || !found {
				failed = append(failed, tg.id)
				if firstErr == nil {
					firstErr = err
					if err == nil {
						firstErr = notFound(tg.id)
					}
				}
				continue
			}
		}
		fmt.Fprintf(o.Out, "bootstrap token %q deleted%s\n", tg.id, suffix)
	}
	switch {
	case firstErr == nil:
		return nil
	case len(targets) == 1:
		return firstErr
	default:
		return fmt.Errorf("%d of %d tokens not deleted (%s): %w", len(failed), len(targets), strings.Join(failed, ", "), firstErr)
	}
}

func notFound(id string) error {
	return fmt.Errorf("bootstrap token %q not found (no Secret %s/%s): list them with kubectl bootstrap list", id, Namespace, SecretName(id))
}

func deleteError(err error, id string) error {
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return notFound(id)
	}
	if apierrors.IsConflict(err) {
		return fmt.Errorf("bootstrap token %q changed since it was listed (re-created?), not deleted: run the command again", id)
	}
	return apierror.Wrap(err, secretOp("delete", id))
}
