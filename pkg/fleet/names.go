package fleet

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

// ValidateName checks a token name given on the command line.
func ValidateName(name string) error {
	if strings.HasPrefix(name, ImportPrefix) {
		return fmt.Errorf("token name %q starts with %q, which Fleet uses for the tokens it makes for imported clusters: choose another name", name, ImportPrefix)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("token name %q is invalid: %s; use lower-case letters, digits, '-' and '.'", name, errs[0])
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("token name %q is %d characters long: the fleet-agent puts it in a label value, which allows at most %d; choose a shorter name", name, len(name), maxNameLength)
	}
	return nil
}

// ValidateGenerateName checks a --generate-name prefix: the apiserver
// appends 5 characters, so the prefix must make a valid name with them.
func ValidateGenerateName(prefix string) error {
	if strings.HasPrefix(prefix, ImportPrefix) {
		return fmt.Errorf("--generate-name %q would make names starting with %q, which Fleet uses for the tokens it makes for imported clusters: choose another prefix", prefix, ImportPrefix)
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

var ErrNoName = fmt.Errorf("no token name given: pass NAME (list them with kubectl regtoken list)")

// ValidateNamespace refuses a namespace that cannot exist, before any
// other check: its error is the real cause of what would follow.
func ValidateNamespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("namespace %q is not a valid namespace name (%s): pass -n with an existing namespace, e.g. -n fleet-default", ns, errs[0])
	}
	return nil
}

// NeverExpiresWarning is said of every new token without a TTL: it can
// register clusters for as long as it exists.
func NeverExpiresWarning(name string) string {
	if name == "" {
		name = "the token"
	}
	return fmt.Sprintf("%s never expires: it can register clusters until it is deleted; pass --ttl (e.g. --ttl 24h) unless that is meant", name)
}
