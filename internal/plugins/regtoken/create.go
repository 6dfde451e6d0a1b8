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
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
	"github.com/kubectl-tokens/kubectl-tokens/internal/wait"
)

const defaultTimeout = 2 * time.Minute

// CreateOptions is `kubectl regtoken create`.
type CreateOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
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

	namespace string
	ttlGiven  bool
	ttl       string // spec.ttl after validation; "" = none
	ttlNote   string
}

// NewCreateCmd builds `kubectl regtoken create`.
func NewCreateCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{f: f, streams: streams, install: installFlags{writes: true}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "create [NAME | --generate-name PREFIX] [-n NAMESPACE] [--ttl DURATION] [flags]",
		Short: "Create a registration token, write values.yaml and print the helm install",
		Long: templates.LongDesc(`
			Create a Fleet ClusterRegistrationToken, wait (by watch) until the Fleet
			controller has written its values Secret, write values.yaml (mode 0600)
			and print the helm commands that install the fleet-agent on the
			downstream cluster.

			The token lives in the namespace where the Fleet Clusters should appear
			(-n, default from the kubeconfig). --ttl is checked as Fleet v0.16
			checks it (Go durations: 15s, 5m, 2h, 1h30m); 7d and 2w are converted to
			hours. Without --ttl the token never expires. Names starting with
			import-token- are Fleet's own and refused; an existing token is refused
			unless --reuse is given.

			When the controller has no apiServerURL or apiServerCA configured,
			values.yaml has them empty: the helm command then sets them from
			--api-server-url/--api-server-ca-file, else from the current kubeconfig
			(the CA is written to NAME-ca.pem beside values.yaml).

			With -o json or -o yaml only one result object goes to stdout: token
			name and namespace, expiry, Secret name, values file, the helm argv as
			an array, warnings and notes. The create takes three API requests: the
			create, one watch and one get.`),
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
	fs.StringVar(&o.TTL, "ttl", "", "Time to live (Go duration, e.g. 24h, 1h30m; Nd and Nw are converted to hours). Default: never expires.")
	fs.DurationVar(&o.Timeout, "timeout", defaultTimeout, "How long to wait for the Fleet controller.")
	fs.BoolVar(&o.NoWait, "no-wait", false, "Create the token and return; fetch values.yaml later with kubectl regtoken values NAME.")
	fs.BoolVar(&o.Reuse, "reuse", false, "If the token exists, use it instead of failing (values.yaml comes from the existing token).")
	fs.BoolVar(&o.CleanupOnFailure, "cleanup-on-failure", false, "Delete the token again if waiting for its values fails, times out or is interrupted.")
	dryrun.AddFlag(cmd, &o.DryRun, "created")
	o.install.addFlags(cmd)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete fills in the name and namespace.
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.ttlGiven = cmd.Flags().Changed("ttl")
	if len(args) == 1 {
		o.Name = args[0]
	}
	ns, _, err := o.f.Namespace()
	if err != nil {
		return err
	}
	o.namespace = ns
	return nil
}

// Validate checks every input before any request.
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
	if o.ttlGiven {
		ttl, note, err := NormalizeTTL(o.TTL)
		if err != nil {
			return err
		}
		o.ttl, o.ttlNote = ttl, note
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
	if o.print.Output() != "" && o.install.ValuesFile == "-" && !o.NoWait && o.DryRun == dryrun.None {
		return errors.New("--values-file - and -o both write to stdout: write values.yaml to a file, or leave out -o")
	}
	if o.NoWait {
		// No values are fetched: only the label flags matter.
		o.install.ValuesFile = "-"
	}
	return o.install.validate()
}

