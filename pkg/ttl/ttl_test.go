package ttl

import (
	"strings"
	"testing"
	"time"
)

func TestParseAcceptsGoDurationsWithDaysAndWeeksAnywhere(t *testing.T) {
	for in, want := range map[string]Value{
		"90m":   {Duration: 90 * time.Minute},
		"12h":   {Duration: 12 * time.Hour},
		"30d":   {Duration: 30 * 24 * time.Hour},
		"2w":    {Duration: 14 * 24 * time.Hour},
		"1d12h": {Duration: 36 * time.Hour},
		"1w1d":  {Duration: 8 * 24 * time.Hour},
		"1.5h":  {Duration: 90 * time.Minute},
		"1.5d":  {Duration: 36 * time.Hour},
		"500ms": {Duration: 500 * time.Millisecond},
		"0":     {},
		"0s":    {},
		"never": {Never: true},
		"Never": {Never: true},
	} {
		got, err := Parse("--ttl", in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseRefusesWithOneLineNamingTheFlag(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "--ttl is empty",
		"-1h":                   "is negative",
		"12":                    `has no unit: pass e.g. 12m, 12h or 12d`,
		"7days":                 "is not a duration",
		"1y":                    "is not a duration",
		"h":                     "is not a duration",
		"99999999999999999999d": "is too long",
		"300000w":               "is too long",
	} {
		_, err := Parse("--ttl", in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--ttl") {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestFormatRoundTrips(t *testing.T) {
	for d, want := range map[time.Duration]string{
		720 * time.Hour:               "30d",
		36 * time.Hour:                "1d12h",
		90 * time.Minute:              "1h30m",
		12 * time.Hour:                "12h",
		45 * time.Second:              "45s",
		0:                             "0s",
		24*time.Hour + 30*time.Second: "1d30s",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
		if v, err := Parse("--ttl", Format(d)); err != nil || v.Duration != d {
			t.Errorf("Parse(Format(%v)) = %v, %v", d, v, err)
		}
	}
}

func TestParseWithinTakesZeroAndRefusesNever(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "0", want: 0},
		{in: "never", err: "--expiring-within never selects nothing: pass a duration such as 7d (0 shows only the expired tokens)"},
		{in: "-1h", err: `invalid --expiring-within "-1h": pass a duration such as 7d (0 shows only the expired tokens)`},
		{in: "xyz", err: `invalid --expiring-within "xyz": pass a duration such as 7d (0 shows only the expired tokens)`},
	} {
		got, err := ParseWithin("--expiring-within", tc.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.err {
			t.Errorf("ParseWithin(%q) = %v, %q; want %v, %q", tc.in, got, gotErr, tc.want, tc.err)
		}
	}
}
