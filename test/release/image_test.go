package release

import (
	"archive/tar"
	"compress/gzip"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// The image is read back from its OCI layout (dist/image, written by
// hack/release-image.sh) with the standard library only, following the
// OCI image spec: index.json → the image index → one manifest per
// platform → its config and layers.

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

type ociConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string            `json:"User"`
		Env        []string          `json:"Env"`
		WorkingDir string            `json:"WorkingDir"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

// imageBinaries are the executables in the image, in /usr/local/bin.
var imageBinaries = []string{"kubectl-regtoken", "kubectl-exttoken", "kubectl-bootstrap", "helm"}

// ociLayout is dist/image.
type ociLayout struct{ dir string }

// blob opens the blob of d, checking that its size matches.
func (l ociLayout) blob(t *testing.T, d ociDescriptor) []byte {
	t.Helper()
	algo, hex, ok := strings.Cut(d.Digest, ":")
	if !ok || algo != "sha256" {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	path := filepath.Join(l.dir, "blobs", "sha256", hex)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != d.Size || fileSHA256(t, path) != hex {
		t.Fatalf("blob %s: %d bytes and a different digest than its descriptor says (%d)", d.Digest, len(b), d.Size)
	}
	return b
}

func (l ociLayout) json(t *testing.T, d ociDescriptor, v any) {
	t.Helper()
	if err := json.Unmarshal(l.blob(t, d), v); err != nil {
		t.Fatalf("blob %s: %v", d.Digest, err)
	}
}

// The image of the snapshot: one OCI index tagged with the snapshot's
// version, one non-root image per platform (linux/amd64 and linux/arm64
// after `make release-snapshot`, this machine's after `make
// release-check`), each holding the three plugins of that platform's
// archives, helm, the CA certificates and the non-root user. Each image is
// unpacked; every binary in it is a static ELF executable for its
// architecture and runs `version` and `--help` from it: natively on this
// machine's, under qemu user emulation on the other one (when qemu-user is
// installed; without it the test says so and checks the ELF headers only).
// The layers weigh at most twice the binaries they carry.
func TestImage(t *testing.T) {
	s := loadSnapshot(t)
	l := ociLayout{dir: filepath.Join(s.dist, "image")}
	if b, err := os.ReadFile(filepath.Join(l.dir, "oci-layout")); err != nil || !strings.Contains(string(b), `"imageLayoutVersion"`) {
		t.Fatalf("no OCI image layout in %s (%v): %s", l.dir, err, makeHint)
	}
	var top ociIndex
	b, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("index.json should hold one image index, holds %+v", top.Manifests)
	}
	if ref := top.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != "v"+s.meta.Version {
		t.Errorf("the index is tagged %q, want v%s", ref, s.meta.Version)
	}
	var idx ociIndex
	l.json(t, top.Manifests[0], &idx)

	var platforms []osArch
	for pair := range s.archives(plugintest.Plugins[0]) {
		if pair.OS == "linux" {
			platforms = append(platforms, pair)
		}
	}
	var got []osArch
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			t.Fatalf("index entry %s has no platform", d.Digest)
		}
		got = append(got, osArch{OS: d.Platform.OS, Arch: d.Platform.Architecture})
	}
	sortPairs := func(p []osArch) {
		slices.SortFunc(p, func(a, b osArch) int { return strings.Compare(a.String(), b.String()) })
	}
	sortPairs(platforms)
	sortPairs(got)
	if !slices.Equal(got, platforms) {
		t.Errorf("the image is for %v, the snapshot's linux archives for %v", got, platforms)
	}

	for _, d := range idx.Manifests {
		pair := osArch{OS: d.Platform.OS, Arch: d.Platform.Architecture}
		t.Run(pair.String(), func(t *testing.T) {
			var m ociManifest
			l.json(t, d, &m)
			var cfg ociConfig
			l.json(t, m.Config, &cfg)
			if cfg.OS != pair.OS || cfg.Architecture != pair.Arch {
				t.Errorf("config is for %s/%s", cfg.OS, cfg.Architecture)
			}
			if cfg.Config.User == "" || strings.HasPrefix(cfg.Config.User, "0") || strings.HasPrefix(cfg.Config.User, "root") {
				t.Errorf("runs as %q, want a non-root numeric user", cfg.Config.User)
			}
			if !slices.Contains(cfg.Config.Env, "PATH=/usr/local/bin") {
				t.Errorf("Env %v lacks PATH=/usr/local/bin", cfg.Config.Env)
			}
			if v := cfg.Config.Labels["org.opencontainers.image.version"]; v != "v"+s.meta.Version {
				t.Errorf("version label %q, want v%s", v, s.meta.Version)
			}
			root := t.TempDir()
			var layers int64
			for _, ld := range m.Layers {
				layers += ld.Size
				if err := unpackLayer(l.blob(t, ld), ld.MediaType, root); err != nil {
					t.Fatal(err)
				}
			}
			var binaries int64
			for _, b := range imageBinaries {
				info, err := os.Stat(filepath.Join(root, "usr/local/bin", b))
				if err != nil {
					t.Fatalf("the image has no /usr/local/bin/%s: %v", b, err)
				}
				if info.Mode()&0o111 == 0 {
					t.Errorf("/usr/local/bin/%s is not executable (%v)", b, info.Mode())
				}
				binaries += info.Size()
			}
			// The plugins are the very binaries of the archives.
			for _, p := range plugintest.Plugins {
				a, ok := s.archives(p)[pair]
				if !ok {
					t.Fatalf("no %s archive of %s", pair, p)
				}
				var inArchive []byte
				_ = walkArchive(s.path(a), func(name string, _ os.FileMode, r io.Reader) error {
					if name == "kubectl-"+p {
						inArchive, _ = io.ReadAll(r)
					}
					return nil
				})
				inImage, _ := os.ReadFile(filepath.Join(root, "usr/local/bin", "kubectl-"+p))
				if len(inArchive) == 0 || string(inArchive) != string(inImage) {
					t.Errorf("the image's kubectl-%s is not the one in %s", p, a.Name)
				}
			}
			checkCABundle(t, filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
			uid, _, _ := strings.Cut(cfg.Config.User, ":")
			passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
			if !strings.Contains(string(passwd), ":x:"+uid+":") {
				t.Errorf("/etc/passwd names no user %s:\n%s", uid, passwd)
			}
			if info, err := os.Stat(filepath.Join(root, "tmp")); err != nil || !info.IsDir() {
				t.Errorf("no /tmp directory in the image (%v)", err)
			}
			t.Logf("%s: layers %d bytes compressed, binaries %d bytes (%.2f×)", pair, layers, binaries, float64(layers)/float64(binaries))
			if layers > 2*binaries {
				t.Errorf("the layers weigh %d bytes, more than twice the %d bytes of binaries they carry", layers, binaries)
			}
			for _, b := range imageBinaries {
				if err := checkStaticELF(filepath.Join(root, "usr/local/bin", b), pair.Arch); err != nil {
					t.Errorf("/usr/local/bin/%s: %v", b, err)
				}
			}
			// This machine's image runs natively, another architecture's
			// under qemu user emulation when it is installed.
			var emulator []string
			if pair != thisPlatform() {
				qemu, err := qemuFor(pair.Arch)
				if err != nil {
					t.Logf("%s: the binaries' ELF headers are checked, they are not run: %v", pair, err)
					return
				}
				emulator = []string{qemu}
				t.Logf("%s: running the binaries under %s", pair, qemu)
			}
			for _, b := range imageBinaries {
				bin := filepath.Join(root, "usr/local/bin", b)
				want := "v" + s.meta.Version
				if b == "helm" {
					want = "Version:\"" + helmPin(t, s.root) + "\""
				}
				for _, args := range [][]string{{"version"}, {"--help"}} {
					argv := append(append(slices.Clone(emulator), bin), args...)
					cmd := exec.Command(argv[0], argv[1:]...)
					cmd.Env = []string{"PATH=" + filepath.Join(root, "usr/local/bin"), "HOME=" + t.TempDir()}
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Errorf("%s %s from the %s image: %v\n%s", b, args[0], pair, err, out)
					} else if args[0] == "version" && !strings.Contains(string(out), want) {
						t.Errorf("%s version from the %s image says\n%s\nwant %s in it", b, pair, out, want)
					} else if args[0] == "--help" && !strings.Contains(string(out), "Usage:") {
						t.Errorf("%s --help from the %s image printed no usage:\n%s", b, pair, out)
					}
				}
			}
		})
	}
	if !slices.Contains(got, thisPlatform()) && runtime.GOOS == "linux" {
		t.Errorf("no image for this machine (%s) to run the binaries from", thisPlatform())
	}
}

