package regtoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

const defaultTimeout = 2 * time.Minute

// CreateOptions is `kubectl regtoken create`.
type CreateOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install installFlags
	print   *printer.Flags

	Name             string
	GenerateName     string
	TTL              string
	Timeout          time.Duration
	NoWait           bool
	Reuse            bool
	CleanupOnFailure bool
	DryRun           string

	// Resolved by Complete.
	namespace string
	ttl       string // spec.ttl; "" = none
	ttlNote   string
	tokens    dynamic.ResourceInterface
	dyn       dynamic.Interface
}

// NewCmdCreate builds `kubectl regtoken create`.
func NewCmdCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{IOStreams: streams, f: f, install: installFlags{mode: writeValues}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "create [NAME | --generate-name PREFIX] [-n NAMESPACE] [--ttl DURATION] [flags]",
		Short: "Create a registration token, write values.yaml and print the helm install",
		Long: cli.LongDesc(`
			Create a Fleet ClusterRegistrationToken, wait (by watch) until the Fleet
			controller has written its values Secret, write values.yaml (mode 0600)
			and print the helm commands that install the fleet-agent on the
			downstream cluster.

			The token lives in the namespace where the Fleet Clusters should appear
			(-n, default from the kubeconfig). --ttl takes Go durations plus d and w
			anywhere (24h, 1h30m, 7d, 1d12h); Fleet accepts only the units up to h,
			so days and weeks are sent as hours. --ttl never, --ttl 0 or no --ttl
			make a token that never expires. Names starting with import-token- are
			Fleet's own and refused; an existing token is refused unless --reuse is
			given, and an expired one is refused even then.

			Before creating anything, create checks what it can locally: the flags,
			the kubeconfig's CA, that the values file can be written, and (by
			SelfSubjectAccessReview) that you may create tokens and read Secrets in
			the namespace. If something fails after the token exists, the error
			says so and how to delete it.

			When the controller has no apiServerURL or apiServerCA configured,
			values.yaml has them empty: the helm command then sets them from
			--api-server-url/--api-server-ca-file, else from the current kubeconfig
			(the CA is written to NAME-ca.pem beside values.yaml). With
			--values-file - they are filled into the values on stdout instead. The
			helm command installs into values.yaml's internal.systemNamespace when
			it has one, and sets tokenName when values.yaml lacks it (a controller
			older than v0.16; the chart requires it).

			With -o json or -o yaml only one result object goes to stdout: token
			name and namespace, expiry, Secret name, values file, the helm argv as
			an array, warnings and notes.`),
		Example: templates.Examples(`
			# Create a token valid for one day and get values.yaml and the helm commands
			kubectl regtoken create my-cluster -n fleet-default --ttl 24h --label env=prod

			# Let the server pick the name, for pipelines; read the result as JSON
			kubectl regtoken create --generate-name ci- -n fleet-default --ttl 2h --values-file ci-values.yaml -o json

			# Pipe values.yaml straight into helm (the command reads it from stdin)
			kubectl regtoken create my-cluster --ttl 7d --values-file - | helm -n cattle-fleet-system install --create-namespace --wait --values - fleet-agent fleet/fleet-agent

			# Check the input without creating anything
			kubectl regtoken create my-cluster --ttl 1h --dry-run=client -o yaml`),
		Args: cobra.MaximumNArgs(1),
		RunE: cli.RunE(o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.GenerateName, "generate-name", "", "Let the server name the token: PREFIX plus 5 random characters.")
	fs.StringVar(&o.TTL, "ttl", ttl.Never, "Time to live: "+ttl.Examples+"; 0 also means never (Fleet reads a zero ttl as no expiry).")
	fs.DurationVar(&o.Timeout, "timeout", defaultTimeout, "How long to wait for the Fleet controller.")
	fs.BoolVar(&o.NoWait, "no-wait", false, "Create the token and return; fetch values.yaml later with kubectl regtoken values NAME.")
	fs.BoolVar(&o.Reuse, "reuse", false, "If the token exists, use it instead of failing (values.yaml comes from the existing token; an expired token is refused).")
	fs.BoolVar(&o.CleanupOnFailure, "cleanup-on-failure", false, "Delete the token again if waiting for its values fails, times out or is interrupted.")
	dryrun.AddFlag(cmd, &o.DryRun, "created")
	o.install.addFlags(cmd)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete resolves the name, namespace, spec.ttl and the clients Run
// needs.
func (o *CreateOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Name = args[0]
	}
	var err error
	if o.namespace, _, err = o.f.Namespace(); err != nil {
		return err
	}
	v, err := ttl.Parse("--ttl", o.TTL)
	if err != nil {
		return err
	}
	if o.ttl, o.ttlNote, err = fleetTTL("--ttl", v); err != nil {
		return err
	}
	if o.dyn, err = o.f.Dynamic(); err != nil {
		return err
	}
	o.tokens = o.dyn.Resource(tokenGVR).Namespace(o.namespace)
	if o.NoWait || o.DryRun != dryrun.None {
		// No values are fetched: only the label flags matter.
		o.install.labels, o.install.labelWarnings, err = parseLabels(o.install.Labels)
		return err
	}
	return o.install.complete(o.f)
}

