package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// These tests need no snapshot: the krew-release-bot templates
// (krew-manifests/) rendered with sample values, checked by krew's
// validator and against .goreleaser.yaml.

const (
	fakeTag     = "v1.2.3"
	versionPkgX = "-X github.com/kubectl-tokens/kubectl-tokens/pkg/version."
)

// fakeSum stands in for the digest krew-release-bot downloads: lowercase
// hex, different per URL.
func fakeSum(url string) (string, error) {
	s := sha256.Sum256([]byte(url))
	return hex.EncodeToString(s[:]), nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Every cmd/kubectl-<name> is a plugin in plugintest.Plugins: a new plugin
// without a template or a goreleaser entry fails the tests below.
func TestPluginList(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "kubectl-*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, strings.TrimPrefix(filepath.Base(d), "kubectl-"))
	}
	want := slices.Clone(plugintest.Plugins)
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("cmd/ has %v, plugintest.Plugins %v", names, want)
	}
}

// goreleaserConfig is the part of .goreleaser.yaml the manifests depend on.
type goreleaserConfig struct {
	Version  int         `json:"version"`
	Builds   []grBuild   `json:"builds"`
	Archives []grArchive `json:"archives"`
	Krews    []grKrew    `json:"krews"`
}

type grBuild struct {
	ID      string   `json:"id"`
	Main    string   `json:"main"`
	Binary  string   `json:"binary"`
	Env     []string `json:"env"`
	Flags   []string `json:"flags"`
	Ldflags []string `json:"ldflags"`
	Goos    []string `json:"goos"`
	Goarch  []string `json:"goarch"`
}

type grArchive struct {
	ID              string   `json:"id"`
	IDs             []string `json:"ids"`
	NameTemplate    string   `json:"name_template"`
	Formats         []string `json:"formats"`
	FormatOverrides []struct {
		Goos    string   `json:"goos"`
		Formats []string `json:"formats"`
	} `json:"format_overrides"`
	Files []any `json:"files"`
}

type grKrew struct {
	Name             string   `json:"name"`
	IDs              []string `json:"ids"`
	SkipUpload       any      `json:"skip_upload"`
	Homepage         string   `json:"homepage"`
	ShortDescription string   `json:"short_description"`
	Description      string   `json:"description"`
	Caveats          string   `json:"caveats"`
}

func readGoreleaser(t *testing.T) *goreleaserConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return &c
}

// Each template renders for a tag into a manifest krew's validator accepts
// and that keeps the project's conventions.
func TestTemplatesRenderToValidManifests(t *testing.T) {
	root := repoRoot(t)
	for _, name := range plugintest.Plugins {
		t.Run(name, func(t *testing.T) {
			m, out := renderAndValidate(t, root, name, fakeTag, fakeSum)
			if err := checkConventions(m); err != nil {
				t.Errorf("krew-manifests/%s.yaml breaks the project's conventions:\n%v", name, err)
			}
			if m.Metadata.Name != name || m.Spec.Version != fakeTag {
				t.Errorf("name %q version %q, want %s and the tag %s", m.Metadata.Name, m.Spec.Version, name, fakeTag)
			}
			for i, pl := range m.Spec.Platforms {
				if want, _ := fakeSum(pl.URI); pl.Sha256 != want {
					t.Errorf("platform %d: sha256 %q is not the digest of its uri %s:\n%s", i, pl.Sha256, pl.URI, out)
				}
			}
		})
	}
}

