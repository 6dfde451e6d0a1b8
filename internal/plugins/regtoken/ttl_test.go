package regtoken

import (
	"strings"
	"testing"
)

// The accepted and rejected tables of shared/docs/fleet-registration.md
// §1 (from Fleet's duration_validation_test.go), plus our Nd/Nw conversion.
func TestNormalizeTTLAcceptsFleetsTable(t *testing.T) {
	for _, in := range []string{"15s", "5m", "2h", "1h30m", "300ms", "1.5h", "100µs", "0", "0s"} {
		ttl, _, err := NormalizeTTL(in)
		if err != nil {
			t.Errorf("NormalizeTTL(%q) refused: %v", in, err)
			continue
		}
		if ttl != in {
			t.Errorf("NormalizeTTL(%q) = %q: an accepted value must go to the server unchanged", in, ttl)
		}
	}
}

func TestNormalizeTTLRejectsFleetsTable(t *testing.T) {
	// 1d and 1w are in Fleet's rejected table; we convert them (next
	// test), so only the rest must be refused here.
	for _, in := range []string{"7d12h", "1y", "abc", "5x", "-1h", "5000000h"} {
		if ttl, _, err := NormalizeTTL(in); err == nil {
			t.Errorf("NormalizeTTL(%q) = %q, want an error", in, ttl)
		} else if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), in) {
			t.Errorf("NormalizeTTL(%q) error is not one line naming the value: %q", in, err)
		}
	}
}

func TestNormalizeTTLRejectsOthers(t *testing.T) {
	for _, in := range []string{"", " 1h", "1h ", "1H", ".5h", "1.h", "1e3s", "+1h", "1h-1m", "2562048h", strings.Repeat("1", 31) + "s", "1µ", "1us1"} {
		if ttl, _, err := NormalizeTTL(in); err == nil {
			t.Errorf("NormalizeTTL(%q) = %q, want an error", in, ttl)
		}
	}
}

func TestNormalizeTTLConvertsDaysAndWeeks(t *testing.T) {
	for in, want := range map[string]string{"1d": "24h", "7d": "168h", "1w": "168h", "2w": "336h", "0d": "0h", "106751d": "2562024h"} {
		ttl, note, err := NormalizeTTL(in)
		if err != nil {
			t.Errorf("NormalizeTTL(%q): %v", in, err)
			continue
		}
		if ttl != want {
			t.Errorf("NormalizeTTL(%q) = %q, want %q", in, ttl, want)
		}
		if !strings.Contains(note, in) || !strings.Contains(note, want) {
			t.Errorf("NormalizeTTL(%q) note %q does not say the conversion", in, note)
		}
	}
	// Past Fleet's maximum after conversion.
	for _, in := range []string{"106752d", "15251w", "99999999999d"} {
		if ttl, _, err := NormalizeTTL(in); err == nil {
			t.Errorf("NormalizeTTL(%q) = %q, want too long", in, ttl)
		}
	}
}

func TestNormalizeTTLBoundaries(t *testing.T) {
	if _, _, err := NormalizeTTL("2562047h"); err != nil {
		t.Errorf("the maximum 2562047h is refused: %v", err)
	}
	// 32 characters is the CRD's maxLength; µ counts as one.
	ok := strings.Repeat("0", 29) + "1ns"
	if _, _, err := NormalizeTTL(ok); err != nil {
		t.Errorf("a 32-character ttl is refused: %v", err)
	}
	if _, _, err := NormalizeTTL(strings.Repeat("0", 29) + "1µs"); err != nil {
		t.Errorf("a 32-character ttl with µ is refused: %v", err)
	}
	_, note, err := NormalizeTTL("0s")
	if err != nil || !strings.Contains(note, "never expires") {
		t.Errorf("0s: note %q, err %v; want a note that it never expires", note, err)
	}
}
