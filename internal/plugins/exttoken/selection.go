package exttoken

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/ttl"
)

// selectionUse says which command a selection's flags are bound to.
type selectionUse int

const (
	listSelection   selectionUse = iota // list: every filter
	deleteSelection                     // delete: what a prune selects by
)

// tokenSelection is which ext tokens a list shows or a delete removes.
type tokenSelection struct {
	UserID         string
	Kind           string
	Expired        bool
	ExpiringWithin string
	Selector       string

	kindSet  bool
	within   time.Duration
	selector string // what is sent: -l plus --kind (never a user ID)
}

func (s *tokenSelection) addFlags(cmd *cobra.Command, use selectionUse) {
	fl := cmd.Flags()
	switch use {
	case listSelection:
		fl.BoolVar(&s.Expired, "expired", false, "Only expired tokens.")
		fl.StringVar(&s.UserID, "user-id", "", "Only tokens of this Rancher user ID (spec.userID).")
		fl.StringVar(&s.Kind, "kind", "", "Only tokens of this kind (spec.kind, e.g. session, kubeconfig).")
		fl.StringVar(&s.ExpiringWithin, "expiring-within", "", "Only tokens that are not expired yet but expire within this duration (e.g. 7d).")
		fl.StringVarP(&s.Selector, "selector", "l", "", "Label selector, e.g. -l team=ci (non-admins on Rancher up to 2.15.0: key=value terms only).")
		_ = cmd.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"session", "kubeconfig"}, cobra.ShellCompDirectiveNoFileComp
		})
	case deleteSelection:
		fl.BoolVar(&s.Expired, "expired", false, "Delete every expired token you can see (all users' for administrators).")
	}
}

// selects tells whether any selection flag was given.
func (s *tokenSelection) selects() bool {
	return s.Expired || s.ExpiringWithin != "" || s.UserID != "" || s.kindSet || s.Selector != ""
}

// complete parses durations and builds the selector that is sent.
func (s *tokenSelection) complete(cmd *cobra.Command) error {
	s.kindSet = cmd.Flags().Changed("kind")
	if s.ExpiringWithin != "" {
		v, err := ttl.Parse("--expiring-within", s.ExpiringWithin)
		if err != nil || v.Never || v.Duration <= 0 {
			return fmt.Errorf("invalid --expiring-within %q: use a duration such as 12h or 7d", s.ExpiringWithin)
		}
		s.within = v.Duration
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
	if s.Expired && s.ExpiringWithin != "" {
		return fmt.Errorf("--expired and --expiring-within exclude each other: expiring tokens are not expired yet")
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
	if s.Expired && !(ok && !now.Before(at)) {
		return false
	}
	if s.within > 0 && !(ok && at.After(now) && !at.After(now.Add(s.within))) {
		return false
	}
	return true
}

// needsObjects: filters that need the spec rather than row metadata.
func (s *tokenSelection) needsObjects() bool { return s.Expired || s.within > 0 || s.UserID != "" }

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
