package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The project's own rules for its krew manifests, on top of what krew's
// validator enforces (see docs/krew.md §2): the review conventions of
// krew-index maintainers, which a manifest breaking them meets as a change
// request, and what the release relies on.
const (
	// maxShortDescription is where `kubectl krew search` cuts.
	maxShortDescription = 50
	// maxLineWidth is the column description and caveats are wrapped at.
	maxLineWidth = 80
	// homepage is the repository: krew-release-bot establishes ownership of
	// a plugin by it.
	homepage = "https://github.com/kubectl-tokens/kubectl-tokens"
)

var (
	// krew's naming guide: lowercase kebab-case.
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	// "kubectl" and "Kubernetes" say nothing in a list of kubectl plugins.
	fillerWord = regexp.MustCompile(`(?i)\b(kubectl|kubernetes)\b`)
	// A flag such as --ttl or -n in the description is usage, not a summary.
	flagWord = regexp.MustCompile(`(^|\s)--?[a-zA-Z][\w-]*`)
)

// checkConventions returns every project rule m breaks, joined.
func checkConventions(m *manifest) error {
	var errs []error
	s := m.Spec
	name := m.Metadata.Name
	if !pluginName.MatchString(name) || strings.HasPrefix(name, "kube-") {
		errs = append(errs, fmt.Errorf("plugin name %q is not lowercase kebab-case without a kube- prefix (krew's naming guide)", name))
	}
	if n := utf8.RuneCountInString(s.ShortDescription); n > maxShortDescription {
		errs = append(errs, fmt.Errorf("shortDescription is %d characters long, more than %d: kubectl krew search cuts it", n, maxShortDescription))
	}
	if strings.HasSuffix(strings.TrimSpace(s.ShortDescription), ".") {
		errs = append(errs, errors.New("shortDescription ends with a period"))
	}
	if w := fillerWord.FindString(s.ShortDescription); w != "" {
		errs = append(errs, fmt.Errorf("shortDescription says %q: every plugin in the index is one", w))
	}
	if strings.TrimSpace(s.Description) == "" {
		errs = append(errs, errors.New("description is empty"))
	}
	errs = append(errs, checkWrapped("description", s.Description)...)
	for i, line := range strings.Split(s.Description, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "$ "), strings.HasPrefix(t, "kubectl "), strings.HasPrefix(t, "#"):
			errs = append(errs, fmt.Errorf("description line %d looks like a usage example (%q): examples belong in the plugin's help", i+1, t))
		case flagWord.MatchString(t):
			errs = append(errs, fmt.Errorf("description line %d names a flag (%q): flags belong in the plugin's help", i+1, strings.TrimSpace(flagWord.FindString(t))))
		}
	}
	errs = append(errs, checkWrapped("caveats", s.Caveats)...)
	if s.Homepage != homepage {
		errs = append(errs, fmt.Errorf("homepage %q, want the repository %s", s.Homepage, homepage))
	}
	shim := "kubectl_complete-" + name
	if !strings.Contains(s.Caveats, shim) {
		errs = append(errs, fmt.Errorf("the caveats do not tell how to install the completion shim %s, which krew cannot", shim))
	}
	for i, pl := range s.Platforms {
		// One os/arch per platform, as goreleaser writes them: the tests
		// and the templates pick platforms by these two labels.
		ml := pl.Selector.MatchLabels
		if len(ml) != 2 || ml["os"] == "" || ml["arch"] == "" || pl.Selector.MatchExpressions != nil {
			errs = append(errs, fmt.Errorf("spec.platforms[%d]: selector is not exactly matchLabels {os, arch}", i))
		}
		// No files: krew then installs everything, the LICENSE and the
		// completion shim included.
		if pl.Files != nil {
			errs = append(errs, fmt.Errorf("spec.platforms[%d] has files:, so krew would not install the LICENSE and the completion shim with the binary", i))
		}
		// krew links only .exe entrypoints on Windows (kubernetes-sigs/krew#131).
		if want := "kubectl-" + name; ml["os"] == "windows" && pl.Bin != want+".exe" || ml["os"] != "windows" && pl.Bin != want {
			errs = append(errs, fmt.Errorf("spec.platforms[%d] (%s): bin %q, want %s (plus .exe on Windows)", i, osArch{ml["os"], ml["arch"]}, pl.Bin, want))
		}
	}
	return errors.Join(errs...)
}

func checkWrapped(field, text string) []error {
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > maxLineWidth {
			errs = append(errs, fmt.Errorf("%s line %d is %d columns wide, more than %d", field, i+1, n, maxLineWidth))
		}
	}
	return errs
}

const goodSum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// validManifest keeps every project rule; each case below breaks one.
const validManifest = `
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: regtoken
spec:
  version: v1.2.3
  homepage: https://github.com/kubectl-tokens/kubectl-tokens
  shortDescription: Register clusters with Fleet in one command
  description: |
    Registers clusters with Fleet in one step.
  caveats: |
    Put kubectl_complete-regtoken on PATH for completion.
  platforms:
  - selector:
      matchLabels:
        os: linux
        arch: amd64
    uri: https://example.com/kubectl-regtoken_linux_amd64.tar.gz
    sha256: ` + goodSum + `
    bin: kubectl-regtoken
  - selector:
      matchLabels:
        os: windows
        arch: amd64
    uri: https://example.com/kubectl-regtoken_windows_amd64.zip
    sha256: ` + goodSum + `
    bin: kubectl-regtoken.exe
`

