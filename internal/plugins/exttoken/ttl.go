package exttoken

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rancher stores TTLs in milliseconds (docs/rancher-tokens.md §2): 0
// asks for the default, any negative value means never.
const (
	msPerSecond = int64(1000)
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
	msPerWeek   = 7 * msPerDay
	neverTTL    = int64(-1)
)

var ttlPart = regexp.MustCompile(`(\d+(?:\.\d+)?)(ms|s|m|h|d|w)`)

var unitMs = map[string]float64{"ms": 1, "s": float64(msPerSecond), "m": float64(msPerMinute), "h": float64(msPerHour), "d": float64(msPerDay), "w": float64(msPerWeek)}

// ParseTTL converts a human TTL to milliseconds: "never" is -1, "default"
// or "0" is 0 (the server's default), anything else is a sum of numbers
// with units ms, s, m, h, d, w ("90m", "12h", "30d", "1d12h").
func ParseTTL(s string) (int64, error) {
	in := strings.TrimSpace(strings.ToLower(s))
	switch in {
	case "never", "-1":
		return neverTTL, nil
	case "default", "0":
		return 0, nil
	case "":
		return 0, fmt.Errorf("empty TTL: use a duration such as 90m, 12h, 30d, or never")
	}
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("invalid TTL %q: a TTL cannot be negative; use never for a token that does not expire", s)
	}
	matches := ttlPart.FindAllStringSubmatchIndex(in, -1)
	pos, total := 0, 0.0
	for _, m := range matches {
		if m[0] != pos {
			break
		}
		n, err := strconv.ParseFloat(in[m[2]:m[3]], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid TTL %q: use a duration such as 90m, 12h, 30d, or never", s)
		}
		total += n * unitMs[in[m[4]:m[5]]]
		pos = m[1]
	}
	if pos != len(in) || len(matches) == 0 {
		if _, err := strconv.ParseInt(in, 10, 64); err == nil {
			return 0, fmt.Errorf("invalid TTL %q: give a unit (%sm, %sh or %sd; the API itself counts milliseconds)", s, in, in, in)
		}
		return 0, fmt.Errorf("invalid TTL %q: use a duration such as 90m, 12h, 30d, or never", s)
	}
	if total > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid TTL %q: too long; use never for a token that does not expire", s)
	}
	ms := int64(math.Round(total))
	if ms < 1 {
		return 0, fmt.Errorf("invalid TTL %q: the server counts whole milliseconds; give at least 1ms", s)
	}
	return ms, nil
}

// FormatTTL renders milliseconds exactly in the largest units, e.g.
// 2592000000 as "30d" and 5400000 as "1h30m"; negative is "never".
func FormatTTL(ms int64) string {
	if ms < 0 {
		return "never"
	}
	if ms == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		ms   int64
	}{{"d", msPerDay}, {"h", msPerHour}, {"m", msPerMinute}, {"s", msPerSecond}, {"ms", 1}} {
		if n := ms / u.ms; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			ms -= n * u.ms
		}
	}
	return b.String()
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

// clampNote says what the server will store when it differs from what
// was asked, or "" when the request stands.
func (p ttlPolicy) clampNote(requested int64) string {
	got := p.ingest(requested)
	switch {
	case got == requested:
		return ""
	case requested < 0:
		return fmt.Sprintf("note: the server caps tokens at %s (auth-token-max-ttl-minutes=%d): --ttl never will be stored as %s", FormatTTL(got), p.maxMinutes, FormatTTL(got))
	default:
		return fmt.Sprintf("note: the server caps tokens at %s (auth-token-max-ttl-minutes=%d): --ttl %s will be clamped to %s", FormatTTL(got), p.maxMinutes, FormatTTL(requested), FormatTTL(got))
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