// Validate checks every input before any request; it sets nothing.
func (o *CreateOptions) Validate() error {
	switch {
	case o.Name == "" && o.GenerateName == "":
		return errors.New("no token name: pass NAME or --generate-name PREFIX")
	case o.Name != "" && o.GenerateName != "":
		return errors.New("both NAME and --generate-name given: pass one of them")
	case o.Name != "":
		if err := validateName(o.Name); err != nil {
			return err
		}
	default:
		if err := validateGenerateName(o.GenerateName); err != nil {
			return err
		}
		if o.Reuse {
			return errors.New("--reuse needs a NAME: a generated name never exists yet")
		}
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 2m", o.Timeout)
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	if o.NoWait || o.DryRun != dryrun.None {
		// Nothing is fetched or written.
		return checkClientID(o.install.ClientID)
	}
	if o.print.Output() != "" && o.install.ValuesFile == "-" {
		return errors.New("--values-file - and -o both write to stdout: write values.yaml to a file, or leave out -o")
	}
	if err := o.install.validate(); err != nil {
		return err
	}
	return o.install.checkValuesFileWritable(o.Name)
}

// Run checks access, creates the token, waits for its values and finishes
// the install.
func (o *CreateOptions) Run(ctx context.Context) error {
	// The TTL note is printed with the outcome, so that a failure stays
	// one line.
	obj := o.newToken()
	if o.DryRun == dryrun.Client {
		o.printTTLNote()
		return o.printDryRun(obj)
	}
	if o.DryRun == dryrun.None {
		if err := o.checkAccess(ctx); err != nil {
			return err
		}
	}
	got, created, err := o.createToken(ctx, obj)
	if err != nil {
		return err
	}
	if o.DryRun == dryrun.Server {
		o.printTTLNote()
		return o.printDryRun(got)
	}
	tok, err := toToken(got)
	if err != nil {
		return err
	}
	name := tok.Name
	headline := fmt.Sprintf("%s/%s created in namespace %s (%s)", objectRef, name, o.namespace, describeExpiry(tok))
	if !created {
		if err := refuseExpired(o.f, tok, now()); err != nil {
			return err
		}
		headline = fmt.Sprintf("%s/%s exists in namespace %s and is reused (%s)", objectRef, name, o.namespace, describeExpiry(tok))
		if o.ttl != "" && (tok.Spec.TTL == nil || *tok.Spec.TTL != o.ttl) {
			fmt.Fprintf(o.ErrOut, "warning: --ttl %s is ignored: the existing token keeps its ttl %s\n", o.TTL, ttlText(tok))
		}
	}
	if o.NoWait {
		o.printTTLNote()
		return o.printNoWait(tok, headline)
	}

	fail := o.afterWrite(created, tok)
	tok, secret, err := o.waitValues(ctx, got, tok, created)
	if err != nil {
		return fail(err)
	}
	res, err := o.install.finish(o.f, tok, secret, now())
	if err != nil {
		return fail(err)
	}
	if o.ttlNote != "" && created {
		res.Notes = append([]string{o.ttlNote}, res.Notes...)
	}
	if err := printRegistration(o.IOStreams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, o.f, res)
}

// createToken sends the create (server-side dry run included); with
// --reuse an existing token is read instead, and created is false.
func (o *CreateOptions) createToken(ctx context.Context, obj *unstructured.Unstructured) (got *unstructured.Unstructured, created bool, err error) {
	// A signal must not cut the create short: we would not know whether the
	// token exists. It is one short request; the wait after it is what a
	// signal interrupts.
	createCtx, cancelCreate := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	got, err = o.tokens.Create(createCtx, obj, metav1.CreateOptions{FieldManager: "kubectl-regtoken", DryRun: dryrun.Request(o.DryRun)})
	cancelCreate()
	if apierrors.IsAlreadyExists(err) {
		if !o.Reuse || o.DryRun != dryrun.None {
			return nil, false, apierror.Explained(err, "%s %q already exists in namespace %q: pass --reuse to use it (or %s to fetch its values), or choose another name", kind, o.Name, o.namespace, hint(o.f, "values", o.Name, "-n", o.namespace))
		}
		if got, err = o.tokens.Get(ctx, o.Name, metav1.GetOptions{}); err != nil {
			return nil, false, apierror.Wrap(err, tokenOp("get", o.namespace, o.Name))
		}
		return got, false, nil
	} else if err != nil {
		return nil, false, apierror.Wrap(err, tokenOp("create", o.namespace, o.Name))
	}
	return got, true, nil
}

// waitValues waits (by watch, up to --timeout) until the controller has
// written the values of tok, as got was returned by the server, and reads
// the values Secret. A timeout or a signal is explained with what exists
// (and, with --cleanup-on-failure, the token created is deleted); other
// errors are returned as they are, for afterWrite to report.
func (o *CreateOptions) waitValues(ctx context.Context, got *unstructured.Unstructured, tok *Token, created bool) (*Token, *corev1.Secret, error) {
	if tok.Status.SecretName == "" {
		waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
		p := startProgress(o.ErrOut, fmt.Sprintf("the Fleet controller to write the values of %s", tok.Name), o.Timeout)
		var err error
		tok, err = waitForSecretName(waitCtx, o.tokens, o.namespace, tok.Name, got.GetResourceVersion(), tok)
		p.Stop()
		cancel()
		if wait.IsTimeout(err) || errors.Is(err, context.Canceled) {
			return nil, nil, reportedError{interruptedOrTimedOut(o.f, err, o.namespace, got.GetName(), o.Timeout, o.cleanup(created, string(got.GetUID()), got.GetName()))}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	secret, err := o.install.getValuesSecret(ctx, o.f, tok)
	return tok, secret, err
}

// reportedError already says what exists and how to go on; afterWrite
// passes it on as it is.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

// cleanup deletes the token we created when --cleanup-on-failure asks for
// it; nil otherwise.
func (o *CreateOptions) cleanup(created bool, uid, name string) func() error {
	if !created || !o.CleanupOnFailure {
		return nil
	}
	return func() error { return deleteToken(o.tokens, o.namespace, name, uid) }
}

// afterWrite returns how to report a failure once the token exists: with
// --cleanup-on-failure it is deleted again, otherwise the error says the
// token is left and how to delete it.
func (o *CreateOptions) afterWrite(created bool, tok *Token) func(error) error {
	cleanup := o.cleanup(created, string(tok.UID), tok.Name)
	return func(err error) error {
		var reported reportedError
		switch {
		case errors.Is(err, errTokenDeleted), errors.As(err, &reported):
			return err
		case cleanup != nil:
			if cerr := cleanup(); cerr != nil {
				return fmt.Errorf("%w; deleting the token (--cleanup-on-failure) failed too: %s", err, apierror.OneLine(cerr.Error()))
			}
			return fmt.Errorf("%w; the token was deleted (--cleanup-on-failure)", err)
		case created:
			return fmt.Errorf("%w; %s %q was created in namespace %q and is left: delete it with %s", err, kind, tok.Name, o.namespace, hint(o.f, "delete", tok.Name, "-n", o.namespace))
		}
		return err
	}
}

func (o *CreateOptions) printTTLNote() {
	if o.ttlNote != "" {
		fmt.Fprintf(o.ErrOut, "note: %s\n", o.ttlNote)
	}
}

func (o *CreateOptions) newToken() *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
	obj.SetAPIVersion(tokenGVR.GroupVersion().String())
	obj.SetKind(kind)
	obj.SetNamespace(o.namespace)
	if o.Name != "" {
		obj.SetName(o.Name)
	} else {
		obj.SetGenerateName(o.GenerateName)
	}
	if o.ttl != "" {
		_ = unstructured.SetNestedField(obj.Object, o.ttl, "spec", "ttl")
	}
	return obj
}

func (o *CreateOptions) printDryRun(obj *unstructured.Unstructured) error {
	if o.print.Output() != "" {
		return o.print.Print(obj, printer.WithoutNamespace, o.Out)
	}
	name := obj.GetName()
	if name == "" {
		name = obj.GetGenerateName() + "<generated>"
	}
	fmt.Fprintf(o.Out, "%s/%s created in namespace %s%s\n", objectRef, name, o.namespace, dryrun.Suffix(o.DryRun))
	return nil
}

func (o *CreateOptions) printNoWait(tok *Token, headline string) error {
	if o.print.Output() != "" {
		res := newResult(tok.Namespace, tok.Name)
		if at, ok := tok.ExpiresAt(); ok {
			res.Expires = at.UTC().Format(time.RFC3339)
		}
		res.SecretName = tok.Status.SecretName
		res.Warnings = append(res.Warnings, o.install.labelWarnings...)
		return o.print.Print(res, printer.WithoutNamespace, o.Out)
	}
	for _, w := range o.install.labelWarnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	fmt.Fprintln(o.Out, headline)
	fmt.Fprintf(o.Out, "Fetch values.yaml and the helm commands once the Fleet controller has written them: %s\n", hint(o.f, "values", tok.Name, "-n", tok.Namespace))
	return nil
}