func TestCheckConventions(t *testing.T) {
	if err := checkConventions(parseManifest(t, []byte(validManifest))); err != nil {
		t.Fatalf("the valid manifest: %v", err)
	}
	cases := []struct {
		name   string
		break_ func(m *manifest)
		want   string
	}{
		{"uppercase name", func(m *manifest) { m.Metadata.Name = "RegToken" }, `plugin name "RegToken" is not lowercase kebab-case`},
		{"kube- prefix", func(m *manifest) { m.Metadata.Name = "kube-regtoken" }, `plugin name "kube-regtoken"`},
		{"short description too long", func(m *manifest) { m.Spec.ShortDescription = strings.Repeat("x", 51) },
			"shortDescription is 51 characters long, more than 50"},
		{"trailing period", func(m *manifest) { m.Spec.ShortDescription = "Register clusters with Fleet." },
			"shortDescription ends with a period"},
		{"kubectl filler", func(m *manifest) { m.Spec.ShortDescription = "A kubectl plugin for Fleet" },
			`shortDescription says "kubectl"`},
		{"Kubernetes filler", func(m *manifest) { m.Spec.ShortDescription = "Fleet tokens for Kubernetes" },
			`shortDescription says "Kubernetes"`},
		{"empty description", func(m *manifest) { m.Spec.Description = "" }, "description is empty"},
		{"description not wrapped", func(m *manifest) { m.Spec.Description = strings.Repeat("word ", 16) + "x\n" },
			"description line 1 is 81 columns wide, more than 80"},
		{"usage example in description", func(m *manifest) { m.Spec.Description = "Registers clusters.\n  $ kubectl regtoken create\n" },
			"description line 2 looks like a usage example"},
		{"command in description", func(m *manifest) { m.Spec.Description = "Registers clusters.\nkubectl regtoken create x\n" },
			"description line 2 looks like a usage example"},
		{"flag in description", func(m *manifest) { m.Spec.Description = "Registers clusters; pass --ttl to expire.\n" },
			`description line 1 names a flag ("--ttl")`},
		{"caveats not wrapped", func(m *manifest) { m.Spec.Caveats += strings.Repeat("y", 90) + "\n" },
			"caveats line 2 is 90 columns wide, more than 80"},
		{"no shim in caveats", func(m *manifest) { m.Spec.Caveats = "Needs Fleet.\n" },
			"the caveats do not tell how to install the completion shim kubectl_complete-regtoken"},
		{"other homepage", func(m *manifest) { m.Spec.Homepage = "https://example.com" }, `homepage "https://example.com", want the repository`},
		{"selector with expressions", func(m *manifest) { m.Spec.Platforms[0].Selector.MatchExpressions = []any{"x"} },
			"spec.platforms[0]: selector is not exactly matchLabels {os, arch}"},
		{"selector without arch", func(m *manifest) { delete(m.Spec.Platforms[1].Selector.MatchLabels, "arch") },
			"spec.platforms[1]: selector is not exactly matchLabels {os, arch}"},
		{"files", func(m *manifest) { m.Spec.Platforms[0].Files = []any{} }, "spec.platforms[0] has files:"},
		{"windows bin without .exe", func(m *manifest) { m.Spec.Platforms[1].Bin = "kubectl-regtoken" },
			`spec.platforms[1] (windows/amd64): bin "kubectl-regtoken", want kubectl-regtoken`},
		{"other bin", func(m *manifest) { m.Spec.Platforms[0].Bin = "regtoken" }, `spec.platforms[0] (linux/amd64): bin "regtoken"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := parseManifest(t, []byte(validManifest))
			tc.break_(m)
			err := checkConventions(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkConventions:\n got %v\nwant %q", err, tc.want)
			}
		})
	}
}

// The real validator refuses what the project's rules take for granted: a
// check that krew is the one enforcing them (and that the validator runs).
func TestKrewValidatorRefuses(t *testing.T) {
	cases := []struct{ name, file, content, want string }{
		{"uppercase sha256", "regtoken.yaml", strings.Replace(validManifest, goodSum, strings.ToUpper(goodSum), 1), "sha256"},
		{"name differs from file", "fleet-register.yaml", validManifest, `plugin should be named "fleet-register", not "regtoken"`},
		{"version without v", "regtoken.yaml", strings.Replace(validManifest, "version: v1.2.3", "version: 1.2.3", 1), "not starting with 'v'"},
		{"overlapping selectors", "regtoken.yaml", strings.Replace(validManifest, "os: windows", "os: linux", 1), "overlapping platform selectors"},
		{"extension", "regtoken.yml", validManifest, `expected manifest extension ".yaml" but found ".yml"`},
	}
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	if err := os.MkdirAll(ok, 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(ok, "regtoken.yaml")
	if err := os.WriteFile(good, []byte(validManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := validateManifest(t, good, false); err != nil {
		t.Fatalf("the valid manifest: %v", err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, fmt.Sprint(i))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(sub, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := validateManifest(t, path, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate-krew-manifest:\n got %v\nwant %q", err, tc.want)
			}
		})
	}
}
