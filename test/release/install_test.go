package release

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/internal/krewmanifest"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// TestKrewStyleInstall installs each plugin from the snapshot as
// `kubectl krew install --manifest dist/krew/<name>.yaml --archive ...`
// would on this machine (krew itself is not available here): pick the
// platform, verify the archive's sha256 against the manifest, unpack it
// into $KREW_ROOT/store/<name>/<version> (no files: means everything),
// require a LICENSE, link bin as $KREW_ROOT/bin/kubectl-<name>; then run
// it through the real kubectl and check it is the snapshot's build.
func TestKrewStyleInstall(t *testing.T) {
	s := loadSnapshot(t)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("the real kubectl is needed: %v", err)
	}
	krewRoot := t.TempDir()
	binDir := filepath.Join(krewRoot, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pair := thisPlatform()

	for _, p := range plugintest.Plugins {
		manifestPath := filepath.Join(s.dist, "krew", p+".yaml")
		if err := krewmanifest.ValidateFile(manifestPath); err != nil {
			t.Fatalf("%s: %v (%s)", manifestPath, err, makeHint)
		}
		m, err := krewmanifest.ReadFile(manifestPath)
		if err != nil {
			t.Fatal(err)
		}
		pl, ok := m.ForPlatform(pair)
		if !ok {
			t.Fatalf("plugin %q does not offer installation for this platform (%s)", p, pair)
		}
		if len(pl.Files) != 0 {
			t.Fatalf("%s: files: %v; the release relies on krew's default (everything)", manifestPath, pl.Files)
		}

		// --archive replaces the download; the digest is still checked.
		archive := filepath.Join(s.dist, path.Base(pl.URI))
		if sum := fileSHA256(t, archive); sum != pl.Sha256 {
			t.Fatalf("%s: sha256 %s, the manifest says %s", archive, sum, pl.Sha256)
		}
		installDir := filepath.Join(krewRoot, "store", m.Metadata.Name, m.Spec.Version)
		if err := extractArchive(archive, installDir); err != nil {
			t.Fatal(err)
		}
		var installed []string
		_ = filepath.WalkDir(installDir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(installDir, path)
				installed = append(installed, filepath.ToSlash(rel))
			}
			return nil
		})
		if !slices.ContainsFunc(installed, isLicense) {
			t.Errorf("LICENSE (or alike) file is not extracted from the archive as part of installation: %s holds %v", path.Base(pl.URI), installed)
		}

		bin := filepath.Join(installDir, filepath.FromSlash(pl.Bin))
		if rel, err := filepath.Rel(installDir, bin); err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("bin %q points outside the install directory", pl.Bin)
		}
		if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("bin %q of %s is missing or not executable (%v): the archive holds %v", pl.Bin, p, err, installed)
		}
		link := "kubectl-" + strings.ReplaceAll(m.Metadata.Name, "-", "_")
		if runtime.GOOS == "windows" {
			link += ".exe"
		}
		if err := os.Symlink(bin, filepath.Join(binDir, link)); err != nil {
			t.Fatal(err)
		}

		// The completion shim ships in the archive; the caveats tell users
		// to put it on PATH, which krew cannot do.
		shim := "kubectl_complete-" + m.Metadata.Name
		if !slices.Contains(installed, shim) {
			t.Errorf("%s is not in %s: %v", shim, path.Base(pl.URI), installed)
		} else {
			if err := os.Symlink(filepath.Join(installDir, shim), filepath.Join(binDir, shim)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Spec.Caveats, shim) {
				t.Errorf("the caveats of %s do not tell how to install %s", p, shim)
			}
		}
	}

	// Only the krew bin directory and kubectl's own: no other build of the
	// plugins can answer instead.
	runner := &plugintest.Runner{BinDir: binDir, Home: t.TempDir()}
	runner.Env = []string{"PATH=" + strings.Join([]string{binDir, filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator))}

	res := runner.Kubectl("plugin", "list")
	if res.Code != 0 {
		t.Fatalf("kubectl plugin list warns: %s", res)
	}
	for _, p := range plugintest.Plugins {
		if !strings.Contains(res.Stdout, filepath.Join(binDir, "kubectl-"+p)+"\n") {
			t.Errorf("kubectl plugin list does not find the installed kubectl-%s:\n%s", p, res)
		}
	}

	for _, p := range plugintest.Plugins {
		t.Run(p, func(t *testing.T) {
			res := runner.Kubectl(p, "version", "-o", "json")
			if res.Code != 0 {
				t.Fatalf("kubectl %s version -o json: %s", p, res)
			}
			var info struct{ Version, Commit, Date, Platform string }
			if err := json.Unmarshal([]byte(res.Stdout), &info); err != nil {
				t.Fatalf("kubectl %s version -o json: %v\n%s", p, err, res)
			}
			// The binary says the version krew installs: "v" + goreleaser's.
			if want := "v" + s.meta.Version; info.Version != want {
				t.Errorf("kubectl %s version says %q, the snapshot's krew version is %q", p, info.Version, want)
			}
			if info.Platform != pair.OS+"/"+pair.Arch {
				t.Errorf("kubectl %s version: platform %q, want %s", p, info.Platform, pair)
			}
			if s.meta.Commit != "none" && (info.Commit == "" || !strings.HasPrefix(s.meta.Commit, info.Commit)) {
				t.Errorf("kubectl %s version: commit %q, the snapshot is of %s", p, info.Commit, s.meta.Commit)
			}
			if info.Date == "" || info.Date == "unknown" {
				t.Errorf("kubectl %s version: no build date: %+v", p, info)
			}
			res = runner.Kubectl(p, "version")
			if res.Code != 0 || !strings.HasPrefix(res.Stdout, "kubectl-"+p+" v"+s.meta.Version+" ") {
				t.Errorf("kubectl %s version: %s", p, res)
			}

			// The archive's shim completes `kubectl <plugin> <TAB>`.
			res = runner.Kubectl("__complete", p, "")
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
				got = append(got, strings.SplitN(line, "\t", 2)[0])
			}
			if res.Code != 0 || !slices.Contains(got, "version") || !slices.Contains(got, "completion") || got[len(got)-1] != ":4" {
				t.Errorf("kubectl __complete %s \"\" through the archive's shim: %s", p, res)
			}
		})
	}
}
