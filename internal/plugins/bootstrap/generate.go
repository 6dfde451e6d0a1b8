package bootstrap

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

// GenerateOptions is kubectl bootstrap generate.
type GenerateOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print  *printer.Flags
	CAFile string
	File   outputFile
}

// NewCmdGenerate builds kubectl bootstrap generate.
func NewCmdGenerate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GenerateOptions{IOStreams: streams, f: f, Print: printer.NewFlags(printer.NoTable, outputToken, outputSecure)}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Print a random bootstrap token without creating it",
		Long: templates.LongDesc(`
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
		Args: cobra.NoArgs,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVar(&o.CAFile, "ca-file", "", "With -o secure, the cluster CA (PEM) to hash (default: the kubeconfig's CA).")
	o.File.addFlags(cmd)
	o.Print.AddFlags(cmd)
	_ = cmd.MarkFlagFilename("ca-file", "crt", "pem")
	return cmd
}

// Validate checks -o and the output file.
func (o *GenerateOptions) Validate() error {
	if err := o.Print.Validate(); err != nil {
		return err
	}
	if out := o.Print.Output(); out == "name" || out == "kyaml" {
		return fmt.Errorf("-o %s is not supported here: use token, secure, json or yaml", out)
	}
	if o.CAFile != "" && o.Print.Output() != outputSecure {
		return errors.New("--ca-file is only used with -o secure: add -o secure or drop --ca-file")
	}
	return o.File.check()
}

// Run generates and prints.
func (o *GenerateOptions) Run() error {
	s, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return fmt.Errorf("cannot generate a token: %v", err)
	}
	switch o.Print.Output() {
	case "", outputToken:
		return o.File.write(o.Out, []byte(s+"\n"))
	case outputSecure:
		var ca kubeconfig.CABundle
		if o.CAFile != "" {
			ca, err = kubeconfig.ReadCAFile(o.CAFile, "--ca-file")
		} else {
			cluster, cerr := o.f.CurrentCluster()
			if cerr != nil {
				return fmt.Errorf("%w (or pass --ca-file)", cerr)
			}
			ca, err = cluster.CA()
		}
		if err != nil {
			return err
		}
		hash, err := K10CAHash(ca.PEM)
		if err != nil {
			return fmt.Errorf("the CA from %s: %v", ca.From, err)
		}
		return o.File.write(o.Out, []byte(SecureToken(hash, s)+"\n"))
	default:
		p, _ := ParseToken(s, "the generated token", false)
		var buf bytes.Buffer
		if err := o.Print.Print(NewOutputToken(&Token{ID: p.ID, Secret: p.Secret}, true), false, &buf); err != nil {
			return err
		}
		return o.File.write(o.Out, buf.Bytes())
	}
}
