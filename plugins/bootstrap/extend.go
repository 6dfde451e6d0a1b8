package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// ExtendOptions is kubectl bootstrap extend.
type ExtendOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	TTL     string
	Expires string
	DryRun  string

	core    corev1client.CoreV1Interface
	id      string
	secret  string // the secret half, when a whole token was given
	ttl     ttl.Value
	expires time.Time
}

// NewCmdExtend builds kubectl bootstrap extend.
func NewCmdExtend(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ExtendOptions{IOStreams: streams, f: f, DryRun: dryrun.None}
	cmd := &cobra.Command{
		Use:   "extend (ID | TOKEN) (--ttl DURATION | --expires TIME)",
		Short: "Change when a bootstrap token expires",
		Long: cli.LongDesc(`
			Set a bootstrap token's expiration, as Cluster API refreshes the
			tokens of machines still joining: --ttl counts from now (0 or never:
			the token never expires), --expires names the time (RFC3339, e.g.
			2099-12-31T23:59:59Z; stored in UTC).

			Only the Secret's expiration key changes, in one patch that fails if
			the Secret changed since it was read. A time in the past is refused:
			to end a token now, delete it. This also extends the proxy token of
			kubeadm's uploaded certificates (kubeadm init phase upload-certs), whose
			expiry removes the kubeadm-certs Secret.`),
		Example: templates.Examples(`
			# Give a token another two days from now
			kubectl bootstrap extend abcdef --ttl 2d

			# Let it expire at a given time (UTC)
			kubectl bootstrap extend abcdef --expires 2099-12-31T23:59:59Z

			# Never expire
			kubectl bootstrap extend abcdef --ttl never`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenIDs(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.TTL, "ttl", "", "The new lifetime, counted from now: e.g. 30m, 24h, 7d or 1d12h. 0 or never: the token never expires (kubeadm's rule).")
	cmd.Flags().StringVar(&o.Expires, "expires", "", "The new expiration time, RFC3339 (e.g. 2099-12-31T23:59:59Z).")
	dryrun.AddFlag(cmd, &o.DryRun, "changed")
	_ = cmd.RegisterFlagCompletionFunc("ttl", flagValues("24h", "7d", ttl.Never))
	return cmd
}

// Complete resolves the client, the token's ID and the new expiration.
func (o *ExtendOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.core, err = o.f.CoreV1(); err != nil {
		return err
	}
	p, err := ParseToken(args[0], "the argument", tokenOrID)
	if err != nil {
		return err
	}
	o.id, o.secret = p.ID, p.Secret
	if o.TTL != "" {
		if o.ttl, err = ttl.Parse("--ttl", o.TTL); err != nil {
			return err
		}
	}
	if o.Expires != "" {
		if o.expires, err = time.Parse(time.RFC3339, o.Expires); err != nil {
			return fmt.Errorf("--expires %q is not an RFC3339 time: pass e.g. 2099-12-31T23:59:59Z", o.Expires)
		}
	}
	return nil
}

// Validate checks the flags.
func (o *ExtendOptions) Validate() error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	switch {
	case o.TTL == "" && o.Expires == "":
		return errors.New("pass --ttl DURATION or --expires TIME: the new expiration")
	case o.TTL != "" && o.Expires != "":
		return errors.New("--ttl and --expires both set the expiration: pass only one")
	}
	return nil
}

// Run reads the token, checks the new expiration and patches it in.
func (o *ExtendOptions) Run(ctx context.Context) error {
	s, found, err := getTokenSecret(ctx, o.core, o.id)
	if err != nil {
		return err
	}
	if !found {
		return notFound(o.f, o.id)
	}
	t, err := FromSecret(s)
	if err != nil {
		return fmt.Errorf("%w: it is not a token kubeadm would read; delete it and create a new one", err)
	}
	if o.secret != "" && !SecretsEqual(t.Secret, o.secret) {
		// As inspect and verify: a whole token names one credential, and
		// extending another one that shares its ID would be a surprise.
		return fmt.Errorf("bootstrap token %q not extended: the secret half does not match the stored token %q; check for a typo, or pass the ID alone", o.id, o.id)
	}
	t0 := now()
	newExpiry, err := o.newExpiry(t0)
	if err != nil {
		return err
	}
	patch, err := expirationPatch(s.ResourceVersion, newExpiry)
	if err != nil {
		return err
	}
	if o.DryRun != dryrun.Client {
		_, err := o.core.Secrets(Namespace).Patch(ctx, s.Name, types.MergePatchType, patch,
			metav1.PatchOptions{FieldManager: "kubectl-bootstrap", DryRun: dryrun.Request(o.DryRun)})
		switch {
		case apierrors.IsConflict(err):
			return apierror.Explained(err, "bootstrap token %q changed while it was being extended, not extended: run the command again", o.id)
		case apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
			return notFound(o.f, o.id)
		case err != nil:
			return apierror.Wrap(err, secretOp("patch", o.id))
		}
	}
	when := "never expires"
	if newExpiry != nil {
		when = "expires " + ExpiresString(&Token{Expires: newExpiry}) + " (" + o.fromNow(*newExpiry, t0) + ")"
	}
	_, err = fmt.Fprintf(o.Out, "bootstrap token %q extended%s: %s\n", o.id, dryrun.Suffix(o.DryRun), when)
	return err
}

// newExpiry is the expiration to store (nil: none, never expires); a
// time not after now is refused.
func (o *ExtendOptions) newExpiry(t0 time.Time) (*time.Time, error) {
	var when time.Time
	switch {
	case o.Expires != "":
		when = o.expires.UTC()
	case o.ttl.Never || o.ttl.Duration == 0:
		return nil, nil
	default:
		when = t0.Add(o.ttl.Duration).UTC().Truncate(time.Second)
	}
	if !when.After(t0) {
		return nil, fmt.Errorf("--expires %s is not in the future: to end the token now, delete it with %s", when.Format(time.RFC3339), hint(o.f, "delete", o.id))
	}
	return &when, nil
}

// fromNow says how long the new expiration is from now: the --ttl given
// ("2h from now": the stored time, cut to the second, leaves a fraction
// less, which kubeadm's floored TTL column would show as 1h), else the
// time to --expires to the second.
func (o *ExtendOptions) fromNow(expires, t0 time.Time) string {
	d := expires.Sub(t0).Round(time.Second)
	if o.TTL != "" {
		d = o.ttl.Duration
	}
	return ttl.Format(d) + " from now"
}

// expirationPatch is a JSON merge patch of the expiration key alone, with
// the resourceVersion read as a precondition (the server answers 409 if
// the Secret changed meanwhile). nil removes the key.
func expirationPatch(resourceVersion string, expires *time.Time) ([]byte, error) {
	var value any // JSON null removes the key
	if expires != nil {
		value = []byte(expires.UTC().Format(time.RFC3339)) // base64, as Secret data is
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": resourceVersion},
		"data":     map[string]any{bootstrapapi.BootstrapTokenExpirationKey: value},
	})
}
