package regtoken

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// Fleet v0.16's CEL rule on spec.ttl (PR #5299), reproduced on the client
// so a bad --ttl is refused before anything is sent:
//
//	self == '0' || (self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$')
//	  && duration(self) <= duration('2562047h'))
//
// with minLength 1 and maxLength 32. CEL's duration() is Go's
// time.ParseDuration, which also fails on overflow (5000000h).
var (
	ttlPattern = regexp.MustCompile(`^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$`)
	// daysOrWeeks is the one shorthand we convert: a whole number of days
	// or weeks alone, e.g. 7d or 2w.
	daysOrWeeks = regexp.MustCompile(`^([0-9]+)([dw])$`)
)

const (
	ttlMaxLength = 32
	ttlMax       = 2562047 * time.Hour
	// ttlRuleMessage is the CRD rule's message, so the client and a v0.16
	// server say the same.
	ttlRuleMessage = "must be a valid Go duration using units ns, us, µs, ms, s, m, h (e.g. 15s, 5m, 2h, 1h30m); units like d (days) or w (weeks) are not supported"
)

// NormalizeTTL checks a --ttl value against Fleet's rule. Nd and Nw are
// converted to hours (Fleet rejects d and w), and note says so; the
// returned ttl is what goes into spec.ttl.
func NormalizeTTL(in string) (ttl, note string, err error) {
	if m := daysOrWeeks.FindStringSubmatch(in); m != nil {
		n, perr := strconv.ParseUint(m[1], 10, 32)
		hours := uint64(24)
		if m[2] == "w" {
			hours = 7 * 24
		}
		if perr != nil || n*hours > uint64(ttlMax/time.Hour) {
			return "", "", fmt.Errorf("--ttl %q is too long: Fleet accepts at most 2562047h (about 292 years); pass a shorter --ttl", in)
		}
		ttl = strconv.FormatUint(n*hours, 10) + "h"
		note = fmt.Sprintf("--ttl %s converted to %s: Fleet accepts only the units ns, us, µs, ms, s, m, h", in, ttl)
		in = ttl
	}
	if err := checkTTL(in); err != nil {
		return "", "", err
	}
	if d, _ := time.ParseDuration(in); d == 0 {
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("--ttl %s means the token never expires", in)
	}
	return in, note, nil
}

// checkTTL is the CRD's validation of spec.ttl.
func checkTTL(s string) error {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return fmt.Errorf(`--ttl "" is empty: pass a Go duration such as 24h, or leave --ttl out for a token that never expires`)
	case n > ttlMaxLength:
		return fmt.Errorf("--ttl %q is longer than %d characters: Fleet refuses it; pass a duration such as 24h", s, ttlMaxLength)
	}
	if s == "0" {
		return nil
	}
	if !ttlPattern.MatchString(s) {
		return fmt.Errorf("--ttl %q %s; pass e.g. --ttl 24h (7d and 2w are converted to hours)", s, ttlRuleMessage)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d > ttlMax {
		return fmt.Errorf("--ttl %q is too long: Fleet accepts at most 2562047h (about 292 years); pass a shorter --ttl", s)
	}
	return nil
}
