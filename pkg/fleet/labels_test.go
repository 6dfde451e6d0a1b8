package fleet

import (
	"slices"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	labels, warnings, err := ParseLabels([]string{"env=prod", "example.com/tier=gold", "empty=", "fleet.cattle.io/x=y", "management.cattle.io/z=w"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Label{{"env", "prod"}, {"example.com/tier", "gold"}, {"empty", ""}, {"fleet.cattle.io/x", "y"}, {"management.cattle.io/z", "w"}}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q (in the order given)", labels, want)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "fleet.cattle.io/") || !strings.Contains(warnings[1], "management.cattle.io/") {
		t.Errorf("warnings for prefixes Fleet drops: %q", warnings)
	}
}

func TestParseLabelsRefusesInvalid(t *testing.T) {
	for _, in := range []string{"noequals", "=v", "bad key=v", "k=$(touch /tmp/x)", "k=it's", "k=two words", "k=line\nbreak", "k=" + strings.Repeat("a", 64), "-k=v", "a/b/c=v"} {
		_, _, err := ParseLabels([]string{in})
		if err == nil {
			t.Errorf("parseLabels(%q) accepted it", in)
			continue
		}
		if strings.Contains(err.Error(), "\n") && !strings.Contains(in, "\n") {
			t.Errorf("parseLabels(%q): error is not one line: %q", in, err)
		}
	}
	if _, _, err := ParseLabels([]string{"k=a", "k=b"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a repeated key: %v", err)
	}
}
