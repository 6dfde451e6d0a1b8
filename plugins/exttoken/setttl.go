package exttoken

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// SetTTLOptions is `kubectl exttoken set-ttl`.
type SetTTLOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Name, TTL string

	ttlMs  int64
	tokens tokenClient
}

// NewCmdSetTTL builds `kubectl exttoken set-ttl NAME DURATION`.
func NewCmdSetTTL(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetTTLOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "set-ttl NAME DURATION",
		Short: "Shorten a Rancher token's time to live (Rancher never lets it grow)",
		Long: cli.LongDesc(`
			Reduce a token's TTL. The TTL counts from the token's creation, and
			Rancher only lets it shrink: every API caller, administrators included,
			gets "forbidden to extend time-to-live" for a longer one. This command
			explains the change first and refuses an extension itself; for a longer
			life, create a new token.

			DURATION takes 90m, 12h, 30d or 1d12h (0, the server's default, is
			refused: it almost always extends the token). A TTL shorter than the
			token's age expires it at once; one under a minute gets a warning.`),
		Example: templates.Examples(`
			# Let a 30-day token expire 12 hours after it was created
			kubectl exttoken set-ttl token-abcde 12h`),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeTokens(f, cli.OneName, anyToken),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete parses the arguments and builds the client.
func (o *SetTTLOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.TTL = args[0], args[1]
	ms, err := parseTTL("DURATION", o.TTL)
	if err != nil {
		return err
	}
	o.ttlMs = ms
	o.tokens, err = newTokenClient(o.f)
	return err
}

// Validate checks the name and the TTL.
func (o *SetTTLOptions) Validate() error {
	if o.ttlMs == 0 {
		return fmt.Errorf("set-ttl needs a duration such as 12h: 0 asks for the server's default, which almost always extends the token and is refused")
	}
	return validateTokenName(o.f, o.Name)
}

// Run explains, checks and patches.
func (o *SetTTLOptions) Run(ctx context.Context) error {
	u, err := o.tokens.get(ctx, o.Name)
	if err != nil {
		return err
	}
	t := tokenFrom(u)
	current := now()
	want, note := o.ttlMs, ""
	if policy, ok := readTTLPolicy(ctx, o.f); ok {
		if got := policy.ingest(want); got != want {
			note = fmt.Sprintf("warning: the server caps TTLs at %s (auth-token-max-ttl-minutes=%d): %s becomes %s", formatTTL(got), policy.maxMinutes, formatTTL(want), formatTTL(got))
			want = got
		}
	}
	oldAt, oldOK := t.expiresAt()
	oldText := "never"
	if oldOK {
		oldText = oldAt.UTC().Format(time.RFC3339)
	}
	if ttlGreater(want, t.TTL) {
		return fmt.Errorf("cannot extend token %q: its TTL is %s (expires %s) and Rancher only lets a TTL shrink; create a new token with --ttl %s instead", o.Name, formatTTL(t.TTL), oldText, formatTTL(want))
	}
	if want == t.TTL {
		fmt.Fprintf(o.Out, "%s/%s already has TTL %s: nothing to change\n", extTokenResource, o.Name, formatTTL(want))
		return nil
	}
	if note != "" {
		fmt.Fprintln(o.ErrOut, note)
	}
	if w := shortTTLWarning(want); w != "" {
		fmt.Fprintln(o.ErrOut, w)
	}
	newAt, _ := expiry(t.Created, want)
	fmt.Fprintf(o.ErrOut, "Rancher lets a token's TTL only shrink, counted from its creation (%s): %s now expires %s, with %s it expires %s.\n",
		t.Created.UTC().Format(time.RFC3339), o.Name, oldText, formatTTL(want), newAt.UTC().Format(time.RFC3339))
	if !newAt.After(current) {
		fmt.Fprintf(o.ErrOut, "warning: the token is older than %s: it expires at once\n", formatTTL(want))
	}
	patch := fmt.Appendf(nil, `{"spec":{"ttl":%d}}`, want)
	if _, err := o.tokens.patch(ctx, o.Name, patch); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s/%s TTL set to %s, expires %s (%s)\n", extTokenResource, o.Name, formatTTL(want), newAt.UTC().Format(time.RFC3339), humanExpires(newAt, true, current))
	return nil
}
