package exttoken

import (
	"fmt"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// Rancher stores TTLs in milliseconds (docs/rancher-tokens.md §2): 0
// asks for the default, any negative value means never.
const (
	msPerSecond = int64(1000)
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
	neverTTL    = int64(-1)
)

// minTTLWarning is the TTL under which create and set-ttl warn: such a
// token expires before most clients have used it.
const minTTLWarning = time.Minute

// parseTTL reads a TTL flag or argument with the one TTL grammar
// (pkg/ttl) into the milliseconds Rancher counts: never is -1 and 0
// asks for the server's default.
func parseTTL(flag, s string) (int64, error) {
	v, err := ttl.Parse(flag, s)
	if err != nil {
		return 0, err
	}
	if v.Never {
		return neverTTL, nil
	}
	if v.Duration%time.Millisecond != 0 {
		return 0, fmt.Errorf("%s %q: Rancher counts whole milliseconds; pass e.g. 1s or 90m", flag, s)
	}
	return v.Duration.Milliseconds(), nil
}

// shortTTLWarning is the warning for a TTL under one minute, "" otherwise.
func shortTTLWarning(ms int64) string {
	if ms <= 0 || time.Duration(ms)*time.Millisecond >= minTTLWarning {
		return ""
	}
	return fmt.Sprintf("warning: a TTL of %s is under one minute: the token expires almost at once", formatTTL(ms))
}

// formatTTL renders milliseconds in the TTL grammar, e.g. 2592000000 as
// "30d" and 5400000 as "1h30m"; negative is "never".
func formatTTL(ms int64) string {
	if ms < 0 {
		return ttl.Never
	}
	return ttl.Format(time.Duration(ms) * time.Millisecond)
}

// ttlPolicy is what the server's TTL ingest depends on (§4), read from
// the settings when the caller may read them.
type ttlPolicy struct {
	maxMinutes     int64
	defaultMinutes int64
	// hasDefault: auth-token-default-ttl-minutes exists (Rancher main),
	// which switches ingest to IngestTTL.
	hasDefault bool
}

// maxMs is the cap in ms, -1 when unlimited.
func (p ttlPolicy) maxMs() int64 {
	if p.hasDefault {
		if p.maxMinutes < 1 {
			return neverTTL
		}
	} else if p.maxMinutes <= 0 {
		return neverTTL
	}
	return p.maxMinutes * msPerMinute
}

// ingest predicts the TTL the server will store for a requested one.
func (p ttlPolicy) ingest(ttl int64) int64 {
	max := p.maxMs()
	if !p.hasDefault {
		if max < 0 {
			if ttl == 0 {
				return neverTTL
			}
			return ttl
		}
		if ttl <= 0 || ttl > max {
			return max
		}
		return ttl
	}
	def := max
	if p.defaultMinutes != 0 {
		def = p.defaultMinutes * msPerMinute
	}
	if ttl == 0 {
		ttl = def
	}
	if max > 0 && (ttl < 0 || ttl > max) {
		ttl = max
	}
	return ttl
}

// clampWarning says what the server will store when it differs from what
// was asked, or "" when the request stands.
func (p ttlPolicy) clampWarning(requested int64) string {
	got := p.ingest(requested)
	switch {
	case got == requested:
		return ""
	case requested < 0:
		return fmt.Sprintf("warning: the server caps tokens at %s (auth-token-max-ttl-minutes=%d): --ttl never will be stored as %s", formatTTL(got), p.maxMinutes, formatTTL(got))
	default:
		return fmt.Sprintf("warning: the server caps tokens at %s (auth-token-max-ttl-minutes=%d): --ttl %s will be clamped to %s", formatTTL(got), p.maxMinutes, formatTTL(requested), formatTTL(got))
	}
}

// ttlGreater is the server's extension test: a > b, negative = infinite.
func ttlGreater(a, b int64) bool {
	switch {
	case a < 0 && b < 0:
		return false
	case a < 0:
		return true
	case b < 0:
		return false
	}
	return a > b
}

// expiry computes when a token expires from its creation time and TTL in
// ms; ok is false for tokens that never expire.
func expiry(created time.Time, ttl int64) (at time.Time, ok bool) {
	if ttl < 0 || created.IsZero() {
		return time.Time{}, false
	}
	return created.Add(time.Duration(ttl) * time.Millisecond), true
}
