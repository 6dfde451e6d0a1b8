package release

import (
	"bytes"
	"fmt"
	"io/fs"
	"testing"
)

// newcEntry is one entry of a "newc" cpio archive, as rpm payloads hold.
func newcEntry(name string, mode int64, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	b.WriteString(name + "\x00")
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(data)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// The cpio reader behind TestPackages' rpm check returns files and
// directories with their modes and contents, names without "./", and stops
// at the trailer; it refuses another cpio format.
func TestReadCpioNewc(t *testing.T) {
	var archive []byte
	archive = append(archive, newcEntry("./usr/bin", 0o040755, nil)...)
	archive = append(archive, newcEntry("./usr/bin/kubectl-x", 0o100755, []byte("binary!"))...)
	archive = append(archive, newcEntry("./usr/share/doc/x/LICENSE", 0o100644, []byte("text"))...)
	archive = append(archive, newcEntry("TRAILER!!!", 0, nil)...)
	files, err := readCpio(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("want 3 entries, got %v", files)
	}
	if f := files["usr/bin/kubectl-x"]; string(f.data) != "binary!" || f.mode != 0o755 {
		t.Errorf("binary: %q %v", f.data, f.mode)
	}
	if f := files["usr/bin"]; f.mode != fs.ModeDir|0o755 {
		t.Errorf("directory mode %v", f.mode)
	}
	if f := files["usr/share/doc/x/LICENSE"]; string(f.data) != "text" || f.mode != 0o644 {
		t.Errorf("license: %q %v", f.data, f.mode)
	}
	if _, err := readCpio(bytes.NewReader([]byte("070707" + string(make([]byte, 104))))); err == nil {
		t.Error("an odc (070707) archive was read as newc")
	}
}
