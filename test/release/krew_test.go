package release

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// The real krew checks the manifests: krew and validate-krew-manifest are
// built from sigs.k8s.io/krew (hack/tools/krew, hack/krew.sh) into
// bin/tools or $TOOLS_DIR. This file only reads manifests for the checks
// krew does not make (conventions_test.go) and to find archives and bins.

const krewHint = "run `make release-check` (hack/krew.sh builds krew and validate-krew-manifest into bin/tools)"

// osArch is one platform krew can install on.
type osArch struct{ OS, Arch string }

func (p osArch) String() string { return p.OS + "/" + p.Arch }

// manifest is the part of a krew plugin manifest the tests read. Decoding
// is lenient: strictness (unknown fields, types) is krew's validator's job.
type manifest struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Homepage         string `json:"homepage"`
		Platforms        []struct {
			URI      string `json:"uri"`
			Sha256   string `json:"sha256"`
			Bin      string `json:"bin"`
			Files    []any  `json:"files"`
			Selector struct {
				MatchLabels      map[string]string `json:"matchLabels"`
				MatchExpressions []any             `json:"matchExpressions"`
			} `json:"selector"`
		} `json:"platforms"`
	} `json:"spec"`
}

func parseManifest(t *testing.T, data []byte) *manifest {
	t.Helper()
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("decoding a krew manifest: %v\n%s", err, data)
	}
	return &m
}

func readManifest(t *testing.T, path string) *manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseManifest(t, b)
}

// platform returns the platform of m selected by exactly pair's
// matchLabels (the only kind of selector the project writes; see
// checkConventions).
func (m *manifest) platform(pair osArch) (int, bool) {
	for i, pl := range m.Spec.Platforms {
		if pl.Selector.MatchLabels["os"] == pair.OS && pl.Selector.MatchLabels["arch"] == pair.Arch {
			return i, true
		}
	}
	return -1, false
}

// toolsDir is where hack/tools.sh puts the pinned tools.
func toolsDir(t *testing.T) string {
	t.Helper()
	skipUnderShort(t)
	if d := os.Getenv("TOOLS_DIR"); d != "" {
		return d
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "bin", "tools")
}

// krewTool returns the path of krew or validate-krew-manifest; the tests
// fail (never skip) without them.
func krewTool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(toolsDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not built (%v): %s", name, err, krewHint)
	}
	return p
}

// krewPath returns a PATH on which the real kubectl finds the pinned krew
// as the kubectl-krew plugin (and nothing else from the developer's PATH).
func krewPath(t *testing.T) string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("the real kubectl is needed: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(krewTool(t, "krew"), filepath.Join(dir, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	return strings.Join([]string{dir, filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator))
}

// validateManifest runs krew-index's validator on the manifest at path (its
// file name must be <plugin>.yaml). With install, the validator installs
// every platform through `kubectl krew install --manifest` under a
// throwaway KREW_ROOT, downloading the uris, and requires a LICENSE among
// the installed files; path must be served then (see serveArchives).
func validateManifest(t *testing.T, path string, install bool) error {
	t.Helper()
	args := []string{"-manifest", path}
	if !install {
		args = append(args, "-skip-install")
	}
	cmd := exec.Command(krewTool(t, "validate-krew-manifest"), args...)
	// The validator passes only PATH on to kubectl krew install.
	cmd.Env = []string{"PATH=" + krewPath(t), "HOME=" + t.TempDir(), "KREW_NO_UPGRADE_CHECK=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("validate-krew-manifest %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("validate-krew-manifest %s: ok", strings.Join(args, " "))
	return nil
}

// renderTemplate renders a krew-release-bot template (krew-manifests/*.yaml)
// for tag the way the bot does when a release is published: Go
// text/template with .TagName; {{ addURIAndSha "URL" .TagName }} expands
// URL (itself a template with .TagName and .Version, the tag's dotted
// numbers) into a `uri:` line and a `sha256:` line indented by four spaces,
// the digest of the downloaded asset. sum stands in for the download.
func renderTemplate(text []byte, tag string, sum func(url string) (string, error)) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(rawURL, tag string) (string, error) {
			ut, err := template.New("url").Option("missingkey=error").Parse(rawURL)
			if err != nil {
				return "", err
			}
			var u bytes.Buffer
			if err := ut.Execute(&u, struct{ TagName, Version string }{tag, versionOfTag(tag)}); err != nil {
				return "", err
			}
			s, err := sum(u.String())
			if err != nil {
				return "", fmt.Errorf("sha256 of %s: %w", u.String(), err)
			}
			return "uri: " + u.String() + "\n    sha256: " + s, nil
		},
	}
	tt, err := template.New("manifest").Funcs(funcs).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tt.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var dottedNumbers = regexp.MustCompile(`\d+(\.\d+)+`)

// versionOfTag is the bot's .Version inside addURIAndSha's URL.
func versionOfTag(tag string) string {
	if v := dottedNumbers.FindString(tag); v != "" {
		return v
	}
	return tag
}

// renderAndValidate renders krew-manifests/<name>.yaml for tag, writes it
// as <name>.yaml in a temporary directory and runs krew's validator on it
// without installing (the uris are the future release's).
func renderAndValidate(t *testing.T, root, name, tag string, sum func(string) (string, error)) (*manifest, []byte) {
	t.Helper()
	src := filepath.Join(root, "krew-manifests", name+".yaml")
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("the krew-release-bot template of %s: %v", name, err)
	}
	out, err := renderTemplate(text, tag, sum)
	if err != nil {
		t.Fatalf("rendering %s: %v", src, err)
	}
	rendered := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(rendered, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := validateManifest(t, rendered, false); err != nil {
		t.Fatalf("%s rendered for %s fails krew's validation: %v\n%s", src, tag, err, out)
	}
	return parseManifest(t, out), out
}

// skipUnderShort skips a test that needs the snapshot release or the
// built tools (make release-check) under go test -short; without -short
// it fails when they are missing.
func skipUnderShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the snapshot release and the built tools (make release-check)")
	}
}