// Run creates the token, waits for its values and finishes the install.
func (o *CreateOptions) Run(ctx context.Context) error {
	// The TTL note is printed with the outcome, so that a failure stays
	// one line.
	obj := o.newToken()
	if o.DryRun == dryrun.Client {
		o.printTTLNote()
		return o.printDryRun(obj)
	}
	client, err := tokenClient(o.f)
	if err != nil {
		return err
	}
	ri := client.Namespace(o.namespace)
	createOpts := metav1.CreateOptions{FieldManager: "kubectl-regtoken"}
	if o.DryRun == dryrun.Server {
		createOpts.DryRun = []string{metav1.DryRunAll}
	}
	created := true
	// A signal must not cut the create short: we would not know whether the
	// token exists. It is one short request; the wait after it is what a
	// signal interrupts.
	createCtx, cancelCreate := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	got, err := ri.Create(createCtx, obj, createOpts)
	cancelCreate()
	if apierrors.IsAlreadyExists(err) {
		if !o.Reuse || o.DryRun != dryrun.None {
			return fmt.Errorf("%s %q already exists in namespace %q: pass --reuse to use it (or kubectl regtoken values %s -n %s to fetch its values), or choose another name", kind, o.Name, o.namespace, o.Name, o.namespace)
		}
		created = false
		got, err = ri.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return apierror.Wrap(err, tokenOp("get", o.namespace, o.Name))
		}
	} else if err != nil {
		return apierror.Wrap(err, tokenOp("create", o.namespace, o.Name))
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
		headline = fmt.Sprintf("%s/%s exists in namespace %s and is reused (%s)", objectRef, name, o.namespace, describeExpiry(tok))
		if o.ttl != "" && (tok.Spec.TTL == nil || *tok.Spec.TTL != o.ttl) {
			fmt.Fprintf(o.streams.ErrOut, "warning: --ttl %s is ignored: the existing token keeps its ttl %s\n", o.ttl, ttlText(tok))
		}
	}
	if o.NoWait {
		o.printTTLNote()
		return o.printNoWait(tok, headline)
	}

	var cleanup func() error
	if created && o.CleanupOnFailure {
		uid := string(tok.UID) // tok is replaced by the wait's result
		cleanup = func() error { return deleteToken(ri, o.namespace, name, uid) }
	}
	fail := func(err error) error {
		if cleanup == nil || errors.Is(err, errTokenDeleted) {
			return err
		}
		if cerr := cleanup(); cerr != nil {
			return fmt.Errorf("%s; deleting the token (--cleanup-on-failure) failed too: %s", err.Error(), apierror.OneLine(cerr.Error()))
		}
		return fmt.Errorf("%s; the token was deleted (--cleanup-on-failure)", err.Error())
	}

	if tok.Status.SecretName == "" {
		waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
		p := startProgress(o.streams.ErrOut, fmt.Sprintf("the Fleet controller to write the values of %s", name))
		tok, err = waitForSecretName(waitCtx, ri, o.namespace, name, got.GetResourceVersion(), tok)
		p.Stop()
		cancel()
		if wait.IsTimeout(err) || errors.Is(err, context.Canceled) {
			return interruptedOrTimedOut(err, o.namespace, name, o.Timeout, cleanup)
		}
		if err != nil {
			return fail(err)
		}
	}
	secret, err := getValuesSecret(ctx, o.f, tok)
	if err != nil {
		return fail(err)
	}
	res, err := o.install.finish(o.f, tok, secret)
	if err != nil {
		return fail(err)
	}
	if o.ttlNote != "" && created {
		res.Notes = append([]string{o.ttlNote}, res.Notes...)
	}
	if err := printRegistration(o.streams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, res)
}

func (o *CreateOptions) printTTLNote() {
	if o.ttlNote != "" {
		fmt.Fprintf(o.streams.ErrOut, "note: %s\n", o.ttlNote)
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
	mode := "client"
	if o.DryRun == dryrun.Server {
		mode = "server"
	}
	if o.print.Output() != "" {
		return o.print.Print(obj, false, o.streams.Out)
	}
	name := obj.GetName()
	if name == "" {
		name = obj.GetGenerateName() + "<generated>"
	}
	fmt.Fprintf(o.streams.Out, "%s/%s created in namespace %s (dry run: %s)\n", objectRef, name, o.namespace, mode)
	return nil
}

func (o *CreateOptions) printNoWait(tok *Token, headline string) error {
	if o.print.Output() != "" {
		res := newResult(tok.Namespace, tok.Name)
		if at, ok := tok.ExpiresAt(); ok {
			res.Expires = at.UTC().Format(time.RFC3339)
		}
		res.SecretName = tok.Status.SecretName
		res.Warnings = append(res.Warnings, o.install.warnings...)
		return o.print.Print(res, false, o.streams.Out)
	}
	for _, w := range o.install.warnings {
		fmt.Fprintf(o.streams.ErrOut, "warning: %s\n", w)
	}
	fmt.Fprintln(o.streams.Out, headline)
	fmt.Fprintf(o.streams.Out, "Fetch values.yaml and the helm commands once the Fleet controller has written them: kubectl regtoken values %s -n %s\n", tok.Name, tok.Namespace)
	return nil
}

// getValuesSecret reads the Secret status.secretName names. The
// controller writes it before the status, so it exists by now.
func getValuesSecret(ctx context.Context, f cli.Clients, tok *Token) (*corev1.Secret, error) {
	core, err := f.CoreV1()
	if err != nil {
		return nil, err
	}
	s, err := core.Secrets(tok.Namespace).Get(ctx, tok.Status.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("Secret %q in namespace %q, named by the status of %s %q, does not exist (deleted meanwhile?): delete the token (kubectl regtoken delete %s -n %s) and create a new one", tok.Status.SecretName, tok.Namespace, kind, tok.Name, tok.Name, tok.Namespace)
	}
	if err != nil {
		return nil, apierror.Wrap(err, secretOp("get", tok.Namespace, tok.Status.SecretName))
	}
	return s, nil
}

// validateResultOutput allows the formats a Result prints with.
func validateResultOutput(pf *printer.Flags) error {
	switch out := pf.Output(); out {
	case "", "json", "yaml":
		return nil
	case "name", "wide":
		return fmt.Errorf("-o %s is not supported here: use -o json or -o yaml", out)
	}
	return pf.Validate()
}
