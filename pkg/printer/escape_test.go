package printer

import (
	"strings"
	"testing"
	"time"
)

func TestEscapeTextKeepsServerTextOnOneInertLine(t *testing.T) {
	for in, want := range map[string]string{
		"cluster-1":                 "cluster-1",
		"cluster-\x1b]0;evil\a":     `cluster-^[]0;evil\x07`,
		"a\nforged: line\r\tb":      `a\nforged: line\r\tb`,
		"c1 csi \u009b31m, ünïcode": `c1 csi \x9b31m, ünïcode`,
	} {
		if got := EscapeText(in); got != want {
			t.Errorf("EscapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCellEscapesAndCutsFreeText(t *testing.T) {
	for in, want := range map[string]string{
		"rack 7":                         "rack 7",
		"a\nb\x07":                       `a\nb\x07`,
		strings.Repeat("é", CellWidth):   strings.Repeat("é", CellWidth),
		strings.Repeat("é", CellWidth+1): strings.Repeat("é", CellWidth-3) + "...",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%.20q) = %.80q, want %.80q", in, got, want)
		}
	}
}

// A describe line's time the object lacks is <unknown>, as a table's AGE
// says; "never" is kept for what never happens (an expiry).
func TestStampOfAMissingTimeIsUnknown(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if got := Stamp(time.Time{}, now); got != "<unknown>" {
		t.Errorf("zero time: %q", got)
	}
	if got, want := Stamp(now.Add(-90*time.Minute), now), "2026-12-01T10:30:00Z (90m ago)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
