// Package release checks a snapshot release (dist/, made by
// hack/release-snapshot.sh) the way krew-index and krew will see it: every
// archive holds the binary, a LICENSE, the README and the completion shim;
// the generated krew manifests pass krew's rules and agree with the
// krew-release-bot templates; and a krew-style install of this machine's
// archive runs through the real kubectl with the snapshot's version.
package release

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/internal/krewmanifest"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// makeHint names what builds the snapshot; the tests fail (never skip)
// without it.
const makeHint = "run `make release-check` (hack/release-snapshot.sh --single-target; `make release-snapshot` for every platform)"

const releaseURL = "https://github.com/kubectl-tokens/kubectl-tokens/releases/download/"

// releasePlatforms are the platforms every plugin is released for.
var releasePlatforms = []krewmanifest.OSArch{
	{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"},
	{OS: "darwin", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"},
	{OS: "windows", Arch: "amd64"}, {OS: "windows", Arch: "arm64"},
}

// licenseNames are the file names krew's validate-krew-manifest accepts as
// the license of an installed plugin (compared case-insensitively).
var licenseNames = []string{"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"}

// metadata is dist/metadata.json.
type metadata struct {
	ProjectName string `json:"project_name"`
	Tag         string `json:"tag"`
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	Runtime     struct {
		Goos   string `json:"goos"`
		Goarch string `json:"goarch"`
	} `json:"runtime"`
}

// artifact is one entry of dist/artifacts.json.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
	Type   string `json:"type"`
	Extra  struct {
		ID       string   `json:"ID"`
		Binaries []string `json:"Binaries"`
		Checksum string   `json:"Checksum"`
		Format   string   `json:"Format"`
		Size     int64    `json:"Size"`
	} `json:"extra"`
}

// snapshot is a finished goreleaser snapshot in dist/.
type snapshot struct {
	root, dist string
	meta       metadata
	artifacts  []artifact
	sums       map[string]string // checksums.txt: archive name -> sha256
}

func loadSnapshot(t *testing.T) *snapshot {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{root: root, dist: filepath.Join(root, "dist")}
	readJSON := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join(s.dist, name))
		if err != nil {
			t.Fatalf("no finished snapshot release in %s (%v): %s", s.dist, err, makeHint)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("dist/%s: %v: %s", name, err, makeHint)
		}
	}
	readJSON("metadata.json", &s.meta)
	readJSON("artifacts.json", &s.artifacts)
	if s.meta.Version == "" {
		t.Fatalf("dist/metadata.json has no version: %s", makeHint)
	}
	if head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil && strings.TrimSpace(string(head)) != s.meta.Commit {
		t.Logf("note: the snapshot is of commit %s, HEAD is %s (plus any uncommitted changes): %s to refresh it", s.meta.Commit, strings.TrimSpace(string(head)), makeHint)
	}
	s.sums = map[string]string{}
	f, err := os.Open(filepath.Join(s.dist, "checksums.txt"))
	if err != nil {
		t.Fatalf("no checksums.txt in dist: %v: %s", err, makeHint)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 {
			s.sums[fields[1]] = fields[0]
		}
	}
	return s
}

// archives returns the archive artifacts of plugin, by platform.
func (s *snapshot) archives(plugin string) map[krewmanifest.OSArch]artifact {
	out := map[krewmanifest.OSArch]artifact{}
	for _, a := range s.artifacts {
		if a.Type == "Archive" && a.Extra.ID == plugin {
			out[krewmanifest.OSArch{OS: a.Goos, Arch: a.Goarch}] = a
		}
	}
	return out
}

