package fleet

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// fleetRule is the pattern of Fleet v0.16's CEL rule on spec.ttl
// (docs/fleet-registration.md §1): whatever we send must match it.
var fleetRule = regexp.MustCompile(`^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$`)

func TestTTLInTheSharedGrammarBecomesAGoDurationFleetAccepts(t *testing.T) {
	for in, want := range map[string]string{
		"24h": "24h", "1d12h": "36h", "7d": "168h", "2w": "336h", "90m": "1h30m", "1h30m": "1h30m", "15s": "15s", "1.5d": "36h", "500ms": "500ms",
	} {
		v, err := ttl.Parse("--ttl", in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, note, err := TTLSpec("--ttl", v)
		if err != nil || got != want || note != "" {
			t.Errorf("--ttl %s: spec.ttl %q, note %q, err %v; want %q", in, got, note, err, want)
		}
		if !fleetRule.MatchString(got) {
			t.Errorf("--ttl %s gives %q, which Fleet's CEL rule refuses", in, got)
		}
	}
}

func TestTTLNeverAndZeroSendNoTTL(t *testing.T) {
	for _, in := range []string{"never", "0"} {
		v, err := ttl.Parse("--ttl", in)
		if err != nil {
			t.Fatal(err)
		}
		got, note, err := TTLSpec("--ttl", v)
		if err != nil || got != "" {
			t.Errorf("--ttl %s: spec.ttl %q, err %v; want none", in, got, err)
		}
		if in == "0" && !strings.Contains(note, "never expires") {
			t.Errorf("--ttl 0 does not say it means never: %q", note)
		}
	}
}

func TestTTLBeyondFleetsMaximumIsRefused(t *testing.T) {
	v, err := ttl.Parse("--ttl", "2562047h30m")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := TTLSpec("--ttl", v); err == nil || !strings.Contains(err.Error(), "2562047h") {
		t.Errorf("2562047h30m: %v", err)
	}
}
