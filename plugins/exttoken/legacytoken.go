package exttoken

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// legacyPrefixes are the name prefixes Rancher gives its system-made v3
// tokens (docs/rancher-tokens.md §7), longest first.
var legacyPrefixes = []string{"kubectl-shell", "compose-token", "helm-token", "drain-node", "kubeconfig", "telemetry", "pipeline", "agent"}

// legacyToken is a v3 token without its secret.
type legacyToken struct {
	obj         *unstructured.Unstructured
	Name, User  string
	Kind        string
	TTL         int64
	Description string
	Cluster     string
	Created     time.Time
	LastUsed    time.Time
}

// legacyFrom reads a v3 token the client has scrubbed (scrubLegacy).
func legacyFrom(u *unstructured.Unstructured) legacyToken {
	t := legacyToken{obj: u, Name: u.GetName(), Created: u.GetCreationTimestamp().Time}
	t.User, _, _ = unstructured.NestedString(u.Object, "userId")
	if t.User == "" {
		t.User = u.GetLabels()[labelV3UserID]
	}
	t.TTL, _, _ = unstructured.NestedInt64(u.Object, "ttl")
	t.Description, _, _ = unstructured.NestedString(u.Object, "description")
	t.Cluster, _, _ = unstructured.NestedString(u.Object, "clusterName")
	t.LastUsed = parseTime(u, "lastUsedAt")
	derived, _, _ := unstructured.NestedBool(u.Object, "isDerived")
	t.Kind = legacyKind(u.GetName(), u.GetLabels()[labelKind], derived)
	return t
}

// legacyKind is the kind label, else the name prefix, else session or
// derived from isDerived.
func legacyKind(name, label string, derived bool) string {
	if label != "" {
		return label
	}
	for _, p := range legacyPrefixes {
		if strings.HasPrefix(name, p+"-") {
			return p
		}
	}
	if !derived {
		return "session"
	}
	return "derived"
}

// never: v3 ttl 0 means the token never expires.
func (t legacyToken) never() bool { return t.TTL == 0 }

func (t legacyToken) expiresAt() (time.Time, bool) {
	if t.never() {
		return time.Time{}, false
	}
	return expiry(t.Created, t.TTL)
}

// expired is computed: the stored field is not maintained (#24342).
func (t legacyToken) expired(now time.Time) bool {
	at, ok := t.expiresAt()
	return ok && !now.Before(at)
}

// legacySelection is the filter both legacy commands share: every flag
// given must hold (AND), so legacy list shows exactly what legacy delete
// with the same flags removes.
type legacySelection struct {
	NeverExpiring bool
	Expired       bool
	Kind          string
	User          string
	Selector      string
	ChunkSize     int64
	ages

	kindSet bool // --kind was given, "" included
}

// complete parses the durations and notes whether --kind was given.
func (s *legacySelection) complete(cmd *cobra.Command) error {
	s.kindSet = cmd.Flags().Changed("kind")
	return s.ages.complete()
}

func (s *legacySelection) addFlags(cmd *cobra.Command, use selectionUse) {
	fl := cmd.Flags()
	only := "Only"
	if use == deleteSelection {
		only = "Delete"
	}
	fl.BoolVar(&s.NeverExpiring, "never-expiring", false, only+" tokens with ttl 0, which never expire.")
	fl.BoolVar(&s.Expired, "expired", false, only+" expired tokens (creation time + ttl has passed; the stored expired field is stale).")
	fl.StringVar(&s.Kind, "kind", "", only+" tokens of this kind (label authn.management.cattle.io/kind or name prefix), e.g. kubectl-shell.")
	fl.StringVar(&s.User, "user-id", "", only+" tokens of this Rancher user ID.")
	s.ages.addFlags(cmd, only, use)
	fl.StringVarP(&s.Selector, "selector", "l", "", only+" tokens matching this label selector (sent to the server).")
	cli.AddChunkSizeFlag(cmd, &s.ChunkSize)
	// session is a label value only; the rest are also name prefixes.
	completeKinds(cmd, append([]string{"session"}, legacyPrefixes...))
}

