package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// GenerateOptions is kubectl bootstrap generate.
type GenerateOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print  *printer.Flags
	CAFile string
	File   outputFile

	ca kubeconfig.CABundle // for -o secure
}

// NewCmdGenerate builds kubectl bootstrap generate.
func NewCmdGenerate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GenerateOptions{IOStreams: streams, f: f, Print: noName(printer.NewFlags(printer.NoTable, outputToken, outputSecure))}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Print a random bootstrap token without creating it",
		Long: cli.LongDesc(`
			Print a random bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}
			from a cryptographic random source, as kubeadm token generate does.
			Nothing is sent to a cluster.

			-o secure prints the k3s secure form K10{CA hash}::id.secret, hashing
			--ca-file or else the CA in the kubeconfig (read locally); -o json|yaml
			prints it as kubeadm's BootstrapToken object.`),
		Example: templates.Examples(`
			# Print a random token
			kubectl bootstrap generate

			# Generate a token, then create it
			TOKEN=$(kubectl bootstrap generate)
			echo "$TOKEN" | kubectl bootstrap create -

			# A secure token for a k3s server CA file, into a file
			kubectl bootstrap generate -o secure --ca-file server-ca.crt --output-file token`),
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.CAFile, "ca-file", "", "With -o secure, the cluster CA (PEM) to hash (default: the kubeconfig's CA).")
	o.File.addFlags(cmd)
	o.Print.AddFlags(cmd)
	_ = cmd.MarkFlagFilename("ca-file", "crt", "pem")
	return cmd
}

// Complete reads the CA that -o secure hashes (a local read: generate
// never talks to a cluster).
func (o *GenerateOptions) Complete(*cobra.Command, []string) error {
	if o.Print.Output() != outputSecure {
		return nil
	}
	var err error
	if o.CAFile != "" {
		o.ca, err = kubeconfig.ReadCAFile(o.CAFile, "--ca-file")
	} else {
		o.ca, err = kubeconfigCA(o.f)
	}
	return err
}

// Validate checks -o and the output file.
func (o *GenerateOptions) Validate() error {
	if err := o.Print.Validate(); err != nil {
		return err
	}
	if o.CAFile != "" && o.Print.Output() != outputSecure {
		return errors.New("--ca-file is only used with -o secure: add -o secure or drop --ca-file")
	}
	return o.File.check()
}

// Run generates and prints.
func (o *GenerateOptions) Run(context.Context) error {
	s, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return fmt.Errorf("cannot generate a token: %w", err)
	}
	switch o.Print.Output() {
	case "", outputToken:
		return o.File.write(o.Out, []byte(s+"\n"))
	case outputSecure:
		hash, err := K10CAHash(o.ca.PEM)
		if err != nil {
			return fmt.Errorf("the CA from %s: %w", o.ca.From, err)
		}
		return o.File.write(o.Out, []byte(SecureToken(hash, s)+"\n"))
	default:
		p, err := ParseToken(s, "the generated token", tokenOnly)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := o.Print.Print(NewOutputToken(&Token{ID: p.ID, Secret: p.Secret}, showSecret), printer.WithoutNamespace, &buf); err != nil {
			return err
		}
		return o.File.write(o.Out, buf.Bytes())
	}
}
