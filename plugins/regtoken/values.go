package regtoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// ValuesOptions is `kubectl regtoken values`.
type ValuesOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install installFlags
	print   *printer.Flags

	tokenRef
	Timeout time.Duration
}

// NewCmdValues builds `kubectl regtoken values`.
func NewCmdValues(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValuesOptions{IOStreams: streams, f: f, install: installFlags{mode: writeValues}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "values NAME [--values-file PATH] [flags]",
		Short: "Write values.yaml of an existing token and print the helm install",
		Long: cli.LongDesc(`
			Fetch the values of an existing Fleet ClusterRegistrationToken into
			values.yaml (mode 0600; - for stdout, with apiServerURL and apiServerCA
			filled in) and print the helm commands, as create does. If the
			controller has not written them yet, wait for them by watch (up to
			--timeout): this resumes a create that timed out or was interrupted.
			An expired token is refused: its values no longer register a cluster.`),
		Example: templates.Examples(`
			# Fetch values.yaml again, e.g. on another machine
			kubectl regtoken values my-cluster -n fleet-default --values-file my-cluster-values.yaml

			# Print values.yaml instead of writing a file
			kubectl regtoken values my-cluster -n fleet-default --values-file -`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", defaultTimeout, "How long to wait for the Fleet controller if the values are not ready yet.")
	o.install.addFlags(cmd)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete resolves the name, namespace and clients.
func (o *ValuesOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.f, args); err != nil {
		return err
	}
	return o.install.complete(o.f)
}

// Validate checks every input before any request.
func (o *ValuesOptions) Validate() error {
	if o.Name == "" {
		return errNoName
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 2m", o.Timeout)
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	if o.print.Output() != "" && o.install.ValuesFile == "-" {
		return errors.New("--values-file - and -o both write to stdout: write values.yaml to a file, or leave out -o")
	}
	if err := o.install.validate(); err != nil {
		return err
	}
	return o.install.checkValuesFileWritable(o.Name)
}

// Run fetches (waiting if need be), writes and prints.
func (o *ValuesOptions) Run(ctx context.Context) error {
	tok, got, err := getToken(ctx, o.tokens, o.f, o.namespace, o.Name)
	if err != nil {
		return err
	}
	if err := refuseExpired(o.f, tok, now()); err != nil {
		return err
	}
	if tok.Status.SecretName == "" {
		waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
		p := startProgress(o.ErrOut, fmt.Sprintf("the Fleet controller to write the values of %s", o.Name), o.Timeout)
		tok, err = waitForSecretName(waitCtx, o.tokens, o.namespace, o.Name, got.GetResourceVersion(), tok)
		p.Stop()
		cancel()
		if wait.IsTimeout(err) || errors.Is(err, context.Canceled) {
			return interruptedOrTimedOut(o.f, err, o.namespace, o.Name, o.Timeout, nil)
		}
		if err != nil {
			return err
		}
	}
	secret, err := o.install.getValuesSecret(ctx, o.f, tok)
	if err != nil {
		return err
	}
	res, err := o.install.finish(o.f, tok, secret, now())
	if err != nil {
		return err
	}
	headline := fmt.Sprintf("values of %s/%s in namespace %s (%s)", objectRef, tok.Name, tok.Namespace, describeExpiry(tok))
	if err := printRegistration(o.IOStreams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, o.f, res)
}
