package krewmanifest

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

const sha256Pattern = `^[a-f0-9]{64}$`

var (
	pluginNamePattern = regexp.MustCompile(`^[\w-]+$`)
	// Lowercase only: krew-index refuses the uppercase digests that some
	// tools print.
	sha256Regexp = regexp.MustCompile(sha256Pattern)
	// File names Windows reserves: a plugin named like one could not be
	// installed there.
	windowsReserved = []string{"CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
)

// OSArch is one platform krew can install on.
type OSArch struct{ OS, Arch string }

func (p OSArch) String() string { return "os=" + p.OS + "/arch=" + p.Arch }

// SupportedPlatforms are the os/arch pairs validate-krew-manifest tries
// selectors against; a selector matching none of them is dead weight.
var SupportedPlatforms = []OSArch{
	{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
	{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"}, {"linux", "ppc64le"},
	{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
}

// IsSafePluginName reports whether name may name a plugin on every OS.
func IsSafePluginName(name string) bool {
	if !pluginNamePattern.MatchString(name) {
		return false
	}
	for _, r := range windowsReserved {
		if strings.EqualFold(r, name) {
			return false
		}
	}
	return true
}

// Validate is krew's structural validation of the manifest of the plugin
// called name (the file name without .yaml), with krew's messages, in
// krew's order: the first problem found is returned.
func Validate(name string, p *Plugin) error {
	if p.APIVersion != APIVersion {
		return fmt.Errorf("plugin manifest has apiVersion=%q, not supported in this version of krew (try updating plugin index or install a newer version of krew)", p.APIVersion)
	}
	if p.Kind != Kind {
		return fmt.Errorf("plugin manifest has kind=%q, but only %q is supported", p.Kind, Kind)
	}
	if !IsSafePluginName(name) {
		return fmt.Errorf("the plugin name %q is not allowed, must match %q", name, pluginNamePattern.String())
	}
	if p.Metadata.Name != name {
		return fmt.Errorf("plugin should be named %q, not %q", name, p.Metadata.Name)
	}
	if p.Spec.ShortDescription == "" {
		return errors.New("should have a short description")
	}
	if strings.ContainsAny(p.Spec.ShortDescription, "\r\n") {
		return errors.New("should not have line breaks in short description")
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("should have a platform specified")
	}
	if p.Spec.Version == "" {
		return errors.New("should have a version specified")
	}
	if err := parseVersion(p.Spec.Version); err != nil {
		return fmt.Errorf("failed to parse plugin version: %w", err)
	}
	for _, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("platform (%+v) is badly constructed: %w", pl, err)
		}
	}
	return nil
}

// parseVersion is krew's rule: a leading "v", then semver.
func parseVersion(v string) error {
	if !strings.HasPrefix(v, "v") {
		return fmt.Errorf("version string %q not starting with 'v'", v)
	}
	_, err := utilversion.ParseSemantic(v)
	return err
}

func validatePlatform(p Platform) error {
	if p.URI == "" {
		return errors.New("`uri` has to be set")
	}
	if p.Sha256 == "" {
		return errors.New("`sha256` sum has to be set")
	}
	if !sha256Regexp.MatchString(p.Sha256) {
		return fmt.Errorf("`sha256` value %s is not valid, must match pattern %s", p.Sha256, sha256Pattern)
	}
	if p.Bin == "" {
		return errors.New("`bin` has to be set")
	}
	if err := validateFiles(p.Files); err != nil {
		return fmt.Errorf("`files` is invalid: %w", err)
	}
	if err := validateSelector(p.Selector); err != nil {
		return fmt.Errorf("invalid platform selector: %w", err)
	}
	return nil
}

func validateFiles(files []FileOperation) error {
	if files == nil {
		return nil
	}
	if len(files) == 0 {
		return errors.New("`files` has to be unspecified or non-empty")
	}
	for _, f := range files {
		if f.From == "" {
			return errors.New("`from` field has to be set")
		}
		if f.To == "" {
			return errors.New("`to` field has to be set")
		}
	}
	return nil
}

func validateSelector(sel *metav1.LabelSelector) error {
	if sel == nil {
		return errors.New("nil selector is not supported")
	}
	if sel.MatchLabels == nil && len(sel.MatchExpressions) == 0 {
		return errors.New("empty selector is not supported")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("key %q not supported", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("key %q not supported", e.Key)
		}
	}
	if sel.MatchLabels != nil && len(sel.MatchLabels) == 0 {
		return errors.New("`matchLabels` specified but empty")
	}
	if sel.MatchExpressions != nil && len(sel.MatchExpressions) == 0 {
		return errors.New("`matchExpressions` specified but empty")
	}
	return nil
}

// Matches reports whether the platform's selector selects os/arch. A
// selector that does not convert (a bad operator) selects nothing.
func (p Platform) Matches(pair OSArch) bool {
	if p.Selector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Selector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set{"os": pair.OS, "arch": pair.Arch})
}

// Selected returns the supported pairs the platform selects.
func (p Platform) Selected() []OSArch {
	var out []OSArch
	for _, pair := range SupportedPlatforms {
		if p.Matches(pair) {
			out = append(out, pair)
		}
	}
	return out
}

// ForPlatform returns the first platform that selects pair, as krew picks
// it on install, or false.
func (p *Plugin) ForPlatform(pair OSArch) (Platform, bool) {
	for _, pl := range p.Spec.Platforms {
		if pl.Matches(pair) {
			return pl, true
		}
	}
	return Platform{}, false
}

// ValidateFile is what krew-index CI runs on plugins/<name>.yaml
// (validate-krew-manifest -skip-install): the file extension, the plugin
// name taken from the file name, krew's structural validation, every
// selector matching a supported platform and no platform selected twice.
// It adds what validate-krew-manifest only finds by installing: on
// Windows, bin must be an .exe (krew links nothing else there).
func ValidateFile(path string) error {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != ManifestExtension {
		return fmt.Errorf("expected manifest extension %q but found %q", ManifestExtension, ext)
	}
	p, err := ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read plugin file: %w", err)
	}
	return ValidateManifest(strings.TrimSuffix(base, ManifestExtension), p)
}

// ValidateManifest runs the checks of ValidateFile on a decoded manifest
// of the plugin called name.
func ValidateManifest(name string, p *Plugin) error {
	if err := Validate(name, p); err != nil {
		return fmt.Errorf("plugin validation error: %w", err)
	}
	for i, pl := range p.Spec.Platforms {
		if len(pl.Selected()) == 0 {
			return fmt.Errorf("spec.platform[%d]'s selector (%v) doesn't match any supported platforms", i, metav1.FormatLabelSelector(pl.Selector))
		}
	}
	for _, pair := range SupportedPlatforms {
		var idx []int
		for i, pl := range p.Spec.Platforms {
			if pl.Matches(pair) {
				idx = append(idx, i)
			}
		}
		if len(idx) > 1 {
			return fmt.Errorf("overlapping platform selectors found: multiple spec.platforms (at indexes %v) have overlapping selectors that select %s", idx, pair)
		}
	}
	for i, pl := range p.Spec.Platforms {
		for _, pair := range pl.Selected() {
			if pair.OS == "windows" && !strings.HasSuffix(strings.ToLower(pl.Bin), ".exe") {
				return fmt.Errorf("spec.platforms[%d] selects %s but its bin %q is not an .exe: krew can only link .exe entrypoints on Windows", i, pair, pl.Bin)
			}
		}
	}
	return nil
}