func (s *snapshot) path(a artifact) string {
	if filepath.IsAbs(a.Path) {
		return a.Path
	}
	return filepath.Join(s.root, a.Path)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func isLicense(name string) bool {
	return slices.Contains(licenseNames, strings.ToLower(filepath.Base(name)))
}

func thisPlatform() krewmanifest.OSArch {
	return krewmanifest.OSArch{OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// Every archive of the snapshot: the right content, digests that agree
// with checksums.txt, and the same platforms for every plugin (all six
// after `make release-snapshot`, this machine's after `make release-check`).
func TestArchives(t *testing.T) {
	s := loadSnapshot(t)
	var platforms []krewmanifest.OSArch
	for i, p := range plugintest.Plugins {
		archives := s.archives(p)
		if len(archives) == 0 {
			t.Fatalf("no archive of %s in dist/artifacts.json: %s", p, makeHint)
		}
		var mine []krewmanifest.OSArch
		for pair := range archives {
			mine = append(mine, pair)
		}
		slices.SortFunc(mine, func(a, b krewmanifest.OSArch) int { return strings.Compare(a.String(), b.String()) })
		if i == 0 {
			platforms = mine
		} else if !slices.Equal(mine, platforms) {
			t.Errorf("%s is archived for %v, %s for %v", p, mine, plugintest.Plugins[0], platforms)
		}
		if !slices.Contains(mine, thisPlatform()) {
			t.Errorf("%s has no archive for this machine (%s)", p, thisPlatform())
		}
		for pair, a := range archives {
			t.Run(a.Name, func(t *testing.T) {
				if !slices.Contains(releasePlatforms, pair) {
					t.Errorf("%s is for %s, not a release platform", a.Name, pair)
				}
				bin := "kubectl-" + p
				wantExt := ".tar.gz"
				if pair.OS == "windows" {
					bin += ".exe"
					wantExt = ".zip"
				}
				if want := "kubectl-" + p + "_" + pair.OS + "_" + pair.Arch + wantExt; a.Name != want {
					t.Errorf("archive named %s, want %s (the krew-release-bot templates use that name)", a.Name, want)
				}
				sum := fileSHA256(t, s.path(a))
				if s.sums[a.Name] != sum || a.Extra.Checksum != "sha256:"+sum {
					t.Errorf("%s: sha256 %s, checksums.txt says %q, artifacts.json %q", a.Name, sum, s.sums[a.Name], a.Extra.Checksum)
				}
				entries, err := listArchive(s.path(a))
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, e := range entries {
					names = append(names, e.name)
				}
				slices.Sort(names)
				want := []string{"LICENSE", "README.md", bin, "kubectl_complete-" + p}
				slices.Sort(want)
				if !slices.Equal(names, want) {
					t.Errorf("%s holds %v, want exactly %v at the top level", a.Name, names, want)
				}
				if !slices.ContainsFunc(names, isLicense) {
					t.Errorf("%s holds no LICENSE that krew recognises (%v)", a.Name, licenseNames)
				}
				for _, e := range entries {
					if (e.name == bin || e.name == "kubectl_complete-"+p) && pair.OS != "windows" && e.mode&0o111 == 0 {
						t.Errorf("%s: %s is not executable (%v)", a.Name, e.name, e.mode)
					}
				}
				t.Logf("%s: %d bytes", a.Name, a.Extra.Size)
			})
		}
	}
	t.Logf("snapshot %s: %d platforms per plugin: %v", s.meta.Version, len(platforms), platforms)
}

// The manifests goreleaser generated pass krew-index's checks and agree
// with the krew-release-bot templates rendered for the same tag and
// archives.
func TestGeneratedManifests(t *testing.T) {
	s := loadSnapshot(t)
	for _, p := range plugintest.Plugins {
		t.Run(p, func(t *testing.T) {
			path := filepath.Join(s.dist, "krew", p+".yaml")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("goreleaser wrote no krew manifest for %s: %v: %s", p, err, makeHint)
			}
			if !strings.HasPrefix(string(raw), "# This file was generated by GoReleaser. DO NOT EDIT.\n") {
				t.Errorf("%s does not start with goreleaser's header", path)
			}
			if err := krewmanifest.ValidateFile(path); err != nil {
				t.Fatalf("%s fails krew's validation: %v", path, err)
			}
			gen, err := krewmanifest.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := krewmanifest.CheckConventions(gen); err != nil {
				t.Errorf("%s breaks krew-index review conventions:\n%v", path, err)
			}
			if want := "v" + s.meta.Version; gen.Spec.Version != want {
				t.Errorf("spec.version %q, want %q", gen.Spec.Version, want)
			}
			archives := s.archives(p)
			if len(gen.Spec.Platforms) != len(archives) {
				t.Errorf("%d platforms in the manifest, %d archives", len(gen.Spec.Platforms), len(archives))
			}

			// Render the template for the snapshot's tag: digests of the
			// archives in dist/, a fake one for platforms not built.
			byName := map[string]string{}
			for _, a := range archives {
				byName[a.Name] = fileSHA256(t, s.path(a))
			}
			tmpl, err := os.ReadFile(filepath.Join(s.root, "krew-manifests", p+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := krewmanifest.RenderTemplate(tmpl, s.meta.Tag, func(url string) (string, error) {
				if sum, ok := byName[filepath.Base(url)]; ok {
					return sum, nil
				}
				fake := sha256.Sum256([]byte(url))
				return hex.EncodeToString(fake[:]), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			rendered := filepath.Join(t.TempDir(), p+".yaml")
			if err := os.WriteFile(rendered, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := krewmanifest.ValidateFile(rendered); err != nil {
				t.Fatalf("krew-manifests/%s.yaml rendered for %s fails: %v", p, s.meta.Tag, err)
			}
			tm, err := krewmanifest.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ field, gen, tmpl string }{
				{"homepage", gen.Spec.Homepage, tm.Spec.Homepage},
				{"shortDescription", gen.Spec.ShortDescription, tm.Spec.ShortDescription},
				{"description", gen.Spec.Description, tm.Spec.Description},
				{"caveats", gen.Spec.Caveats, tm.Spec.Caveats},
			} {
				if f.gen != f.tmpl {
					t.Errorf("%s: goreleaser wrote\n%s\nthe template says\n%s", f.field, f.gen, f.tmpl)
				}
			}
			for _, pl := range gen.Spec.Platforms {
				sel := pl.Selected()
				if len(sel) != 1 {
					t.Errorf("generated platform %v selects %v, want one os/arch", pl, sel)
					continue
				}
				a, ok := archives[sel[0]]
				if !ok {
					t.Errorf("generated platform %v has no archive in dist", pl)
					continue
				}
				if want := releaseURL + s.meta.Tag + "/" + a.Name; pl.URI != want {
					t.Errorf("%s: uri %s, want %s", sel[0], pl.URI, want)
				}
				if pl.Sha256 != byName[a.Name] {
					t.Errorf("%s: sha256 %s, the archive's is %s", sel[0], pl.Sha256, byName[a.Name])
				}
				if len(a.Extra.Binaries) != 1 || pl.Bin != a.Extra.Binaries[0] {
					t.Errorf("%s: bin %q, the archive holds %v", sel[0], pl.Bin, a.Extra.Binaries)
				}
				tp, ok := tm.ForPlatform(sel[0])
				if !ok {
					t.Errorf("the template offers nothing for %s", sel[0])
					continue
				}
				if tp.URI != pl.URI || tp.Sha256 != pl.Sha256 || tp.Bin != pl.Bin || len(tp.Files) != len(pl.Files) {
					t.Errorf("%s: template %v, goreleaser %v", sel[0], tp, pl)
				}
			}
			// After a full snapshot both offer exactly the release platforms.
			if len(archives) == len(releasePlatforms) {
				for _, pair := range releasePlatforms {
					if _, ok := gen.ForPlatform(pair); !ok {
						t.Errorf("goreleaser's manifest offers nothing for %s", pair)
					}
				}
			}
		})
	}
}

// The pinned goreleaser is built and accepts .goreleaser.yaml (strict YAML,
// version 2, no deprecated keys: exit 2 would mean deprecations).
func TestGoreleaserCheck(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("GORELEASER_DIR")
	if dir == "" {
		dir = filepath.Join(root, "bin", "tools")
	}
	bin := filepath.Join(dir, "goreleaser")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("goreleaser is not built (%v): %s", err, makeHint)
	}
	mod, err := os.ReadFile(filepath.Join(root, "hack", "tools", "goreleaser", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var pin string
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "github.com/goreleaser/goreleaser/v2"); i >= 0 && i+1 < len(f) {
			pin = f[i+1]
		}
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || pin == "" || !strings.Contains(string(out), "GitVersion:    "+pin+"\n") {
		t.Fatalf("%s --version does not report the pinned %q (%v): %s\n%s", bin, pin, err, makeHint, out)
	}
	cmd := exec.Command(bin, "check")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, out)
	}
}
