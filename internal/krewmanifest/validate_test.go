package krewmanifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const goodSum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// validManifest is a manifest that passes every check; each case below
// breaks one rule of it.
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

func parseValid(t *testing.T) *Plugin {
	t.Helper()
	p, err := Parse([]byte(validManifest))
	if err != nil {
		t.Fatalf("the valid manifest does not parse: %v", err)
	}
	return p
}

func TestValidManifestPasses(t *testing.T) {
	p := parseValid(t)
	if err := Validate("regtoken", p); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := ValidateManifest("regtoken", p); err != nil {
		t.Fatalf("ValidateManifest: %v", err)
	}
	if err := CheckConventions(p); err != nil {
		t.Fatalf("CheckConventions: %v", err)
	}
}

// Each case breaks one structural rule (krew's ValidatePlugin), and the
// error must carry krew's own text for it.
func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		plugin string // name derived from the file name
		break_ func(p *Plugin)
		want   string
	}{
		{"1 apiVersion", "regtoken", func(p *Plugin) { p.APIVersion = "krew.googlecontainertools.github.com/v1alpha1" },
			`plugin manifest has apiVersion="krew.googlecontainertools.github.com/v1alpha1", not supported in this version of krew (try updating plugin index or install a newer version of krew)`},
		{"2 kind", "regtoken", func(p *Plugin) { p.Kind = "Plugins" },
			`plugin manifest has kind="Plugins", but only "Plugin" is supported`},
		{"3 name pattern", "reg token", func(p *Plugin) { p.Metadata.Name = "reg token" },
			`the plugin name "reg token" is not allowed, must match "^[\\w-]+$"`},
		{"3 name with a dot", "reg.token", func(p *Plugin) { p.Metadata.Name = "reg.token" },
			`the plugin name "reg.token" is not allowed, must match "^[\\w-]+$"`},
		{"3 windows reserved CON", "con", func(p *Plugin) { p.Metadata.Name = "con" },
			`the plugin name "con" is not allowed, must match "^[\\w-]+$"`},
		{"3 windows reserved LPT9", "Lpt9", func(p *Plugin) { p.Metadata.Name = "Lpt9" },
			`the plugin name "Lpt9" is not allowed, must match "^[\\w-]+$"`},
		{"3 windows reserved COM1", "COM1", func(p *Plugin) { p.Metadata.Name = "COM1" },
			`the plugin name "COM1" is not allowed, must match "^[\\w-]+$"`},
		{"4 name differs from file", "regtoken", func(p *Plugin) { p.Metadata.Name = "reg-token" },
			`plugin should be named "regtoken", not "reg-token"`},
		{"5 no short description", "regtoken", func(p *Plugin) { p.Spec.ShortDescription = "" },
			`should have a short description`},
		{"5 line break in short description", "regtoken", func(p *Plugin) { p.Spec.ShortDescription = "Register clusters\nwith Fleet" },
			`should not have line breaks in short description`},
		{"5 carriage return in short description", "regtoken", func(p *Plugin) { p.Spec.ShortDescription = "Register clusters\rwith Fleet" },
			`should not have line breaks in short description`},
		{"6 no platform", "regtoken", func(p *Plugin) { p.Spec.Platforms = nil },
			`should have a platform specified`},
		{"6 no version", "regtoken", func(p *Plugin) { p.Spec.Version = "" },
			`should have a version specified`},
		{"6 version without v", "regtoken", func(p *Plugin) { p.Spec.Version = "1.2.3" },
			`failed to parse plugin version: version string "1.2.3" not starting with 'v'`},
		{"6 version not semver", "regtoken", func(p *Plugin) { p.Spec.Version = "v1.2" },
			`failed to parse plugin version: `},
		{"7 no uri", "regtoken", func(p *Plugin) { p.Spec.Platforms[1].URI = "" },
			"is badly constructed: `uri` has to be set"},
		{"7 no sha256", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Sha256 = "" },
			"is badly constructed: `sha256` sum has to be set"},
		{"7 uppercase sha256", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(goodSum) },
			"is badly constructed: `sha256` value " + strings.ToUpper(goodSum) + " is not valid, must match pattern ^[a-f0-9]{64}$"},
		{"7 short sha256", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Sha256 = goodSum[1:] },
			"is badly constructed: `sha256` value " + goodSum[1:] + " is not valid, must match pattern ^[a-f0-9]{64}$"},
		{"7 no bin", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Bin = "" },
			"is badly constructed: `bin` has to be set"},
		{"7 empty files", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{} },
			"is badly constructed: `files` is invalid: `files` has to be unspecified or non-empty"},
		{"7 files entry without from", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{{From: "*", To: "."}, {To: "."}} },
			"is badly constructed: `files` is invalid: `from` field has to be set"},
		{"7 files entry without to", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{{From: "LICENSE"}} },
			"is badly constructed: `files` is invalid: `to` field has to be set"},
		{"7 nil selector", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Selector = nil },
			"is badly constructed: invalid platform selector: nil selector is not supported"},
		{"7 empty selector", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Selector = &metav1.LabelSelector{} },
			"is badly constructed: invalid platform selector: empty selector is not supported"},
		{"7 unsupported label key", "regtoken", func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "alpine" },
			`is badly constructed: invalid platform selector: key "distro" not supported`},
		{"7 unsupported expression key", "regtoken", func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "cpu", Operator: metav1.LabelSelectorOpIn, Values: []string{"x"}}}
		}, `is badly constructed: invalid platform selector: key "cpu" not supported`},
		{"7 empty matchLabels", "regtoken", func(p *Plugin) {
			p.Spec.Platforms[0].Selector = &metav1.LabelSelector{
				MatchLabels:      map[string]string{},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "os", Operator: metav1.LabelSelectorOpIn, Values: []string{"linux"}}},
			}
		}, "is badly constructed: invalid platform selector: `matchLabels` specified but empty"},
		{"7 empty matchExpressions", "regtoken", func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{}
		}, "is badly constructed: invalid platform selector: `matchExpressions` specified but empty"},
		// krew stops at the first problem, in its order: kind before name.
		{"order kind before name", "con", func(p *Plugin) { p.Kind = "Plugins"; p.Metadata.Name = "con" },
			`plugin manifest has kind="Plugins", but only "Plugin" is supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := parseValid(t)
			tc.break_(p)
			err := Validate(tc.plugin, p)
			if err == nil {
				t.Fatalf("Validate accepted the manifest; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate:\n got %q\nwant %q", err, tc.want)
			}
			// ValidateManifest (what CI runs) reports the same.
			if err := ValidateManifest(tc.plugin, p); err == nil || !strings.HasPrefix(err.Error(), "plugin validation error: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateManifest: got %v", err)
			}
		})
	}
}

// The badly constructed platform is named by content, not by pointer.
func TestBadPlatformIsShownReadably(t *testing.T) {
	p := parseValid(t)
	p.Spec.Platforms[0].Bin = ""
	err := Validate("regtoken", p)
	if err == nil {
		t.Fatal("want an error")
	}
	if want := "Selector:arch=amd64,os=linux"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "0xc") {
		t.Fatalf("want the selector %q in %q", want, err)
	}
}

// The checks of validate-krew-manifest beyond the structural ones, and the
// Windows .exe rule.
func TestValidateManifestExtras(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(p *Plugin)
		want   string
	}{
		{"9 selector matches no supported platform", func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["os"] = "plan9" },
			"spec.platform[0]'s selector (arch=amd64,os=plan9) doesn't match any supported platforms"},
		{"9 unsupported arch", func(p *Plugin) { p.Spec.Platforms[1].Selector.MatchLabels["arch"] = "s390x" },
			"spec.platform[1]'s selector (arch=s390x,os=windows) doesn't match any supported platforms"},
		{"9 bad operator selects nothing", func(p *Plugin) {
			p.Spec.Platforms[0].Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "os", Operator: "Like", Values: []string{"linux"}}}
		}, "spec.platform[0]'s selector ("},
		{"10 overlapping selectors", func(p *Plugin) {
			extra := p.Spec.Platforms[0]
			extra.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"os": "linux"}}
			p.Spec.Platforms = append(p.Spec.Platforms, extra)
		}, "overlapping platform selectors found: multiple spec.platforms (at indexes [0 2]) have overlapping selectors that select os=linux/arch=amd64"},
		{"10 overlapping through matchExpressions", func(p *Plugin) {
			extra := p.Spec.Platforms[1]
			extra.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "os", Operator: metav1.LabelSelectorOpIn, Values: []string{"windows"}},
				{Key: "arch", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"386"}},
			}}
			p.Spec.Platforms = append(p.Spec.Platforms, extra)
		}, "overlapping platform selectors found: multiple spec.platforms (at indexes [1 2]) have overlapping selectors that select os=windows/arch=amd64"},
		{"windows bin without .exe", func(p *Plugin) { p.Spec.Platforms[1].Bin = "kubectl-regtoken" },
			`spec.platforms[1] selects os=windows/arch=amd64 but its bin "kubectl-regtoken" is not an .exe`},
		{"windows bin without .exe via expressions", func(p *Plugin) {
			p.Spec.Platforms[1].Bin = "kubectl-regtoken.sh"
			p.Spec.Platforms[1].Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "os", Operator: metav1.LabelSelectorOpIn, Values: []string{"windows"}},
			}}
		}, `spec.platforms[1] selects os=windows/arch=386 but its bin "kubectl-regtoken.sh" is not an .exe`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := parseValid(t)
			tc.break_(p)
			if err := Validate("regtoken", p); err != nil {
				t.Fatalf("the structural validation should pass, got %v", err)
			}
			err := ValidateManifest("regtoken", p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateManifest:\n got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestValidateFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if err := ValidateFile(write("regtoken.yaml", validManifest)); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	cases := []struct{ name, file, content, want string }{
		{"8 extension", "regtoken.yml", validManifest, `expected manifest extension ".yaml" but found ".yml"`},
		{"4 name from the file name", "fleet-register.yaml", validManifest, `plugin validation error: plugin should be named "fleet-register", not "regtoken"`},
		{"misspelt field", "regtoken.yaml", strings.Replace(validManifest, "shortDescription", "shortDesc", 1), `failed to read plugin file: `},
		{"not YAML", "regtoken.yaml", "spec: [", `failed to read plugin file: `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateFile(write(tc.file, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateFile(%s):\n got %v\nwant %q", tc.file, err, tc.want)
			}
		})
	}
	if err := ValidateFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("a missing file must be an error")
	}
}

func TestCheckConventions(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(p *Plugin)
		want   string
	}{
		{"short description too long", func(p *Plugin) { p.Spec.ShortDescription = strings.Repeat("x", 51) },
			"shortDescription is 51 characters long, more than 50"},
		{"trailing period", func(p *Plugin) { p.Spec.ShortDescription = "Register clusters with Fleet." },
			"shortDescription ends with a period"},
		{"kubectl filler", func(p *Plugin) { p.Spec.ShortDescription = "A kubectl plugin for Fleet" },
			`shortDescription says "kubectl"`},
		{"Kubernetes filler", func(p *Plugin) { p.Spec.ShortDescription = "Fleet tokens for Kubernetes" },
			`shortDescription says "Kubernetes"`},
		{"empty description", func(p *Plugin) { p.Spec.Description = "" }, "description is empty"},
		{"description not wrapped", func(p *Plugin) { p.Spec.Description = strings.Repeat("word ", 16) + "x\n" },
			"description line 1 is 81 columns wide, more than 80"},
		{"usage example in description", func(p *Plugin) { p.Spec.Description = "Registers clusters.\n  $ kubectl regtoken create\n" },
			"description line 2 looks like a usage example"},
		{"command in description", func(p *Plugin) { p.Spec.Description = "Registers clusters.\nkubectl regtoken create x\n" },
			"description line 2 looks like a usage example"},
		{"flag in description", func(p *Plugin) { p.Spec.Description = "Registers clusters; pass --ttl to expire.\n" },
			`description line 1 names a flag ("--ttl")`},
		{"caveats not wrapped", func(p *Plugin) { p.Spec.Caveats = "ok\n" + strings.Repeat("y", 90) + "\n" },
			"caveats line 2 is 90 columns wide, more than 80"},
		{"no homepage", func(p *Plugin) { p.Spec.Homepage = "" }, `homepage "" is not an https URL`},
		{"http homepage", func(p *Plugin) { p.Spec.Homepage = "http://example.com" }, `homepage "http://example.com" is not an https URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := parseValid(t)
			tc.break_(p)
			err := CheckConventions(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckConventions:\n got %v\nwant %q", err, tc.want)
			}
		})
	}
}

// Platform.Matches and ForPlatform pick what krew installs on a machine.
func TestForPlatform(t *testing.T) {
	p := parseValid(t)
	pl, ok := p.ForPlatform(OSArch{"windows", "amd64"})
	if !ok || pl.Bin != "kubectl-regtoken.exe" {
		t.Fatalf("windows/amd64: got %+v, %v", pl, ok)
	}
	if _, ok := p.ForPlatform(OSArch{"darwin", "arm64"}); ok {
		t.Fatal("darwin/arm64 is not offered by the manifest")
	}
}

// Parse keeps what krew reads: the round trip through YAML is lossless for
// the fields we check.
func TestParseRoundTrip(t *testing.T) {
	p := parseValid(t)
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	if q.Spec.Platforms[1].Bin != "kubectl-regtoken.exe" || q.Spec.Platforms[0].Selector.MatchLabels["os"] != "linux" || q.Spec.Version != "v1.2.3" {
		t.Fatalf("round trip lost fields:\n%s", b)
	}
}
