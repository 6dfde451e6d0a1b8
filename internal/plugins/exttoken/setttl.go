package exttoken

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
)

// SetTTLOptions is `kubectl exttoken set-ttl`.
type SetTTLOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams

	Name, TTL string
	ttlMs     int64
}

// NewSetTTLCmd builds `kubectl exttoken set-ttl NAME DURATION`.
func NewSetTTLCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetTTLOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "set-ttl NAME DURATION",
		Short: "Shorten a Rancher token's time to live (Rancher never lets it grow)",
		Long: templates.LongDesc(`
			Reduce a token's TTL. The TTL counts from the token's creation, and
			Rancher only lets it shrink: every API caller, administrators included,
			gets "forbidden to extend time-to-live" for a longer one. This command
			explains the change first and refuses an extension itself; for a longer
			life, create a new token.

			DURATION takes 90m, 12h, 30d or 1d12h. A TTL shorter than the token's age
			expires it at once.`),
		Example: templates.Examples(`
			# Let a 30-day token expire 12 hours after it was created
			kubectl exttoken set-ttl token-abcde 12h`),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeNames(f, tokensGVR, true),
		RunE:              cli.RunE(o),
	}
	return cmd
}

// Complete parses the arguments.
func (o *SetTTLOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.TTL = args[0], args[1]
	ms, err := ParseTTL(o.TTL)
	if err != nil {
		return err
	}
	if ms == 0 {
		return fmt.Errorf("set-ttl needs a duration such as 12h: 0 asks for the server's default, which almost always extends the token and is refused")
	}
	o.ttlMs = ms
	return nil
}

// Validate checks the name.
func (o *SetTTLOptions) Validate() error { return validateTokenName(o.Name) }

// Run explains, checks and patches.
func (o *SetTTLOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, tokensGVR)
	if err != nil {
		return err
	}
	u, err := ri.Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return wrapToken(err, "get", o.Name)
	}
	t := tokenFrom(u)
	now := time.Now()
	want, note := o.ttlMs, ""
	if policy, ok := readTTLPolicy(ctx, o.f); ok {
		if got := policy.ingest(want); got != want {
			note = fmt.Sprintf("note: the server caps TTLs at %s (auth-token-max-ttl-minutes=%d): %s becomes %s", FormatTTL(got), policy.maxMinutes, FormatTTL(want), FormatTTL(got))
			want = got
		}
	}
	oldAt, oldOK := t.expiresAt()
	oldText := "never"
	if oldOK {
		oldText = oldAt.Local().Format(time.RFC3339)
	}
	if ttlGreater(want, t.TTL) {
		return fmt.Errorf("cannot extend token %q: its TTL is %s (expires %s) and Rancher only lets a TTL shrink; create a new token with --ttl %s instead", o.Name, FormatTTL(t.TTL), oldText, FormatTTL(want))
	}
	if want == t.TTL {
		fmt.Fprintf(o.streams.Out, "%s/%s already has TTL %s: nothing to change\n", extTokenResource, o.Name, FormatTTL(want))
		return nil
	}
	if note != "" {
		fmt.Fprintln(o.streams.ErrOut, note)
	}
	newAt, _ := expiry(t.Created, want)
	fmt.Fprintf(o.streams.ErrOut, "Rancher lets a token's TTL only shrink, counted from its creation (%s): %s now expires %s, with %s it expires %s.\n",
		t.Created.Local().Format(time.RFC3339), o.Name, oldText, FormatTTL(want), newAt.Local().Format(time.RFC3339))
	if !newAt.After(now) {
		fmt.Fprintf(o.streams.ErrOut, "warning: the token is older than %s: it expires at once\n", FormatTTL(want))
	}
	patch := fmt.Appendf(nil, `{"spec":{"ttl":%d}}`, want)
	if _, err := ri.Patch(ctx, o.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return wrapToken(err, "patch", o.Name)
	}
	fmt.Fprintf(o.streams.Out, "%s/%s TTL set to %s, expires %s (%s)\n", extTokenResource, o.Name, FormatTTL(want), newAt.Local().Format(time.RFC3339), humanExpires(newAt, true, now))
	return nil
}
