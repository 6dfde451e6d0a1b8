package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTokenArg(t *testing.T) {
	if s, err := readTokenArg("abc", nil); err != nil || s != "abc" {
		t.Errorf("plain: %q %v", s, err)
	}
	if s, err := readTokenArg("-", strings.NewReader("  abcdef.0123456789abcdef \nrest")); err != nil || s != "abcdef.0123456789abcdef" {
		t.Errorf("stdin: %q %v", s, err)
	}
	if _, err := readTokenArg("-", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty stdin: %v", err)
	}
}

func TestOutputFileCheck(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	_ = os.WriteFile(existing, []byte("x"), 0o600)
	for _, tc := range []struct {
		o    outputFile
		want string
	}{
		{outputFile{Path: existing}, "pass --force"},
		{outputFile{Path: dir}, "is a directory"},
		{outputFile{Path: filepath.Join(dir, "missing", "f")}, "no such file or directory"},
		{outputFile{Force: true}, "--force only applies with --output-file"},
	} {
		if err := tc.o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	ok := outputFile{Path: filepath.Join(dir, "new")}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	if err := ok.write(nil, []byte("token\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(ok.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("written file: %v %v", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("probe or temp files left behind: %v", entries)
	}
	if err := (&outputFile{Path: existing, Force: true}).check(); err != nil {
		t.Errorf("--force: %v", err)
	}
}
