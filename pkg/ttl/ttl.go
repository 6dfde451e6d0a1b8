// Package ttl is the one --ttl grammar of the three plugins: Go durations
// plus the units d (24h) and w (7d) anywhere in the value ("90m", "12h",
// "30d", "1d12h", "1.5h"), and the word "never". Each plugin then applies
// its own rule to the result (Fleet stores a Go duration string, Rancher
// milliseconds, kubeadm a duration) and says in its help what 0 means
// there.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package ttl

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Never is the one word for a TTL that does not expire, as input and as
// output.
const Never = "never"

// Value is a parsed TTL: Never, or a duration (0 included, whose meaning
// is the plugin's).
type Value struct {
	Duration time.Duration
	Never    bool
}

func (v Value) String() string {
	if v.Never {
		return Never
	}
	return Format(v.Duration)
}

var digits = regexp.MustCompile(`^[0-9]+$`)

var part = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w)`)

// Examples is what a TTL error suggests.
const Examples = "a duration such as 90m, 12h, 30d or 1d12h, or never"

// Parse reads a TTL. flag names the flag in errors ("--ttl").
func Parse(flag, s string) (Value, error) {
	in := strings.TrimSpace(s)
	switch strings.ToLower(in) {
	case Never:
		return Value{Never: true}, nil
	case "0":
		return Value{}, nil
	case "":
		return Value{}, fmt.Errorf("%s is empty: pass %s", flag, Examples)
	}
	if strings.HasPrefix(in, "-") {
		return Value{}, fmt.Errorf("%s %q is negative: pass %s", flag, s, Examples)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		m := part.FindStringSubmatch(rest)
		if m == nil {
			if digits.MatchString(in) {
				return Value{}, fmt.Errorf("%s %q has no unit: pass e.g. %sm, %sh or %sd (or never)", flag, s, in, in, in)
			}
			return Value{}, fmt.Errorf("%s %q is not a duration: pass %s", flag, s, Examples)
		}
		num, unit := m[1], m[2]
		mult := time.Duration(1)
		switch unit {
		case "d":
			unit, mult = "h", 24
		case "w":
			unit, mult = "h", 7*24
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil || d > math.MaxInt64/mult || total > math.MaxInt64-d*mult {
			return Value{}, fmt.Errorf("%s %q is too long: pass a shorter duration, or never", flag, s)
		}
		total += d * mult
		rest = rest[len(m[0]):]
	}
	return Value{Duration: total}, nil
}

// Format renders d in the grammar Parse reads, in the largest units that
// keep it exact: 720h as "30d", 36h as "1d12h", 90m as "1h30m".
func Format(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	day := 24 * time.Hour
	if days := d / day; days > 0 && d%time.Second == 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * day
		if d == 0 {
			return b.String()
		}
	}
	s := d.String()
	// time.Duration.String pads with zero units ("12h0m0s"): drop them.
	for _, z := range []string{"h0m0s", "m0s"} {
		if strings.HasSuffix(s, z) {
			s = strings.TrimSuffix(s, z) + z[:1]
			break
		}
	}
	b.WriteString(s)
	return b.String()
}

// ParseWithin reads a monitoring window (--expiring-within): a duration,
// or 0 for the tokens that have already expired. never is refused: a
// token that never expires is within no window, and "every token that
// expires" is what a list without the flag shows.
func ParseWithin(flag, s string) (time.Duration, error) {
	v, err := Parse(flag, s)
	switch {
	case err != nil:
		// Parse's own suggestion offers never, which a window refuses.
		return 0, fmt.Errorf("invalid %s %q: pass a duration such as 7d (0 shows only the expired tokens)", flag, s)
	case v.Never:
		return 0, fmt.Errorf("%s never selects nothing: pass a duration such as 7d (0 shows only the expired tokens)", flag)
	}
	return v.Duration, nil
}

// ShortWarning is the one warning, for all three plugins, about a TTL
// under one minute ("" otherwise): such a credential expires before
// anyone can use it.
func ShortWarning(d time.Duration) string {
	if d <= 0 || d >= time.Minute {
		return ""
	}
	return fmt.Sprintf("a TTL of %s is under one minute: the token expires almost at once", Format(d))
}
