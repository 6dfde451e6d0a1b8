package regtoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

const defaultTimeout = 2 * time.Minute

// CreateOptions is `kubectl regtoken create`.
type CreateOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install fleet.InstallOptions
	print   *printer.Flags
	m       *fleet.Manager

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
	ttlWarn   string
}

// NewCmdCreate builds `kubectl regtoken create`.
func NewCmdCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{IOStreams: streams, f: f, install: fleet.InstallOptions{Mode: fleet.WriteValues}, print: printer.NewFlags(printer.NoTable)}
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
	addInstallFlags(cmd, &o.install)
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
	if o.ttl, o.ttlNote, err = fleet.TTLSpec("--ttl", v); err != nil {
		return err
	}
	if !v.Never {
		o.ttlWarn = ttl.ShortWarning(v.Duration)
	}
	if o.m, err = fleet.NewManager(o.f, o.namespace); err != nil {
		return err
	}
	if o.NoWait || o.DryRun != dryrun.None {
		// No values are fetched: only the label flags matter.
		return o.install.CompleteLabels()
	}
	return o.install.Complete(o.f)
}

// Validate checks every input before any request; it sets nothing.
func (o *CreateOptions) Validate() error {
	switch {
	case o.Name == "" && o.GenerateName == "":
		return errors.New("no token name: pass NAME or --generate-name PREFIX")
	case o.Name != "" && o.GenerateName != "":
		return errors.New("both NAME and --generate-name given: pass one of them")
	case o.Name != "":
		if err := fleet.ValidateName(o.Name); err != nil {
			return err
		}
	default:
		if err := fleet.ValidateGenerateName(o.GenerateName); err != nil {
			return err
		}
		if o.Reuse {
			return errors.New("--reuse needs a NAME: a generated name never exists yet")
		}
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 2m", o.Timeout)
	}
	if err := fleet.ValidateNamespace(o.namespace); err != nil {
		return err
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	if o.NoWait || o.DryRun != dryrun.None {
		// Nothing is fetched or written.
		return o.install.ValidateFlags()
	}
	if o.print.Output() != "" && o.install.ValuesFile == "-" {
		return errors.New("--values-file - and -o both write to stdout: write values.yaml to a file, or leave out -o")
	}
	if err := o.install.Validate(); err != nil {
		return err
	}
	return o.install.CheckValuesFileWritable(o.Name)
}

// Run checks access, creates the token, waits for its values and finishes
// the install.
func (o *CreateOptions) Run(ctx context.Context) error {
	// The TTL note is printed with the outcome, so that a failure stays
	// one line.
	spec := fleet.TokenSpec{Name: o.Name, GenerateName: o.GenerateName, TTL: o.ttl}
	if o.DryRun == dryrun.Client {
		o.printTTLNote()
		return o.printDryRun(spec.Object(o.namespace), false)
	}
	if o.DryRun == dryrun.None {
		checks := []fleet.Access{fleet.AccessCreateToken}
		if !o.NoWait {
			checks = append(checks, fleet.AccessReadValues)
		}
		if err := o.m.CheckAccess(ctx, "create", checks...); err != nil {
			return err
		}
		if o.ttl == "" && !o.Reuse {
			if _, err := o.m.RefuseWithoutTTL(ctx); err != nil {
				return err
			}
		}
	}
	got, created, err := o.m.CreateToken(ctx, spec, o.Reuse, o.DryRun)
	if errors.Is(err, fleet.ErrExists) {
		return apierror.Explained(err, "%s %q already exists in namespace %q: pass --reuse to use it (or %s to fetch its values), or choose another name", fleet.Kind, o.Name, o.namespace, fleet.Hint(o.f, "values", o.Name, "-n", o.namespace))
	}
	if err != nil {
		return err
	}
	if o.DryRun == dryrun.Server {
		o.printTTLNote()
		return o.printDryRun(got, !created)
	}
	tok, err := fleet.ToToken(got)
	if err != nil {
		return err
	}
	name := tok.Name
	headline := fmt.Sprintf("%s/%s created in namespace %s (%s)", fleet.ObjectRef, name, o.namespace, describeExpiry(tok))
	if !created {
		if err := fleet.RefuseExpired(o.f, tok, fleet.Now()); err != nil {
			return err
		}
		headline = fmt.Sprintf("%s/%s exists in namespace %s and is reused (%s)", fleet.ObjectRef, name, o.namespace, describeExpiry(tok))
		if o.ttl != "" && (tok.Spec.TTL == nil || *tok.Spec.TTL != o.ttl) {
			fmt.Fprintf(o.ErrOut, "warning: --ttl %s is ignored: the existing token keeps its ttl %s\n", o.TTL, ttlText(tok))
		}
	}
	if o.NoWait {
		o.printTTLNote()
		return o.printNoWait(tok, headline)
	}

	var cleanup func() error
	if created && o.CleanupOnFailure {
		cleanup = o.m.DeleteFunc(tok.Name, string(tok.UID))
	}
	fail := o.m.AfterWrite(created, tok, cleanup)
	p := progress.NewWaitLine(o.ErrOut, fmt.Sprintf("the Fleet controller to write the values of %s", tok.Name), o.Timeout)
	tok, secret, err := o.m.WaitValues(ctx, got, o.Timeout, cleanup, p.Show)
	if err != nil {
		return fail(err)
	}
	res, err := o.install.Plan(ctx, o.m, tok, secret)
	if err != nil {
		return fail(err)
	}
	if created {
		res.Warnings = append(res.Warnings, o.ttlWarnings()...)
		if o.ttlNote != "" {
			res.Notes = append([]string{o.ttlNote}, res.Notes...)
		}
	}
	if err := printRegistration(o.IOStreams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, o.f, res)
}

// ttlWarnings are the warnings of a new token's TTL: under a minute, or
// never expiring (a credential that can register clusters forever).
func (o *CreateOptions) ttlWarnings() []string {
	switch {
	case o.ttlWarn != "":
		return []string{o.ttlWarn}
	case o.ttl == "":
		return []string{fleet.NeverExpiresWarning(o.Name)}
	}
	return nil
}

func (o *CreateOptions) printTTLNote() {
	if o.ttlNote != "" {
		fmt.Fprintf(o.ErrOut, "note: %s\n", o.ttlNote)
	}
	for _, w := range o.ttlWarnings() {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	for _, w := range o.install.FlagWarnings() {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", printers.EscapeTerminal(w))
	}
}

// printDryRun prints what a dry run would create, or, for --reuse of a
// token the server has, that it would be reused.
func (o *CreateOptions) printDryRun(obj *unstructured.Unstructured, reused bool) error {
	if o.print.Output() != "" {
		return o.print.Print(obj, printer.WithoutNamespace, o.Out)
	}
	name := obj.GetName()
	if name == "" {
		name = obj.GetGenerateName() + "<generated>"
	}
	verb := "created"
	switch {
	case reused:
		verb = "exists and is reused"
	case o.Reuse && o.DryRun == dryrun.Client:
		// A client dry run asks the server nothing, so whether it exists
		// is not known.
		verb = "created, or reused if it exists"
	}
	fmt.Fprintf(o.Out, "%s/%s %s in namespace %s%s\n", fleet.ObjectRef, name, verb, o.namespace, dryrun.Suffix(o.DryRun))
	return nil
}

func (o *CreateOptions) printNoWait(tok *fleet.Token, headline string) error {
	if o.print.Output() != "" {
		res := fleet.NewResult(tok.Namespace, tok.Name)
		if at, ok := tok.ExpiresAt(); ok {
			res.Expires = at.UTC().Format(time.RFC3339)
		}
		res.SecretName = tok.Status.SecretName
		res.Warnings = append(res.Warnings, o.install.FlagWarnings()...)
		return o.print.Print(res, printer.WithoutNamespace, o.Out)
	}
	fmt.Fprintln(o.Out, headline)
	fmt.Fprintf(o.Out, "Fetch values.yaml and the helm commands once the Fleet controller has written them: %s\n", fleet.Hint(o.f, "values", tok.Name, "-n", tok.Namespace))
	return nil
}
