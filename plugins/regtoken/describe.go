package regtoken

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// DescribeOptions is `kubectl regtoken describe`.
type DescribeOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	tokenRef
}

// NewCmdDescribe builds `kubectl regtoken describe`.
func NewCmdDescribe(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DescribeOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a registration token: expiry, values Secret, registrations",
		Long: cli.LongDesc(`
			Describe one Fleet ClusterRegistrationToken for people, as kubectl
			describe does: its namespace and name, when it was created, its TTL
			and when it expires (creation time plus TTL, as the Fleet controller
			computes it), and its values Secret: the name, whether it exists and
			which keys it holds. The token value in that Secret is never shown;
			kubectl regtoken values writes it to a file.

			Under Registrations: follow the clusters registered with the token, as
			kubectl regtoken get lists them: the ClusterRegistrations labelled
			fleet.cattle.io/registration-token=NAME (REQUEST, CLIENT-ID, CLUSTER,
			GRANTED, AGE). fleet-agents older than v0.16 leave no such label, so
			their registrations cannot be listed. For yaml or json, use kubectl
			regtoken get NAME -o yaml.`),
		Example: templates.Examples(`
			# Everything about one token: expiry, values Secret, registered clusters
			kubectl regtoken describe my-cluster -n fleet-default`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete resolves the name, namespace and client.
func (o *DescribeOptions) Complete(_ *cobra.Command, args []string) error {
	return o.complete(o.f, args)
}

// Validate checks the name.
func (o *DescribeOptions) Validate() error {
	if o.Name == "" {
		return fleet.ErrNoName
	}
	return nil
}

// Run reads the token, its values Secret and its registrations, and
// describes them. Only the token must be readable: a Secret or
// registrations the user may not read are described as unknown, as get
// does.
func (o *DescribeOptions) Run(ctx context.Context) error {
	tok, _, err := fleet.GetToken(ctx, o.tokens, o.f, o.namespace, o.Name)
	if err != nil {
		return err
	}
	t := fleet.Now()
	var b strings.Builder
	line := func(k, v string) { printer.DescribeLine(&b, k, v) }
	line("Name", tok.Name)
	line("Namespace", tok.Namespace)
	line("Created", printer.Stamp(tok.CreationTimestamp.Time, t))
	line("TTL", ttlText(tok))
	expires := relativeExpiry(tok, t)
	if at, ok := tok.ExpiresAt(); ok {
		expires = fmt.Sprintf("%s (%s)", at.UTC().Format(time.RFC3339), expires)
	}
	line("Expires", expires)
	line("Values Secret", o.valuesSecret(ctx, tok))
	if _, err := io.WriteString(o.Out, b.String()); err != nil {
		return err
	}
	return o.describeRegistrations(ctx)
}

// valuesSecret says which Secret holds the token's values, whether it
// exists and its keys, never their values: they hold the agent's
// credential.
func (o *DescribeOptions) valuesSecret(ctx context.Context, tok *fleet.Token) string {
	name := tok.Status.SecretName
	if name == "" {
		return "<none> (the Fleet controller has not written it yet)"
	}
	core, err := o.f.CoreV1()
	if err != nil {
		return fmt.Sprintf("%s (unknown: %s)", name, apierror.OneLine(err.Error()))
	}
	s, err := core.Secrets(tok.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return name + " (not found)"
	case err != nil:
		return fmt.Sprintf("%s (unknown: %s)", name, apierror.OneLine(apierror.Wrap(err, fleet.SecretOp("get", tok.Namespace, name)).Error()))
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	desc := fmt.Sprintf("%s (keys: %s)", name, strings.Join(keys, ", "))
	if len(keys) == 0 {
		desc = name + " (no keys)"
	}
	if string(s.Type) != fleet.ValuesSecretType {
		desc += fmt.Sprintf(", type %s, not written by the Fleet controller", s.Type)
	}
	return desc
}

// describeRegistrations is "Registrations:" with get's table of the
// registrations made with the token, indented; none, or none known, is
// <none> or <unknown> with get's note on stderr.
func (o *DescribeOptions) describeRegistrations(ctx context.Context) error {
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	table, note, known := registrationsTable(ctx, dyn, o.namespace, o.Name, fleet.Now())
	if table == nil {
		state := "<none>"
		if !known {
			state = "<unknown>"
		}
		printer.DescribeLine(o.Out, "Registrations", state)
		fmt.Fprintln(o.ErrOut, note)
		return nil
	}
	var buf bytes.Buffer
	if err := printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(table, &buf); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "Registrations:")
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			fmt.Fprint(o.Out, "  "+l)
		}
	}
	return nil
}
