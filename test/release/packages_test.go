package release

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// cleanPkgPath is a path inside a package without its leading "./" or "/".
func cleanPkgPath(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "."), "/")
}

// packages returns the Linux packages (nfpms) of plugin by format and arch.
func (s *snapshot) packages(plugin string) map[string]artifact {
	out := map[string]artifact{}
	for _, a := range s.artifacts {
		if a.Type == "Linux Package" && a.Extra.ID == plugin {
			out[a.Extra.Format+"/"+a.Goarch] = a
		}
	}
	return out
}

// debVersion is a semver version as nfpm writes it in a deb: the
// pre-release after "~", which dpkg sorts before the release itself.
func debVersion(v string) string { return strings.Replace(v, "-", "~", 1) }

// rpmVersion is the same for an rpm, whose versions cannot hold "-".
func rpmVersion(v string) string {
	return strings.ReplaceAll(debVersion(v), "-", "_")
}

// pkgFiles are the files every package installs, for plugin p.
func pkgFiles(p string) []string {
	return []string{"usr/bin/kubectl-" + p, "usr/bin/kubectl_complete-" + p, "usr/share/doc/kubectl-" + p + "/LICENSE"}
}

// A deb and an rpm per plugin and Linux architecture of the snapshot, each
// listed in checksums.txt, named kubectl-<plugin>_<version>_linux_<arch>,
// unpacked (the deb by dpkg-deb -x, the rpm by the reader in rpm_test.go)
// to exactly the binary, the completion shim (both executable) and the
// LICENSE, with the package's name and version in its metadata; on this
// machine's architecture the unpacked binary reports the snapshot's version.
func TestPackages(t *testing.T) {
	s := loadSnapshot(t)
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Fatalf("dpkg-deb is needed to unpack the debs (Debian/Ubuntu: apt-get install dpkg): %v", err)
	}
	var linuxArches []string
	for pair := range s.archives(plugintest.Plugins[0]) {
		if pair.OS == "linux" {
			linuxArches = append(linuxArches, pair.Arch)
		}
	}
	if len(linuxArches) == 0 {
		t.Fatalf("the snapshot has no linux build, so no packages: %s", makeHint)
	}
	for _, p := range plugintest.Plugins {
		pkgs := s.packages(p)
		for _, arch := range linuxArches {
			for _, format := range []string{"deb", "rpm"} {
				a, ok := pkgs[format+"/"+arch]
				if !ok {
					t.Errorf("no %s of %s for linux/%s in dist/artifacts.json", format, p, arch)
					continue
				}
				t.Run(a.Name, func(t *testing.T) {
					if want := "kubectl-" + p + "_" + s.meta.Version + "_linux_" + arch + "." + format; a.Name != want {
						t.Errorf("named %s, want %s", a.Name, want)
					}
					if s.sums[a.Name] != fileSHA256(t, s.path(a)) {
						t.Errorf("%s is not in checksums.txt with its sha256", a.Name)
					}
					files := map[string]fs.FileMode{}
					root := t.TempDir()
					switch format {
					case "deb":
						if out, err := exec.Command(dpkgDeb, "-x", s.path(a), root).CombinedOutput(); err != nil {
							t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
						}
						out, err := exec.Command(dpkgDeb, "--showformat=${Package} ${Version} ${Architecture}", "--show", s.path(a)).Output()
						if err != nil {
							t.Fatalf("dpkg-deb --show: %v", err)
						}
						if want := "kubectl-" + p + " " + debVersion(s.meta.Version) + " " + arch; string(out) != want {
							t.Errorf("control: %q, want %q", out, want)
						}
						err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
							if err != nil || d.IsDir() {
								return err
							}
							info, err := d.Info()
							rel, _ := filepath.Rel(root, path)
							files[filepath.ToSlash(rel)] = info.Mode()
							return err
						})
						if err != nil {
							t.Fatal(err)
						}
					case "rpm":
						rpm, err := readRPM(s.path(a))
						if err != nil {
							t.Fatal(err)
						}
						rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
						if got := rpm.tags[rpmTagName] + " " + rpm.tags[rpmTagArch]; got != "kubectl-"+p+" "+rpmArch {
							t.Errorf("name and arch %q, want %q", got, "kubectl-"+p+" "+rpmArch)
						}
						if v, want := rpm.tags[rpmTagVersion]+"-"+rpm.tags[rpmTagRelease], rpmVersion(s.meta.Version)+"-1"; v != want {
							t.Errorf("version-release %q, want %q (for %s)", v, want, s.meta.Version)
						}
						for name, f := range rpm.files {
							if f.mode.IsDir() {
								continue
							}
							files[name] = f.mode
							if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
								t.Fatal(err)
							}
							if err := os.WriteFile(filepath.Join(root, name), f.data, f.mode.Perm()); err != nil {
								t.Fatal(err)
							}
						}
					}
					var names []string
					for name := range files {
						names = append(names, name)
					}
					slices.Sort(names)
					want := pkgFiles(p)
					slices.Sort(want)
					if !slices.Equal(names, want) {
						t.Fatalf("installs %v, want exactly %v", names, want)
					}
					for _, exe := range want[:2] {
						if files[exe]&0o111 == 0 || !files[exe].IsRegular() {
							t.Errorf("%s is %v, want an executable file", exe, files[exe])
						}
					}
					if arch == runtime.GOARCH && runtime.GOOS == "linux" {
						out, err := exec.Command(filepath.Join(root, "usr/bin/kubectl-"+p), "version").CombinedOutput()
						if err != nil || !strings.Contains(string(out), "v"+s.meta.Version) {
							t.Errorf("the packaged kubectl-%s version: %v\n%s\nwant v%s in it", p, err, out, s.meta.Version)
						}
					}
				})
			}
		}
	}
}

// A Homebrew cask per plugin (dist/homebrew/Casks/kubectl-<plugin>.rb):
// it links the plugin and its completion shim, carries the snapshot's
// version, and every archive it downloads is a release archive with the
// sha256 of checksums.txt.
func TestHomebrewCasks(t *testing.T) {
	s := loadSnapshot(t)
	for _, p := range plugintest.Plugins {
		t.Run(p, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(s.dist, "homebrew", "Casks", "kubectl-"+p+".rb"))
			if err != nil {
				t.Fatalf("no cask: %v: %s", err, makeHint)
			}
			cask := string(b)
			for _, want := range []string{`cask "kubectl-` + p + `" do`, `binary "kubectl-` + p + `"`, `binary "kubectl_complete-` + p + `"`, `version "` + s.meta.Version + `"`} {
				if !strings.Contains(cask, want) {
					t.Errorf("the cask lacks %s:\n%s", want, cask)
				}
			}
			urls := 0
			lines := strings.Split(cask, "\n")
			for i, line := range lines {
				url, ok := strings.CutPrefix(strings.TrimSpace(line), `url "`)
				if !ok {
					continue
				}
				urls++
				name := url[strings.LastIndex(url, "/")+1 : len(url)-1]
				sum, ok := s.sums[name]
				if !ok || !strings.HasPrefix(url, releaseURL) {
					t.Errorf("the cask downloads %s, not a release archive of checksums.txt", url)
					continue
				}
				if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != `sha256 "`+sum+`"` {
					t.Errorf("the cask's sha256 of %s is not checksums.txt's %s", name, sum)
				}
			}
			if urls == 0 {
				t.Errorf("the cask downloads nothing:\n%s", cask)
			}
		})
	}
}
