package exttoken

import (
	"strings"
	"testing"
	"time"
)

func TestParseTTLUsesTheSharedGrammarInMilliseconds(t *testing.T) {
	good := map[string]int64{
		"90m": 90 * msPerMinute, "12h": 12 * msPerHour, "30d": 30 * msPerDay, "never": -1, "NEVER": -1,
		"1d12h": 36 * msPerHour, "2w": 14 * msPerDay, "1.5h": 90 * msPerMinute, "1ms": 1, "45s": 45000,
		"0": 0, " 90d ": 90 * msPerDay,
	}
	for in, want := range good {
		got, err := parseTTL("--ttl", in)
		if err != nil || got != want {
			t.Errorf("parseTTL(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"abc":                   "not a duration",
		"-5m":                   "negative",
		"90":                    "no unit",
		"0.1ms":                 "whole milliseconds",
		"12x":                   "not a duration",
		"":                      "empty",
		"99999999999999999999d": "too long",
		"-1":                    "negative",
		"default":               "not a duration",
	}
	for in, want := range bad {
		_, err := parseTTL("--ttl", in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--ttl") {
			t.Errorf("parseTTL(%q) error %v; want it to name --ttl and mention %q", in, err, want)
		}
	}
}

func TestShortTTLWarning(t *testing.T) {
	if w := shortTTLWarning(30 * msPerSecond); !strings.HasPrefix(w, "warning: ") || !strings.Contains(w, "30s is under one minute") {
		t.Errorf("30s: %q", w)
	}
	for _, ms := range []int64{0, -1, msPerMinute, 90 * msPerDay} {
		if w := shortTTLWarning(ms); w != "" {
			t.Errorf("%d: %q", ms, w)
		}
	}
}

func TestFormatTTLInTheSharedGrammar(t *testing.T) {
	cases := map[int64]string{-1: "never", 0: "0s", 30 * msPerDay: "30d", 90 * msPerMinute: "1h30m", 1: "1ms", 129600 * msPerMinute: "90d", 36 * msPerHour: "1d12h"}
	for in, want := range cases {
		if got := formatTTL(in); got != want {
			t.Errorf("formatTTL(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestPolicyIngest(t *testing.T) {
	ninety := ttlPolicy{maxMinutes: 129600}
	if got := ninety.ingest(365 * msPerDay); got != 90*msPerDay {
		t.Errorf("clamp: %d", got)
	}
	if got := ninety.ingest(-1); got != 90*msPerDay {
		t.Errorf("never clamped: %d", got)
	}
	if got := ninety.ingest(0); got != 90*msPerDay {
		t.Errorf("default 2.15: %d", got)
	}
	unlimited := ttlPolicy{maxMinutes: 0}
	if got := unlimited.ingest(0); got != -1 {
		t.Errorf("unlimited default: %d", got)
	}
	main := ttlPolicy{maxMinutes: 129600, defaultMinutes: 43200, hasDefault: true}
	if got := main.ingest(0); got != 30*msPerDay {
		t.Errorf("main default: %d", got)
	}
	if n := main.clampWarning(365 * msPerDay); !strings.Contains(n, "clamped to 90d") {
		t.Errorf("note %q", n)
	}
	if n := main.clampWarning(msPerDay); n != "" {
		t.Errorf("no note expected, got %q", n)
	}
	if n := ninety.clampWarning(-1); !strings.Contains(n, "--ttl never will be stored as 90d") {
		t.Errorf("note %q", n)
	}
}

func TestTTLGreaterAndExpiry(t *testing.T) {
	if !ttlGreater(-1, 5) || ttlGreater(5, -1) || ttlGreater(-1, -1) || !ttlGreater(6, 5) || ttlGreater(5, 5) {
		t.Error("ttlGreater")
	}
	c := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if at, ok := expiry(c, msPerHour); !ok || !at.Equal(c.Add(time.Hour)) {
		t.Errorf("expiry %v %v", at, ok)
	}
	if _, ok := expiry(c, -1); ok {
		t.Error("never expires")
	}
}
