package release

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// TestKrewInstall installs each plugin from the snapshot with the real
// krew, as a developer tests a manifest before submitting it:
// `kubectl krew install --manifest=dist/krew/<name>.yaml --archive=<this
// machine's archive>` under a throwaway KREW_ROOT, kubectl dispatching to
// the pinned krew as its kubectl-krew plugin. Then the installed plugins
// run through the real kubectl and must be the snapshot's build.
func TestKrewInstall(t *testing.T) {
	s := loadSnapshot(t)
	krewRoot := t.TempDir()
	binDir := filepath.Join(krewRoot, "bin")
	pathEnv := binDir + string(os.PathListSeparator) + krewPath(t)
	runner := &plugintest.Runner{BinDir: binDir, Home: t.TempDir()}
	// Only krew's bin directory, kubectl-krew and kubectl's own: no other
	// build of the plugins can answer instead.
	runner.Env = []string{"PATH=" + pathEnv, "KREW_ROOT=" + krewRoot, "KREW_NO_UPGRADE_CHECK=1"}
	pair := thisPlatform()

	for _, p := range plugintest.Plugins {
		manifestPath := filepath.Join(s.dist, "krew", p+".yaml")
		m := readManifest(t, manifestPath)
		i, ok := m.platform(pair)
		if !ok {
			t.Fatalf("plugin %q does not offer installation for this platform (%s): %s", p, pair, makeHint)
		}
		// --archive replaces the download; krew still checks the digest.
		archive := filepath.Join(s.dist, path.Base(m.Spec.Platforms[i].URI))
		res := runner.Kubectl("krew", "install", "--manifest="+manifestPath, "--archive="+archive)
		if res.Code != 0 || strings.Contains(res.Stderr, "Skipping") {
			t.Fatalf("kubectl krew install --manifest=%s --archive=%s: %s", manifestPath, archive, res)
		}

		store := filepath.Join(krewRoot, "store", p, m.Spec.Version)
		entries, err := os.ReadDir(store)
		if err != nil {
			t.Fatalf("krew installed %s elsewhere than %s: %v", p, store, err)
		}
		var installed []string
		for _, e := range entries {
			installed = append(installed, e.Name())
		}
		if !slices.ContainsFunc(installed, isLicense) {
			t.Errorf("LICENSE (or alike) file is not installed with %s: %v", p, installed)
		}
		link := filepath.Join(binDir, "kubectl-"+p)
		if target, err := filepath.EvalSymlinks(link); err != nil || filepath.Dir(target) != store {
			t.Errorf("%s should link into %s: %q, %v", link, store, target, err)
		}

		// The completion shim ships in the archive; the caveats tell users
		// to put it on PATH, which krew cannot do. Do as they say.
		shim := "kubectl_complete-" + p
		if !slices.Contains(installed, shim) {
			t.Errorf("%s is not installed from the archive: %v", shim, installed)
		} else if err := os.Symlink(filepath.Join(store, shim), filepath.Join(binDir, shim)); err != nil {
			t.Fatal(err)
		}
	}

	// list and uninstall insist on a local index (a git clone of
	// krew-index, which `kubectl krew update` makes); an empty repository
	// stands in for it, since the tests reach no index.
	if out, err := exec.Command("git", "init", "-q", filepath.Join(krewRoot, "index", "default")).CombinedOutput(); err != nil {
		t.Fatalf("git init of an empty krew index: %v\n%s", err, out)
	}
	res := runner.Kubectl("krew", "list")
	for _, p := range plugintest.Plugins {
		if !strings.Contains(res.Stdout, p) {
			t.Errorf("kubectl krew list does not show %s: %s", p, res)
		}
	}
	res = runner.Kubectl("plugin", "list")
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
			// The binary says the version krew installed: "v" + goreleaser's.
			if want := "v" + s.meta.Version; info.Version != want {
				t.Errorf("kubectl %s version says %q, the snapshot's krew version is %q", p, info.Version, want)
			}
			if info.Platform != pair.String() {
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

	// And krew takes it away again.
	p := plugintest.Plugins[0]
	if res := runner.Kubectl("krew", "uninstall", p); res.Code != 0 {
		t.Fatalf("kubectl krew uninstall %s: %s", p, res)
	}
	if _, err := os.Lstat(filepath.Join(binDir, "kubectl-"+p)); !os.IsNotExist(err) {
		t.Errorf("kubectl-%s is still in %s after uninstall (%v)", p, binDir, err)
	}
}
