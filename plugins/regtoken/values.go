package regtoken

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// ValuesOptions is `kubectl regtoken values`.
type ValuesOptions struct {
	genericiooptions.IOStreams
	f       cli.Clients
	install fleet.InstallOptions
	print   *printer.Flags

	tokenRef
	Timeout time.Duration
	// Format is --values-format; manifest and DevicesFile serve
	// k3s-manifest.
	Format      string
	DevicesFile string
	manifest    fleet.ManifestOptions
}

// NewCmdValues builds `kubectl regtoken values`.
func NewCmdValues(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValuesOptions{IOStreams: streams, f: f, install: fleet.InstallOptions{Mode: fleet.WriteValues}, print: printer.NewFlags(printer.NoTable)}
	cmd := &cobra.Command{
		Use:   "values NAME [--values-file PATH] [--values-format helm|k3s-manifest] [flags]",
		Short: "Write values.yaml of an existing token and print the helm install",
		Long: cli.LongDesc(`
			Fetch the values of an existing Fleet ClusterRegistrationToken into
			values.yaml (mode 0600; - for stdout, with apiServerURL and apiServerCA
			filled in) and print the helm commands, as create does. If the
			controller has not written them yet, wait for them by watch (up to
			--timeout): this resumes a create that timed out or was interrupted.
			An expired token is refused: its values no longer register a cluster.

			--values-format k3s-manifest is pull mode, for clusters nobody can
			reach to run helm (edge sites behind NAT, images built before the
			cluster exists): instead of values.yaml it writes a manifest that
			k3s and rke2 deploy by themselves from
			/var/lib/rancher/{k3s,rke2}/server/manifests: the agent's namespace,
			a Secret in kube-system holding the values (apiServerURL, CA,
			labels, client ID filled in) and a helm.cattle.io/v1 HelmChart of
			the fleet-agent at the Fleet controller's version that reads them.
			With --devices FILE it writes one manifest per device into the
			directory --values-file names, each with the device's clientID and
			labels. Manifests hold the agent's credential: mode 0600, never
			overwritten without --force.`),
		Example: templates.Examples(`
			# Fetch values.yaml again, e.g. on another machine
			kubectl regtoken values my-cluster -n fleet-default --values-file my-cluster-values.yaml

			# Print values.yaml instead of writing a file
			kubectl regtoken values my-cluster -n fleet-default --values-file -

			# A manifest for k3s/rke2 to install the agent by itself (pull mode)
			kubectl regtoken values my-cluster -n fleet-default --values-format k3s-manifest --values-file fleet-agent.yaml

			# One manifest per device of an inventory, for an image builder
			kubectl regtoken values edge-wave -n fleet-default --values-format k3s-manifest --devices devices.yaml --values-file manifests/`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", defaultTimeout, "How long to wait for the Fleet controller if the values are not ready yet.")
	addInstallFlags(cmd, &o.install)
	cmd.Flags().StringVar(&o.Format, "values-format", fleet.FormatHelm, "What --values-file gets: helm (values.yaml for the printed helm command) or k3s-manifest (a manifest k3s/rke2 deploy from server/manifests; default file "+fleet.DefaultManifestFile+").")
	cmd.Flags().StringVar(&o.DevicesFile, "devices", "", "With --values-format k3s-manifest: an inventory of devices (one name per line, or YAML, a list of {name, clientID, labels}); one DEVICE.yaml each goes into the directory --values-file names.")
	_ = cmd.RegisterFlagCompletionFunc("values-format", cobra.FixedCompletions(fleet.ValuesFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("devices", "yaml", "yml", "txt")
	o.print.AddFlags(cmd)
	resultOutputUsage(cmd)
	return cmd
}

// Complete resolves the name, namespace and clients, and for a manifest
// reads the device inventory.
func (o *ValuesOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.complete(o.f, args); err != nil {
		return err
	}
	if o.Format == fleet.FormatK3sManifest {
		o.install.Inline = true
		if !cmd.Flags().Changed("values-file") {
			o.install.ValuesFile = fleet.DefaultManifestFile
		}
		o.manifest = fleet.ManifestOptions{Path: o.install.ValuesFile, Force: o.install.Force}
		if o.DevicesFile != "" {
			if !cmd.Flags().Changed("values-file") {
				return errors.New("--devices writes one manifest per device into a directory: pass --values-file DIR/ (an existing directory)")
			}
			devices, err := fleet.ReadDevices(o.DevicesFile)
			if err != nil {
				return err
			}
			o.manifest.Devices = devices
		}
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
	if !slices.Contains(fleet.ValuesFormats, o.Format) {
		return fmt.Errorf("--values-format %q is not one of %s: pass e.g. --values-format %s", o.Format, strings.Join(fleet.ValuesFormats, ", "), fleet.FormatK3sManifest)
	}
	if o.DevicesFile != "" && o.Format != fleet.FormatK3sManifest {
		return fmt.Errorf("--devices writes k3s manifests: add --values-format %s", fleet.FormatK3sManifest)
	}
	if o.print.Output() != "" && o.install.ValuesFile == "-" {
		return errors.New("--values-file - and -o both write to stdout: write values.yaml to a file, or leave out -o")
	}
	if err := o.install.Validate(); err != nil {
		return err
	}
	return o.manifest.Validate(o.install.ClientID)
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
	if err := o.checkWritable(); err != nil {
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
	if o.Format == fleet.FormatK3sManifest {
		man, err := o.manifest.WriteManifests(res)
		if err != nil {
			return err
		}
		headline := fmt.Sprintf("k3s manifests of %s/%s in namespace %s (%s)", fleet.ObjectRef, tok.Name, tok.Namespace, describeExpiry(tok))
		if err := printManifests(o.IOStreams, o.print, man, headline); err != nil {
			return err
		}
		return checkInterrupted(ctx, o.f, res)
	}
	headline := fmt.Sprintf("values of %s/%s in namespace %s (%s)", fleet.ObjectRef, tok.Name, tok.Namespace, describeExpiry(tok))
	if err := printRegistration(o.IOStreams, o.print, res, headline); err != nil {
		return err
	}
	return checkInterrupted(ctx, o.f, res)
}

// checkWritable refuses, before the wait, a values file or manifest that
// cannot be written.
func (o *ValuesOptions) checkWritable() error {
	if o.Format == fleet.FormatK3sManifest {
		return o.manifest.CheckWritable()
	}
	return o.install.CheckValuesFileWritable(o.Name)
}

// printManifests prints what values --values-format k3s-manifest wrote:
// with -o the result object alone; otherwise where each manifest went
// and where it belongs on the device. The manifest itself reaches stdout
// only for --values-file -.
func printManifests(streams genericiooptions.IOStreams, pf *printer.Flags, res *fleet.ManifestResult, headline string) error {
	printMessages(streams, res.Notes, res.Warnings)
	if pf.Output() != "" {
		return pf.Print(res, printer.WithoutNamespace, streams.Out)
	}
	human := streams.Out
	if out := res.Stdout(); out != nil {
		if _, err := streams.Out.Write(out); err != nil {
			return err
		}
		human = streams.ErrOut
	}
	fmt.Fprintln(human, printers.EscapeTerminal(headline))
	version := res.Chart.Version
	if version == "" {
		version = "the newest"
	}
	fmt.Fprintf(human, "HelmChart %s/%s installs chart %s %s from %s into namespace %s\n", fleet.HelmChartNamespace, fleet.AgentRelease, res.Chart.Chart, version, res.Chart.Repo, res.Chart.Namespace)
	if res.Stdout() != nil {
		fmt.Fprintln(human, "manifest written to stdout: it holds the agent's credentials, keep it secret")
	} else {
		for _, f := range res.Files {
			fmt.Fprintf(human, "%s written (mode 0600): it holds the agent's credentials, keep it secret\n", printers.EscapeTerminal(f.Path))
		}
	}
	src := "MANIFEST"
	switch {
	case res.Stdout() != nil:
		src = "-"
	case len(res.Files) == 1 && res.Files[0].Device == "":
		src = res.Files[0].Path
	default:
		fmt.Fprintln(human, "Each goes onto a server node of its own device (MANIFEST: that device's file).")
	}
	fmt.Fprintln(human, "k3s deploys it by itself from its manifests directory (rke2: /var/lib/rancher/rke2/server/manifests):")
	fmt.Fprintln(human)
	fmt.Fprintf(human, "  %s\n", shellquote.Join([]string{"install", "-m", "0600", src, "/var/lib/rancher/k3s/server/manifests/" + fleet.DefaultManifestFile}))
	return nil
}