// The templates (first hand submission, krew-release-bot bumps) and the
// manifests goreleaser generates (dist/krew/) must describe the same
// plugin: same texts, same platforms, same archive names and bins.
func TestTemplatesMatchGoreleaser(t *testing.T) {
	root := repoRoot(t)
	c := readGoreleaser(t)
	if c.Version != 2 {
		t.Fatalf(".goreleaser.yaml: version %d, want 2", c.Version)
	}
	for _, name := range plugintest.Plugins {
		t.Run(name, func(t *testing.T) {
			m, _ := renderAndValidate(t, root, name, fakeTag, fakeSum)

			bi := slices.IndexFunc(c.Builds, func(b grBuild) bool { return b.ID == name })
			if bi < 0 {
				t.Fatalf(".goreleaser.yaml has no build with id %q", name)
			}
			b := c.Builds[bi]
			if b.Main != "./cmd/kubectl-"+name || b.Binary != "kubectl-"+name {
				t.Errorf("build %s: main %q binary %q", name, b.Main, b.Binary)
			}
			if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
				t.Errorf("build %s: env %v flags %v, want CGO_ENABLED=0 and -trimpath", name, b.Env, b.Flags)
			}
			ld := strings.Join(b.Ldflags, " ")
			for _, want := range []string{"-s -w", versionPkgX + "Version=v{{ .Version }}", versionPkgX + "Commit=", versionPkgX + "Date="} {
				if !strings.Contains(ld, want) {
					t.Errorf("build %s: ldflags %q lack %q", name, ld, want)
				}
			}

			ai := slices.IndexFunc(c.Archives, func(a grArchive) bool { return a.ID == name })
			if ai < 0 {
				t.Fatalf(".goreleaser.yaml has no archive with id %q", name)
			}
			a := c.Archives[ai]
			if !slices.Equal(a.IDs, []string{name}) {
				t.Errorf("archive %s: ids %v, want [%s] (one binary per archive, as krew needs)", name, a.IDs, name)
			}
			files := fmt.Sprint(a.Files)
			for _, want := range []string{"LICENSE", "README.md", "hack/completion/kubectl_complete-" + name} {
				if !strings.Contains(files, want) {
					t.Errorf("archive %s: files %s lack %s", name, files, want)
				}
			}

			ki := slices.IndexFunc(c.Krews, func(k grKrew) bool { return k.Name == name })
			if ki < 0 {
				t.Fatalf(".goreleaser.yaml has no krews entry named %q", name)
			}
			k := c.Krews[ki]
			if !slices.Equal(k.IDs, []string{name}) || fmt.Sprint(k.SkipUpload) != "true" {
				t.Errorf("krews %s: ids %v skip_upload %v, want [%s] and true", name, k.IDs, k.SkipUpload, name)
			}
			for _, f := range []struct{ field, template, goreleaser string }{
				{"homepage", m.Spec.Homepage, k.Homepage},
				{"shortDescription", m.Spec.ShortDescription, k.ShortDescription},
				{"description", m.Spec.Description, k.Description},
				{"caveats", m.Spec.Caveats, k.Caveats},
			} {
				if f.template != f.goreleaser {
					t.Errorf("%s differs:\n--- krew-manifests/%s.yaml\n%s\n--- .goreleaser.yaml krews[%s]\n%s", f.field, name, f.template, name, f.goreleaser)
				}
			}

			// Every goos x goarch of the build is one template platform with
			// the archive goreleaser names and the binary it packs, and
			// these are the release platforms.
			var want, platforms []string
			for _, goos := range b.Goos {
				for _, goarch := range b.Goarch {
					format := a.Formats[0]
					for _, o := range a.FormatOverrides {
						if o.Goos == goos {
							format = o.Formats[0]
						}
					}
					archive := execName(t, a.NameTemplate, goos, goarch) + "." + format
					bin := b.Binary
					if goos == "windows" {
						bin += ".exe"
					}
					want = append(want, fmt.Sprintf("%s/%s %s%s/%s %s", goos, goarch, releaseURL, fakeTag, archive, bin))
					platforms = append(platforms, goos+"/"+goarch)
				}
			}
			var got []string
			for _, pl := range m.Spec.Platforms {
				ml := pl.Selector.MatchLabels
				got = append(got, fmt.Sprintf("%s/%s %s %s", ml["os"], ml["arch"], pl.URI, pl.Bin))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("platforms differ:\n--- krew-manifests/%s.yaml\n%s\n--- .goreleaser.yaml\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var release []string
			for _, p := range releasePlatforms {
				release = append(release, p.String())
			}
			slices.Sort(platforms)
			slices.Sort(release)
			if !slices.Equal(platforms, release) {
				t.Errorf(".goreleaser.yaml builds %s for %v, the release platforms are %v", name, platforms, release)
			}
		})
	}
}

// execName expands an archive name_template for one platform.
func execName(t *testing.T, text, goos, goarch string) string {
	t.Helper()
	tpl, err := template.New("name").Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatalf("name_template %q: %v", text, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, struct{ Os, Arch string }{goos, goarch}); err != nil {
		t.Fatalf("name_template %q uses more than .Os and .Arch: %v", text, err)
	}
	return buf.String()
}

func TestCompletionShims(t *testing.T) {
	root := repoRoot(t)
	for _, name := range plugintest.Plugins {
		path := filepath.Join(root, "hack", "completion", "kubectl_complete-"+name)
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("completion shim for %s: %v", name, err)
			continue
		}
		if st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable (%v)", path, st.Mode())
		}
		b, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(b), "#!/usr/bin/env sh\n") || !strings.Contains(string(b), "\nkubectl "+name+` __complete "$@"`+"\n") {
			t.Errorf("%s must run `kubectl %s __complete \"$@\"` under /usr/bin/env sh:\n%s", path, name, b)
		}
	}
}

// The renderer does what the bot does with the templates' constructs.
func TestRenderTemplate(t *testing.T) {
	if _, err := renderTemplate([]byte(`{{ addURIAndSha "https://x/{{ .Nope }}" .TagName }}`), fakeTag, fakeSum); err == nil {
		t.Error("an unknown field in the URL must fail")
	}
	failing := func(string) (string, error) { return "", fmt.Errorf("404") }
	if _, err := renderTemplate([]byte(`{{ addURIAndSha "https://x/{{ .TagName }}/a.tar.gz" .TagName }}`), fakeTag, failing); err == nil || !strings.Contains(err.Error(), "https://x/v1.2.3/a.tar.gz") {
		t.Errorf("a digest that cannot be had must fail naming the URL, got %v", err)
	}
	out, err := renderTemplate([]byte("  - x: 1\n    {{ addURIAndSha \"https://x/{{ .TagName }}/a-{{ .Version }}.tar.gz\" .TagName }}\n"), fakeTag, fakeSum)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := fakeSum("https://x/v1.2.3/a-1.2.3.tar.gz")
	if want := "  - x: 1\n    uri: https://x/v1.2.3/a-1.2.3.tar.gz\n    sha256: " + sum + "\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