// unpackLayer extracts a gzip'd (or plain) tar layer into root: only
// directories and regular files, inside root.
func unpackLayer(blob []byte, mediaType, root string) error {
	var r io.Reader = strings.NewReader(string(blob))
	if strings.HasSuffix(mediaType, "+gzip") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + h.Name)
		dst := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm()|0o200)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("layer entry %q has type %c: the image holds only files and directories", h.Name, h.Typeflag)
		}
	}
}

// checkCABundle wants a PEM file of many CA certificates.
func checkCABundle(t *testing.T, path string) {
	t.Helper()
	rest, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no CA certificates in the image: %v", err)
	}
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil || !c.IsCA {
			t.Fatalf("%s: certificate %d is not a CA certificate (%v)", path, n, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("%s holds %d CA certificates, want the whole NSS set (over 100)", path, n)
	}
}

// helmPin is the helm version hack/tools/helm/go.mod pins.
func helmPin(t *testing.T, root string) string {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(root, "hack/tools/helm/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "helm.sh/helm/v3"); i >= 0 && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatal("no helm.sh/helm/v3 pin in hack/tools/helm/go.mod")
	return ""
}

// elfMachines are the ELF machine types of the image's architectures.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkStaticELF wants a 64-bit little-endian ELF executable for arch that
// needs no dynamic loader and no shared library: the image has neither.
func checkStaticELF(path, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("no ELF machine known for %s", arch)
	}
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_EXEC || f.Machine != want {
		return fmt.Errorf("is %v %v %v for %v, want a 64-bit little-endian executable for %v (%s)", f.Class, f.Data, f.Type, f.Machine, want, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("names a dynamic loader (PT_INTERP): it is not statically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v", libs)
	}
	return nil
}

// qemuArch is qemu's name of each Go architecture of the image.
var qemuArch = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}

// qemuFor finds qemu's user-mode emulator for arch (Debian's qemu-user or
// qemu-user-static package).
func qemuFor(arch string) (string, error) {
	q, ok := qemuArch[arch]
	if !ok {
		return "", fmt.Errorf("no qemu name known for %s", arch)
	}
	for _, name := range []string{"qemu-" + q, "qemu-" + q + "-static"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("neither qemu-%s nor qemu-%s-static is on PATH (Debian: apt-get install qemu-user)", q, q)
}
