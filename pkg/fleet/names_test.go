package fleet

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"edge-1", "a", "my.cluster", strings.Repeat("a", 63)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("validateName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"import-token-x", "Upper", "under_score", "-lead", "trail-", strings.Repeat("a", 64), "a b"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("validateName(%q) accepted it", bad)
		}
	}
}

func TestValidateGenerateName(t *testing.T) {
	for _, ok := range []string{"ci-", "edge", strings.Repeat("a", 58)} {
		if err := ValidateGenerateName(ok); err != nil {
			t.Errorf("validateGenerateName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "import-token-", "import-token-ci-", "UP-", strings.Repeat("a", 59), "-x"} {
		if err := ValidateGenerateName(bad); err == nil {
			t.Errorf("validateGenerateName(%q) accepted it", bad)
		}
	}
}
