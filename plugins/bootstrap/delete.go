package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// DeleteOptions is kubectl bootstrap delete.
type DeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Expired bool
	DryRun  string

	core corev1client.CoreV1Interface
	ids  []string
}

// NewCmdDelete builds kubectl bootstrap delete.
func NewCmdDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{IOStreams: streams, f: f, DryRun: dryrun.None}
	cmd := &cobra.Command{
		Use:   "delete (ID | TOKEN)... | --expired",
		Short: "Delete bootstrap tokens by ID or whole token, or all expired ones",
		Long: cli.LongDesc(`
			Delete bootstrap tokens, named by ID (abcdef), by the whole token
			(abcdef.0123456789abcdef) or by a secure K10 token, as kubeadm token
			delete accepts them. Every argument is checked before anything is
			deleted; a token that cannot be deleted does not stop the others.

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
		ValidArgsFunction: completeTokenIDs(f, cli.ManyNames),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Expired, "expired", false, "Delete every expired bootstrap token.")
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	return cmd
}

// Complete resolves the client and parses the arguments into token IDs.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.core, err = o.f.CoreV1(); err != nil {
		return err
	}
	for i, a := range args {
		p, err := ParseToken(a, fmt.Sprintf("argument %d", i+1), tokenOrID)
		if err != nil {
			return err
		}
		o.ids = append(o.ids, p.ID)
	}
	return nil
}

// Validate checks the combination of arguments and flags.
func (o *DeleteOptions) Validate() error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	switch {
	case len(o.ids) == 0 && !o.Expired:
		return fmt.Errorf("missing argument: pass the ID or the token to delete (%s shows them), or --expired", listHint(o.f))
	case len(o.ids) > 0 && o.Expired:
		return errors.New("pass token IDs or --expired, not both")
	}
	return nil
}

// Run deletes, one token after the other, carrying on past failures.
func (o *DeleteOptions) Run(ctx context.Context) error {
	targets, err := o.targets(ctx)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintf(o.ErrOut, "No expired bootstrap tokens found in %s.\n", Namespace)
		return nil
	}
	o.warnProxy(ctx, targets)
	var missing []deleter.Failure
	if o.DryRun == dryrun.Client && !o.Expired {
		// A client dry run still says whether each token exists.
		targets, missing, err = o.existing(ctx, targets)
		if err != nil {
			return err
		}
	}
	d := deleter.Deleter{
		Out:    o.Out,
		Verb:   "deleted",
		DryRun: o.DryRun,
		Do: func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error {
			return o.deleteError(o.core.Secrets(Namespace).Delete(ctx, SecretName(t.Key), opts), t.Key)
		},
	}
	r, err := d.Run(ctx, targets)
	if len(missing) == 0 || ctx.Err() != nil {
		return err
	}
	r.Failed = append(r.Failed, missing...)
	return r.Err(d.Verb, len(targets)+len(missing))
}

// targets are the tokens named, or the expired ones: only the Secret seen
// (UID precondition), since a token re-created under the same ID
// meanwhile is not expired.
func (o *DeleteOptions) targets(ctx context.Context) ([]deleter.Target, error) {
	var targets []deleter.Target
	if !o.Expired {
		for _, id := range o.ids {
			targets = append(targets, deleter.Target{Name: tokenName(id), Key: id})
		}
		return targets, nil
	}
	secrets, err := listTokenSecrets(ctx, o.core, cli.DefaultChunkSize)
	if err != nil {
		return nil, err
	}
	t := now()
	for i := range secrets {
		s := &secrets[i]
		id := IDFromSecretName(s.Name)
		// The library's rule, as the authenticator and the token cleaner
		// apply it: an unparsable expiration is expired.
		if id == "" || !bootstrapsecretutil.HasExpired(s, t) {
			continue
		}
		targets = append(targets, deleter.Target{Name: tokenName(id), Key: id, UID: s.UID})
	}
	return targets, nil
}

// warnProxy warns before the token that owns kube-system/kubeadm-certs
// is deleted: the garbage collector deletes the control-plane
// certificates with it. Not being able to read kubeadm-certs only means
// no warning.
func (o *DeleteOptions) warnProxy(ctx context.Context, targets []deleter.Target) {
	certs, err := getCertsSecret(ctx, o.core)
	id := CertsProxyID(certs)
	if err != nil || id == "" {
		return
	}
	for _, t := range targets {
		if t.Key == id {
			fmt.Fprintf(o.ErrOut, "warning: bootstrap token %q is the proxy of %s/%s: deleting it deletes the control-plane certificates with it; "+
				"to join control-plane nodes afterwards, run '%s' on a control-plane node\n", id, Namespace, CertsSecretName, UploadCertsCommand)
			return
		}
	}
}

// existing splits targets into those whose Secret exists and failures
// for those without one.
func (o *DeleteOptions) existing(ctx context.Context, targets []deleter.Target) ([]deleter.Target, []deleter.Failure, error) {
	var found []deleter.Target
	var missing []deleter.Failure
	for _, t := range targets {
		_, ok, err := getTokenSecret(ctx, o.core, t.Key)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, nil, err
		case err != nil:
			missing = append(missing, deleter.Failure{Target: t, Err: err})
		case !ok:
			missing = append(missing, deleter.Failure{Target: t, Err: notFound(o.f, t.Key)})
		default:
			found = append(found, t)
		}
	}
	return found, missing, nil
}

// tokenName is a token as delete's outcome lines name it, kubeadm's
// wording: bootstrap token "abcdef" deleted.
func tokenName(id string) string { return fmt.Sprintf("bootstrap token %q", id) }

func (o *DeleteOptions) deleteError(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
		return notFound(o.f, id)
	case apierrors.IsConflict(err):
		return apierror.Explained(err, "bootstrap token %q changed since it was listed (re-created?), not deleted: run the command again", id)
	}
	return apierror.Wrap(err, secretOp("delete", id))
}