// selects tells whether any selection flag was given.
func (s *legacySelection) selects() bool {
	return s.NeverExpiring || s.Expired || s.kindSet || s.User != "" || s.given() || s.Selector != ""
}

func (s *legacySelection) validate() error {
	if s.NeverExpiring && (s.Expired || s.ExpiringWithin != "") {
		return fmt.Errorf("--never-expiring excludes --expired and --expiring-within: a ttl-0 token never expires")
	}
	if s.kindSet && s.Kind == "" {
		// --kind "" selects the empty kind, as for ext tokens; a v3 token
		// never has one (a kindless one reads as session or derived).
		return fmt.Errorf(`--kind "" selects v3 tokens without a kind, and there are none: a v3 token without the kind label is listed as session or derived; pass one of those, or drop --kind`)
	}
	if err := cli.ValidateChunkSize(s.ChunkSize); err != nil {
		return err
	}
	if _, err := labels.Parse(s.Selector); err != nil {
		return fmt.Errorf("invalid label selector %q: %s", s.Selector, apierror.OneLine(err.Error()))
	}
	return nil
}

func (s *legacySelection) keep(t legacyToken, now time.Time) bool {
	at, ok := t.expiresAt()
	switch {
	case s.NeverExpiring && !t.never(),
		s.Expired && !t.expired(now),
		s.withinSet && !(ok && !at.After(now.Add(s.within))),
		s.olderThan > 0 && !t.Created.Before(now.Add(-s.olderThan)),
		s.unusedFor > 0 && !lastUse(t.LastUsed, t.Created).Before(now.Add(-s.unusedFor)),
		s.kindSet && t.Kind != s.Kind,
		s.User != "" && t.User != s.User:
		return false
	}
	return true
}

// list fetches the selected v3 tokens page by page, secrets stripped as
// each page arrives.
func (s *legacySelection) list(ctx context.Context, c legacyClient, now time.Time) ([]legacyToken, error) {
	var out []legacyToken
	err := s.each(ctx, c, now, func(t legacyToken) { out = append(out, t) }, nil)
	return out, err
}

// each calls fn for every selected v3 token as its page arrives, so a
// prune holds one page at a time, never the whole list; endPage, when not
// nil, is told when a page is done.
func (s *legacySelection) each(ctx context.Context, c legacyClient, now time.Time, fn func(legacyToken), endPage func(last bool)) error {
	selector := s.Selector
	if s.User != "" {
		selector = joinSelector(selector, labelV3UserID+"="+s.User)
	}
	return c.eachPage(ctx, selector, s.ChunkSize, func(u *unstructured.Unstructured) error {
		if t := legacyFrom(u); s.keep(t, now) {
			fn(t)
		}
		return nil
	}, endPage)
}

// neverSummary counts never-expiring tokens by kind, for after the table.
func neverSummary(tokens []legacyToken, f cli.Clients) string {
	var w strings.Builder
	counts := map[string]int{}
	total := 0
	for _, t := range tokens {
		if t.never() {
			counts[t.Kind]++
			total++
		}
	}
	fmt.Fprintln(&w)
	if total == 0 {
		fmt.Fprintln(&w, "Never-expiring tokens (ttl 0): none")
		return w.String()
	}
	fmt.Fprintf(&w, "Never-expiring tokens (ttl 0): %d\n", total)
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if counts[kinds[i]] != counts[kinds[j]] {
			return counts[kinds[i]] > counts[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		fmt.Fprintf(&w, "  %-16s %d\n", printer.Cell(k), counts[k])
	}
	fmt.Fprintf(&w, "Review them, then: %s\n", command(f, "legacy", "delete", "--never-expiring", "--dry-run"))
	return w.String()
}
