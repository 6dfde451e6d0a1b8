package release

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// cycloneDX is the part of a CycloneDX JSON document the test reads.
type cycloneDX struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    struct {
		Component struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"component"`
	} `json:"metadata"`
	Components []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
	} `json:"components"`
}

// Every archive has its SBOM, <archive>.sbom.json, covered by
// checksums.txt: a CycloneDX document of the plugin's main module whose
// components are exactly the modules built into the binary in the archive
// (its Go build information), at the same versions.
func TestSBOMs(t *testing.T) {
	s := loadSnapshot(t)
	for _, p := range plugintest.Plugins {
		for _, a := range s.archives(p) {
			t.Run(a.Name, func(t *testing.T) {
				name := a.Name + ".sbom.json"
				path := filepath.Join(s.dist, name)
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("no SBOM for %s: %v: %s", a.Name, err, makeHint)
				}
				if s.sums[name] != fileSHA256(t, path) {
					t.Errorf("%s is not in checksums.txt with its sha256", name)
				}
				var bom cycloneDX
				if err := json.Unmarshal(raw, &bom); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
					t.Errorf("%s: bomFormat %q specVersion %q, want a CycloneDX document", name, bom.BOMFormat, bom.SpecVersion)
				}
				bi := archiveBuildInfo(t, s.path(a), "kubectl-"+p)
				if c := bom.Metadata.Component; c.Name != bi.Main.Path || c.Version != "v"+s.meta.Version {
					t.Errorf("%s describes %s %s, want %s v%s", name, c.Name, c.Version, bi.Main.Path, s.meta.Version)
				}
				var got, want []string
				for _, c := range bom.Components {
					if strings.HasPrefix(c.PURL, "pkg:golang/") && c.Name != bi.Main.Path {
						got = append(got, c.Name+"@"+c.Version)
					}
				}
				for _, d := range bi.Deps {
					if d.Replace != nil {
						d = d.Replace
					}
					want = append(want, d.Path+"@"+d.Version)
				}
				slices.Sort(got)
				slices.Sort(want)
				got = slices.Compact(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s lists %d modules, the binary was built from %d:\nSBOM:   %v\nbinary: %v", name, len(got), len(want), got, want)
				}
			})
		}
	}
}

// archiveBuildInfo is the Go build information of bin (or bin.exe) in
// the archive at path.
func archiveBuildInfo(t *testing.T, path, bin string) *buildinfo.BuildInfo {
	t.Helper()
	var data []byte
	err := walkArchive(path, func(name string, _ fs.FileMode, r io.Reader) error {
		if name == bin || name == bin+".exe" {
			var err error
			data, err = io.ReadAll(r)
			return err
		}
		return nil
	})
	if err != nil || data == nil {
		t.Fatalf("%s: no %s in it (%v)", path, bin, err)
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %s has no Go build information: %v", path, bin, err)
	}
	return bi
}
