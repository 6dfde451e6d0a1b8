package bootstrap

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

// ListOptions is kubectl bootstrap list.
type ListOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print       *printer.Flags
	ShowSecrets bool
	ChunkSize   int64

	core corev1client.CoreV1Interface
}

// NewCmdList builds kubectl bootstrap list.
func NewCmdList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{IOStreams: streams, f: f, Print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens, including expired and malformed ones",
		Long: cli.LongDesc(`
			List the bootstrap tokens in kube-system with kubeadm's columns: TOKEN
			(the ID only, unless --show-secrets), TTL ("forever", or "invalid" once
			expired, in angle brackets as kubeadm prints them), EXPIRES (UTC),
			USAGES, DESCRIPTION and EXTRA GROUPS; -o wide adds STATUS (whether the
			API server would accept the token, or why a Secret is not a token) and
			the Secret's name.

			Expired tokens are listed, not hidden (nothing removes them unless the
			token cleaner runs). A Secret of the bootstrap token type that is not a
			well-formed token is listed as invalid, with the reason in STATUS.

			-o json|yaml prints kubeadm's output.kubeadm.k8s.io/v1alpha3
			BootstrapToken objects, one per token as kubeadm token list does, plus
			the token's id, with the secret half shown as "{id}.****************"
			unless --show-secrets. -o name prints bootstrap-token/{id}. Secrets
			are listed by type (field selector) in chunks of --chunk-size.`),
		Example: templates.Examples(`
			# List bootstrap tokens
			kubectl bootstrap list

			# With their status and Secret names
			kubectl bootstrap list -o wide

			# kubeadm-compatible JSON, secrets included
			kubectl bootstrap list -o json --show-secrets

			# Only the IDs, one per line
			kubectl bootstrap list -o jsonpath='{.id}{"\n"}'`),
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.ShowSecrets, "show-secrets", false, "Show whole tokens (id.secret) instead of IDs only.")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	o.Print.AddFlags(cmd)
	return cmd
}

// Complete resolves the client.
func (o *ListOptions) Complete(*cobra.Command, []string) error {
	var err error
	o.core, err = o.f.CoreV1()
	return err
}

// Validate checks -n, -o and --chunk-size.
func (o *ListOptions) Validate() error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if err := o.Print.Validate(); err != nil {
		return err
	}
	if o.ChunkSize < 0 {
		return fmt.Errorf("--chunk-size %d is negative: pass 0 (no chunks) or a positive number", o.ChunkSize)
	}
	return nil
}

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	secrets, err := listTokenSecrets(ctx, o.core, o.ChunkSize)
	if err != nil {
		return err
	}
	entries := make([]listEntry, 0, len(secrets))
	for i := range secrets {
		e := listEntry{secret: &secrets[i]}
		e.token, e.invalid = FromSecret(&secrets[i])
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		fmt.Fprintf(o.ErrOut, "No bootstrap tokens found in %s.\n", Namespace)
		return nil
	}
	view := redactSecret
	if o.ShowSecrets {
		view = showSecret
	}
	if o.Print.IsTable() {
		return o.Print.Print(ListTable(entries, view, now()), printer.WithoutNamespace, o.Out)
	}
	// One printer for all objects, so YAML gets kubeadm's "---" between
	// them and JSON is kubeadm's concatenated objects.
	var p printers.ResourcePrinter
	if o.Print.Output() != "name" {
		if p, err = o.Print.ToPrinter(printer.WithoutNamespace); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if e.invalid != nil {
			// Machine formats keep kubeadm's shape: the reason goes to stderr.
			fmt.Fprintf(o.ErrOut, "warning: skipped invalid bootstrap token Secret %s/%s: %s\n", Namespace, printers.EscapeTerminal(e.secret.Name), e.invalid)
			continue
		}
		if p == nil {
			fmt.Fprintln(o.Out, NameString(e.token.ID))
			continue
		}
		if err := p.PrintObj(NewOutputToken(e.token, view), o.Out); err != nil {
			return err
		}
	}
	return nil
}
