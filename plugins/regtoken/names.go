package regtoken

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// maxNameLength: the fleet-agent labels its ClusterRegistration with
// fleet.cattle.io/registration-token=<tokenName>, and a label value holds at
// most 63 characters, so a longer name (valid as an object name) could
// never complete a v0.16 registration.
const maxNameLength = validation.LabelValueMaxLength

// generatedSuffixLength is what the apiserver appends to generateName.
const generatedSuffixLength = 5

// validateName checks a token name given on the command line.
func validateName(name string) error {
	if strings.HasPrefix(name, importPrefix) {
		return fmt.Errorf("token name %q starts with %q, which Fleet uses for the tokens it makes for imported clusters: choose another name", name, importPrefix)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("token name %q is invalid: %s; use lower-case letters, digits, '-' and '.'", name, errs[0])
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("token name %q is %d characters long: the fleet-agent puts it in a label value, which allows at most %d; choose a shorter name", name, len(name), maxNameLength)
	}
	return nil
}

// validateGenerateName checks a --generate-name prefix: the apiserver
// appends 5 characters, so the prefix must make a valid name with them.
func validateGenerateName(prefix string) error {
	if strings.HasPrefix(prefix, importPrefix) {
		return fmt.Errorf("--generate-name %q would make names starting with %q, which Fleet uses for the tokens it makes for imported clusters: choose another prefix", prefix, importPrefix)
	}
	if prefix == "" {
		return fmt.Errorf("--generate-name is empty: pass a prefix such as cluster-")
	}
	if len(prefix)+generatedSuffixLength > maxNameLength {
		return fmt.Errorf("--generate-name %q is too long: with the 5 generated characters the name must stay within %d characters (a label value); use at most %d", prefix, maxNameLength, maxNameLength-generatedSuffixLength)
	}
	if errs := validation.IsDNS1123Subdomain(prefix + "abcde"); len(errs) > 0 {
		return fmt.Errorf("--generate-name %q is invalid: %s; use lower-case letters, digits, '-' and '.'", prefix, errs[0])
	}
	return nil
}

var errNoName = fmt.Errorf("no token name given: pass NAME (list them with kubectl regtoken list)")
