package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCreatesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "values.yaml")
	if err := Write(path, []byte("token: x\n"), false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "token: x\n" {
		t.Errorf("content %q", b)
	}
	assertOnly(t, dir, "values.yaml")
}

func TestWriteRefusesToOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"), false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("want ErrExists, got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Errorf("existing file changed to %q", b)
	}
	assertOnly(t, dir, "values.yaml")

	if err := Write(path, []byte("new"), true); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("forced write: content %q mode %v", b, st.Mode().Perm())
	}
	assertOnly(t, dir, "values.yaml")
}

func TestWriteIntoUnwritableDirLeavesNothing(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory modes; a missing directory fails for everyone.
		err := Write(filepath.Join(t.TempDir(), "missing", "values.yaml"), []byte("x"), false)
		if err == nil {
			t.Fatal("write into a missing directory succeeded")
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	// Writable again, so t.TempDir's cleanup can remove it.
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if err := Write(filepath.Join(dir, "values.yaml"), []byte("x"), false); err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	assertOnly(t, dir)
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("directory holds %q, want %q (no temporary files)", got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			t.Fatalf("directory holds %q, want %q", got, names)
		}
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		force bool
		want  string // "" = no error
	}{
		{filepath.Join(dir, "new"), false, ""},
		{existing, true, ""},
		{existing, false, "refusing to overwrite " + existing + ": it exists; pass --force"},
		{dir, true, "--out " + dir + " is a directory"},
		{filepath.Join(dir, "missing", "f"), false, "no such file or directory; create it"},
		{filepath.Join(existing, "f"), false, existing + " is not a directory"},
	} {
		err := CheckWritable(tc.path, tc.force, "--out")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected %v", tc.path, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.path, err, tc.want)
		}
	}
	// The probe leaves nothing behind.
	assertOnly(t, dir, "existing")
}
