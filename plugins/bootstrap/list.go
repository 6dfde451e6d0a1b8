package bootstrap

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// listChunkSize is list's page size, measured rather than kubectl's 500:
// at 10,000 tokens (about 1 KiB each) pages of 2,000 took the least CPU
// of 250/500/1000/2000/5000/all-at-once, with peak RSS as low as with
// 500; one request for all of them costs more of both (docs/bootstrap-tokens.md §3).
const listChunkSize int64 = 2000

// ListOptions is kubectl bootstrap list.
type ListOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print          *printer.Flags
	ShowSecrets    bool
	ChunkSize      int64
	ExpiringWithin string
	FailIfAny      bool

	core   corev1client.CoreV1Interface
	within *time.Duration // --expiring-within, when given
}

// NewCmdList builds kubectl bootstrap list.
func NewCmdList(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{IOStreams: streams, f: f, Print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "list [--expiring-within D [--fail-if-any]]",
		Short: "List bootstrap tokens, including expired and malformed ones",
		Long: cli.LongDesc(`
			List the bootstrap tokens in kube-system with kubeadm's columns: TOKEN
			(the ID only, unless --show-secrets), TTL (never, or <invalid> once
			expired), EXPIRES (UTC, or never), USAGES, DESCRIPTION (cut to
			` + strconv.Itoa(printer.CellWidth) + ` characters; -o json has it whole) and EXTRA GROUPS; -o wide adds STATUS (whether the
			API server would accept the token, or why a Secret is not a token) and
			the Secret's name.

			Expired tokens are listed, not hidden (nothing removes them unless the
			token cleaner runs). A Secret of the bootstrap token type that is not a
			well-formed token is listed as invalid, with the reason in STATUS.

			The proxy token of kubeadm's uploaded control-plane certificates (the
			owner of kube-system/kubeadm-certs) is marked in STATUS and named on
			stderr: when it expires or is deleted, the certificates go with it.

			--expiring-within D shows only the tokens that expire within D or have
			expired (never-expiring and malformed ones are left out). For
			monitoring, --fail-if-any makes the exit code 3 when any token is
			shown (0 when none is, 1 on errors).

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
			kubectl bootstrap list -o jsonpath='{.id}{"\n"}'

			# For a cron job: exit 3 when a token expires within a week
			kubectl bootstrap list --expiring-within 7d --fail-if-any`),
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.ShowSecrets, "show-secrets", false, "Show whole tokens (id.secret) instead of IDs only.")
	cmd.Flags().StringVar(&o.ExpiringWithin, "expiring-within", "", "Only tokens that expire within this duration (e.g. 7d) or have expired.")
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "token")
	_ = cmd.RegisterFlagCompletionFunc("expiring-within", flagValues("1h", "24h", "7d", "30d"))
	cli.AddChunkSizeFlagDefault(cmd, &o.ChunkSize, listChunkSize)
	o.Print.AddFlags(cmd)
	return cmd
}

// Complete resolves the client and parses --expiring-within.
func (o *ListOptions) Complete(*cobra.Command, []string) error {
	if o.ExpiringWithin != "" {
		d, err := ttl.ParseWithin("--expiring-within", o.ExpiringWithin)
		if err != nil {
			return err
		}
		o.within = &d
	}
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
	if err := cli.ValidateChunkSize(o.ChunkSize); err != nil {
		return err
	}
	return nil
}

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	t0 := now()
	wide := o.Print.Wide()
	var entries []listEntry
	err := eachTokenSecret(ctx, o.core, o.ChunkSize, func(s *corev1.Secret) error {
		e := newListEntry(s, t0, wide)
		if o.within == nil || e.expiresWithin(t0.Add(*o.within)) {
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if o.within != nil {
			fmt.Fprintf(o.ErrOut, "No bootstrap tokens expiring within %s found in %s.\n", o.ExpiringWithin, Namespace)
		} else {
			fmt.Fprintf(o.ErrOut, "No bootstrap tokens found in %s.\n", Namespace)
		}
		return nil
	}
	// The server's order is the name order; sorting again is cheap and
	// keeps the output stable whatever the server does.
	slices.SortStableFunc(entries, func(a, b listEntry) int { return strings.Compare(a.name, b.name) })
	view := redactSecret
	if o.ShowSecrets {
		view = showSecret
	}
	// The table writer sends every cell and pad as its own write: one
	// buffer turns ~15 system calls a row into one per 64 KiB.
	out := bufio.NewWriterSize(o.Out, 64<<10)
	defer out.Flush()
	if o.Print.IsTable() {
		proxy := o.markProxy(ctx, entries)
		if err := o.Print.Print(ListTable(entries, view, t0), printer.WithoutNamespace, out); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if proxy != "" {
			fmt.Fprintf(o.ErrOut, "bootstrap token %q is the proxy of %s/%s: the control-plane certificates are deleted when it expires or is deleted\n", proxy, Namespace, CertsSecretName)
		}
		return cli.FailIfAny(o.FailIfAny, len(entries), "bootstrap tokens")
	}
	// One printer for all objects, so YAML gets kubeadm's "---" between
	// them and JSON is kubeadm's concatenated objects.
	var p printers.ResourcePrinter
	if o.Print.Output() != "name" {
		if p, err = o.Print.ToPrinter(printer.WithoutNamespace); err != nil {
			return err
		}
	}
	shown := 0
	for _, e := range entries {
		if e.invalid != nil {
			// Machine formats keep kubeadm's shape: the reason goes to stderr.
			fmt.Fprintf(o.ErrOut, "warning: skipped invalid bootstrap token Secret %s/%s: %s\n", Namespace, printers.EscapeTerminal(e.name), e.invalid)
			continue
		}
		shown++
		if p == nil {
			fmt.Fprintln(out, NameString(e.token.ID))
			continue
		}
		if err := p.PrintObj(NewOutputToken(e.token, view), out); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, shown, "bootstrap tokens")
}

// markProxy marks the entry of the token that owns kube-system/kubeadm-certs
// and returns its ID ("" when none is listed). Not being able to read
// kubeadm-certs only means nothing is marked.
func (o *ListOptions) markProxy(ctx context.Context, entries []listEntry) string {
	certs, err := getCertsSecret(ctx, o.core)
	id := CertsProxyID(certs)
	if err != nil || id == "" {
		return ""
	}
	for i := range entries {
		if entries[i].token != nil && entries[i].token.ID == id {
			entries[i].proxy = true
			return id
		}
	}
	return ""
}
