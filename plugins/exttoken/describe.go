package exttoken

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// DescribeOptions is `kubectl exttoken describe`.
type DescribeOptions struct {
	genericiooptions.IOStreams
	f    cli.Clients
	Name string

	tokens tokenClient
}

// NewCmdDescribe builds `kubectl exttoken describe NAME`.
func NewCmdDescribe(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DescribeOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a Rancher token: owner, expiry, use, scope",
		Long: cli.LongDesc(`
			Describe one token: owner and auth provider principal, kind, scope
			(cluster), whether it is enabled, its TTL and when it expires (computed
			from creation time and TTL), when it was last used and updated, and
			whether it is the token this request was authenticated with.`),
		Example: templates.Examples(`
			# Everything about one token
			kubectl exttoken describe token-abcde`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokens(f, cli.OneName, anyToken),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete takes the name and builds the client.
func (o *DescribeOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	var err error
	o.tokens, err = newTokenClient(o.f)
	return err
}

// Validate checks the name.
func (o *DescribeOptions) Validate() error { return validateTokenName(o.f, o.Name) }

// Run fetches and describes.
func (o *DescribeOptions) Run(ctx context.Context) error {
	u, err := o.tokens.get(ctx, o.Name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(o.Out, describeToken(u, now()))
	return err
}

// describeToken is the human description of a token. Everything the
// server supplied is escaped: a description or principal must not reach
// the terminal as control sequences or forged lines.
func describeToken(u *unstructured.Unstructured, now time.Time) string {
	var w strings.Builder
	t := tokenFrom(u)
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, path...)
		return s
	}
	line := func(k, v string) { printer.DescribeLine(&w, k, v) }
	orNone := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	line("Name", t.Name)
	principal := str("spec", "userPrincipal", "name")
	if dn := str("spec", "userPrincipal", "displayName"); dn != "" {
		principal = fmt.Sprintf("%s (%s)", principal, dn)
	}
	if p := str("spec", "userPrincipal", "provider"); p != "" {
		principal += ", provider " + p
	}
	line("User", t.UserID)
	line("Principal", orNone(principal, "<none>"))
	kind := t.Kind
	switch kind {
	case "":
		kind = "<derived>"
	case "session":
		kind = "session (login token)"
	}
	line("Kind", kind)
	line("Description", orNone(t.Description, "<none>"))
	line("Cluster", orNone(t.ClusterName, "<all clusters>"))
	line("Enabled", fmt.Sprint(t.Enabled))
	if t.TTL < 0 {
		line("TTL", "never expires")
	} else {
		line("TTL", fmt.Sprintf("%s (%d ms)", formatTTL(t.TTL), t.TTL))
	}
	line("Created", printer.Stamp(t.Created, now))
	at, ok := t.expiresAt()
	if ok {
		line("Expires", fmt.Sprintf("%s (%s)", at.UTC().Format(time.RFC3339), humanExpires(at, true, now)))
	} else {
		line("Expires", ttl.Never)
	}
	line("Expired", fmt.Sprint(t.expired(now)))
	line("Last used", printer.Stamp(t.LastUsed, now))
	line("Last activity", printer.Stamp(t.LastActivity, now))
	line("Last update", orNone(str("status", "lastUpdateTime"), "<unknown>"))
	line("Current", fmt.Sprintf("%t (whether this token authenticated this request)", t.Current))
	line("Labels", mapText(u.GetLabels()))
	line("Annotations", mapText(u.GetAnnotations()))
	line("Use as", fmt.Sprintf("Authorization: Bearer ext/%s:<value, shown only when created>", t.Name))
	return w.String()
}

func mapText(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
