package bootstrap

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// VerifyOptions is kubectl bootstrap verify.
type VerifyOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print *printer.Flags

	rest  *rest.Config
	core  corev1client.CoreV1Interface
	token ParsedToken
}

// NewCmdVerify builds kubectl bootstrap verify.
func NewCmdVerify(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VerifyOptions{IOStreams: streams, f: f, Print: noName(printer.NewFlags(printer.NoTable))}
	cmd := &cobra.Command{
		Use:   "verify TOKEN | -",
		Short: "Authenticate to the API server with a token and show who it is",
		Long: cli.LongDesc(`
			Really authenticate to the API server with a bootstrap token (short or
			secure form; "-" reads it from standard input): a SelfSubjectReview
			sent with the token as the only credential. Prints the user and groups
			the server sees (system:bootstrap:{id}, system:bootstrappers and the
			extra groups), or why the server refused it: expired, no
			authentication usage, unknown token, wrong secret, invalid groups (read
			from the token's Secret when your own credentials may).

			The token never appears in logs: -v is capped below the levels that
			print request bodies, and client-go masks the Authorization header.`),
		Example: templates.Examples(`
			# Check what a token authenticates as
			kubectl bootstrap verify abcdef.0123456789abcdef

			# The same, without the token in the process list
			kubectl bootstrap verify - < token.txt

			# As JSON (the SelfSubjectReview)
			kubectl bootstrap verify - -o json < token.txt`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	o.Print.AddFlags(cmd)
	return cmd
}

// Complete resolves the clients and parses the token.
func (o *VerifyOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.rest, err = o.f.RESTConfig(); err != nil {
		return err
	}
	if o.core, err = o.f.CoreV1(); err != nil {
		return err
	}
	s, err := readTokenArg(args[0], o.In)
	if err != nil {
		return err
	}
	o.token, err = ParseToken(s, "the TOKEN argument", tokenOnly)
	return err
}

// Validate checks -o.
func (o *VerifyOptions) Validate() error {
	if o.Print.Output() == "" {
		return nil // the human summary
	}
	return o.Print.Validate()
}

var selfSubjectReviews = schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}

// Run sends the SelfSubjectReview.
func (o *VerifyOptions) Run(ctx context.Context) error {
	// Only the server address and how to trust it: no client certificate,
	// exec plugin or impersonation may stand in for the token.
	anon := rest.AnonymousClientConfig(o.rest)
	anon.BearerToken = o.token.Short()
	client, err := authenticationv1client.NewForConfig(anon)
	if err != nil {
		return err
	}
	review, err := client.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsUnauthorized(err) {
			return o.refused(ctx)
		}
		return apierror.Wrap(err, apierror.Op{Verb: "create", Resource: selfSubjectReviews,
			NotServed: "the API server does not serve SelfSubjectReview (Kubernetes 1.28 or later needed)"})
	}
	if o.Print.Output() != "" {
		review.SetGroupVersionKind(authenticationv1.SchemeGroupVersion.WithKind("SelfSubjectReview"))
		return o.Print.Print(review, printer.WithoutNamespace, o.Out)
	}
	return writeReview(o.Out, o.token.ID, review.Status.UserInfo)
}

// writeReview prints who the token authenticates as; the server's words
// are escaped as kubectl's printers escape them.
func writeReview(w io.Writer, id string, u authenticationv1.UserInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Token %s authenticates.\n", id)
	fmt.Fprintf(&b, "Username:  %s\n", printers.EscapeTerminal(u.Username))
	if u.UID != "" {
		fmt.Fprintf(&b, "UID:       %s\n", printers.EscapeTerminal(u.UID))
	}
	fmt.Fprintf(&b, "Groups:    %s\n", printers.EscapeTerminal(strings.Join(u.Groups, ", ")))
	for _, k := range slices.Sorted(maps.Keys(u.Extra)) {
		fmt.Fprintf(&b, "Extra:     %s\n", printers.EscapeTerminal(k+"="+strings.Join(u.Extra[k], ",")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// refused explains a 401 from the token's Secret, when the caller's own
// credentials may read it; the token's secret is compared, never shown.
func (o *VerifyOptions) refused(ctx context.Context) error {
	id := o.token.ID
	base := fmt.Sprintf("the API server refused bootstrap token %q (401 Unauthorized)", id)
	s, found, err := getTokenSecret(ctx, o.core, id)
	switch {
	case err != nil:
		return fmt.Errorf("%s; its Secret could not be read to say why (%s)", base, apierror.OneLine(err.Error()))
	case !found:
		return fmt.Errorf("%s: no such token (no Secret %s/%s): list them with %s", base, Namespace, SecretName(id), listHint(o.f))
	}
	t, err := FromSecret(s)
	if err != nil {
		return fmt.Errorf("%s: %w; delete it and create a new one", base, err)
	}
	if !SecretsEqual(t.Secret, o.token.Secret) {
		return fmt.Errorf("%s: the secret half does not match the stored token %q; check for a typo or create a new token", base, id)
	}
	if problems := AuthProblems(s, t, now()); len(problems) > 0 {
		return fmt.Errorf("%s: %s; create a new token with %s", base, strings.Join(problems, "; "), hint(o.f, "create"))
	}
	return fmt.Errorf("%s although its Secret looks valid: is bootstrap token authentication (--enable-bootstrap-token-auth) on in kube-apiserver?", base)
}
