package testenv

import (
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// startsControlPlane finds a test file that starts a control plane (or
// exits under -short because it would).
var startsControlPlane = regexp.MustCompile(`(?m)\btestenv\.(Main|Start|ExitUnderShort)\(|^\s*env, err := Start\(`)

// Every test file that starts a control plane carries the e2e build tag
// (Makefile E2E_TAGS), so go test -short ./... neither builds nor links
// it; make test-e2e runs it. Files using such a file's fixtures fail to
// build without the tag, so go vet ./... catches those.
func TestControlPlaneTestsCarryTheE2ETag(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || d.Name() == "dist" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		if !startsControlPlane.MatchString(src) {
			return nil
		}
		found++
		if !hasE2ETag(src) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s starts a control plane without //go:build e2e: add the tag (go test -short ./... would link it)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 15 {
		t.Errorf("found %d control-plane test files; the pattern no longer finds them", found)
	}
}

// hasE2ETag reports a build constraint before the package clause that
// requires the e2e tag.
func hasE2ETag(src string) bool {
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if !constraint.IsGoBuild(line) {
			continue
		}
		expr, err := constraint.Parse(line)
		if err != nil {
			return false
		}
		return !expr.Eval(func(tag string) bool { return tag != "e2e" })
	}
	return false
}
