package exttoken

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// selectionUse says which command a selection's flags are bound to.
type selectionUse int

const (
	listSelection   selectionUse = iota // list: every filter
	deleteSelection                     // delete: what a prune selects by
)

// tokenSelection is which ext tokens a list shows or a delete removes:
// every flag given must hold (AND), so list shows exactly what the same
// flags on delete would remove.
type tokenSelection struct {
	UserID        string
	Kind          string
	Expired       bool
	NeverExpiring bool
	Selector      string
	ages

	kindSet  bool
	selector string // what is sent: -l plus --kind (never a user ID)
}

// ages are the age flags both selections (ext and v3 tokens) share.
type ages struct {
	OlderThan      string
	UnusedFor      string
	ExpiringWithin string

	olderThan, unusedFor, within time.Duration
	withinSet                    bool // 0 is a window too: only the expired
}

// addFlags binds --older-than and --unused-for, and --expiring-within on
// a list; only starts their help ("Only", "Delete").
func (a *ages) addFlags(cmd *cobra.Command, only string, use selectionUse) {
	fl := cmd.Flags()
	fl.StringVar(&a.OlderThan, "older-than", "", only+" tokens created longer ago than this duration, e.g. 90d.")
	fl.StringVar(&a.UnusedFor, "unused-for", "", only+" tokens not used for this duration, e.g. 30d (never-used tokens count from their creation).")
	if use == listSelection {
		fl.StringVar(&a.ExpiringWithin, "expiring-within", "", "Only tokens that expire within this duration (e.g. 7d) or have expired.")
	}
}

// given tells whether any age flag was given.
func (a *ages) given() bool {
	return a.OlderThan != "" || a.UnusedFor != "" || a.ExpiringWithin != ""
}

// complete parses the durations.
func (a *ages) complete() error {
	var err error
	if a.withinSet = a.ExpiringWithin != ""; a.withinSet {
		if a.within, err = ttl.ParseWithin("--expiring-within", a.ExpiringWithin); err != nil {
			return err
		}
	}
	if a.olderThan, err = parseAge("--older-than", a.OlderThan); err != nil {
		return err
	}
	a.unusedFor, err = parseAge("--unused-for", a.UnusedFor)
	return err
}

// selectionFlags names the flags of a selection, for messages.
const selectionFlags = "--expired, --never-expiring, --older-than, --unused-for, --kind, --user-id or -l"

func (s *tokenSelection) addFlags(cmd *cobra.Command, use selectionUse) {
	fl := cmd.Flags()
	only := "Only"
	if use == deleteSelection {
		only = "Delete"
	}
	fl.BoolVar(&s.Expired, "expired", false, only+" expired tokens (creation time + TTL has passed).")
	fl.BoolVar(&s.NeverExpiring, "never-expiring", false, only+" tokens that never expire.")
	s.ages.addFlags(cmd, only, use)
	fl.StringVar(&s.UserID, "user-id", "", only+" tokens of this Rancher user ID (spec.userID).")
	fl.StringVar(&s.Kind, "kind", "", only+" tokens of this kind (spec.kind, e.g. session, kubeconfig).")
	fl.StringVarP(&s.Selector, "selector", "l", "", only+" tokens matching this label selector, e.g. -l team=ci (non-admins on Rancher up to 2.15.0: key=value terms only).")
	completeKinds(cmd, extKinds)
}

// selects tells whether any selection flag was given.
func (s *tokenSelection) selects() bool {
	return s.Expired || s.NeverExpiring || s.given() || s.UserID != "" || s.kindSet || s.Selector != ""
}

// parseAge reads a positive duration flag ("" is 0).
func parseAge(flag, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := ttl.Parse(flag, v)
	if err != nil || d.Never || d.Duration <= 0 {
		return 0, fmt.Errorf("invalid %s %q: use a duration such as 12h, 7d or 90d", flag, v)
	}
	return d.Duration, nil
}

// complete parses durations and builds the selector that is sent.
func (s *tokenSelection) complete(cmd *cobra.Command) error {
	s.kindSet = cmd.Flags().Changed("kind")
	if err := s.ages.complete(); err != nil {
		return err
	}
	sel, err := userSelector(s.Selector)
	if err != nil {
		return err
	}
	if s.kindSet && validation.IsValidLabelValue(s.Kind) == nil {
		sel = joinSelector(sel, labelKind+"="+s.Kind)
	}
	s.selector = sel
	return nil
}

func (s *tokenSelection) validate() error {
	if s.NeverExpiring && (s.Expired || s.ExpiringWithin != "") {
		return fmt.Errorf("--never-expiring excludes --expired and --expiring-within: such a token never expires")
	}
	if s.kindSet {
		if errs := validation.IsValidLabelValue(s.Kind); len(errs) > 0 {
			return fmt.Errorf("invalid --kind %q: %s", s.Kind, errs[0])
		}
	}
	return nil
}

// serverSelector is the selector to send. An administrator's server can
// filter by owner; for anyone else the server already returns only their
// own tokens, and sending another user's ID is what leaks on older
// Rancher (docs/rancher-tokens.md §3 note 3).
func (s *tokenSelection) serverSelector(ctx context.Context, f cli.Clients) string {
	if s.UserID != "" {
		if admin, _ := isRancherAdmin(ctx, f); admin {
			return joinSelector(s.selector, labelUserID+"="+s.UserID)
		}
	}
	return s.selector
}

// keep applies the client-side filters to one token.
func (s *tokenSelection) keep(t extToken, now time.Time) bool {
	if s.UserID != "" && t.UserID != s.UserID {
		return false
	}
	if s.kindSet && t.Kind != s.Kind {
		return false
	}
	at, ok := t.expiresAt()
	switch {
	case s.Expired && !(ok && !now.Before(at)),
		s.NeverExpiring && ok,
		s.withinSet && !(ok && !at.After(now.Add(s.within))),
		s.olderThan > 0 && !t.Created.Before(now.Add(-s.olderThan)),
		s.unusedFor > 0 && !lastUse(t.LastUsed, t.Created).Before(now.Add(-s.unusedFor)):
		return false
	}
	return true
}

// lastUse is when a token was last used; a never-used one counts from
// its creation.
func lastUse(used, created time.Time) time.Time {
	if used.IsZero() {
		return created
	}
	return used
}

// needsObjects: filters that need the spec or status rather than the
// row's metadata.
func (s *tokenSelection) needsObjects() bool {
	return s.Expired || s.NeverExpiring || s.withinSet || s.unusedFor > 0 || s.olderThan > 0 || s.UserID != ""
}

// userSelector parses -l and refuses cattle.io/user-id terms: Rancher up to
// 2.15.0 passes another user's ID through and returns their tokens to a
// non-admin (docs/rancher-tokens.md §3 note 3). --user-id is the way.
func userSelector(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid label selector %q: %s", s, apierror.OneLine(err.Error()))
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() == labelUserID {
			return "", fmt.Errorf("label selector %q names %s: use --user-id, which never asks Rancher for another user's tokens", s, labelUserID)
		}
	}
	return sel.String(), nil
}

func joinSelector(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}
