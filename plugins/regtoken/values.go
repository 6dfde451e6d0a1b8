package regtoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// ValuesOptions is `kubectl regtoken values`.
type ValuesOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install fleet.InstallOptions
	print   *printer.Flags

	tokenRef
	Timeout time.Duration
}

// NewCmdValues builds `kubectl regtoken values`.
func NewCmdValues(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValuesOptions{IOStreams: streams, f: f, install: fleet.InstallOptions{Mode: fleet.WriteValues}, print: printer.NewFlags(printer.NoTable)}
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
	addInstallFlags(cmd, &o.install)
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete resolves the name, namespace and clients.
func (o *ValuesOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.f, args); err != nil {
		return err
	}
	return o.install.Complete(o.f)
}

// Validate checks every input before any request. Whether the values
// file can be written is checked in Run, after the token is found: a
// missing token is the cause to report first.
func (o *ValuesOptions) Validate() error {
	if o.Name == "" {
		return fleet.ErrNoName
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
	return o.install.Validate()
}

// Run fetches (waiting if need be), writes and prints.
func (o *ValuesOptions) Run(ctx context.Context) error {
	m, err := fleet.NewManager(o.f, o.namespace)
	if err != nil {
		return err
	}
	tok, got, err := m.GetToken(ctx, o.Name)
	if err != nil {
		return err
	}
	if err := fleet.RefuseExpired(o.f, tok, fleet.Now()); err != nil {
		return err
	}
	if err := o.install.CheckValuesFileWritable(o.Name); err != nil {
		return err
	}
	p := progress.NewWaitLine(o.ErrOut, fmt.Sprintf("the Fleet controller to write the values of %s", o.Name), o.Timeout)
	tok, secret, err := m.WaitValues(ctx, got, o.Timeout, nil, p.Show)
	if err != nil {
		return err
	}
	res, err := o.install.Plan(ctx, m, tok, secret)
	if err != nil {
		return err
	}
	headline := fmt.Sprintf("values of %s/%s in namespace %s (%s)", fleet.ObjectRef, tok.Name, tok.Namespace, describeExpiry(tok))
	if err := printRegistration(o.IOStreams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, o.f, res)
}
