package release

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// An rpm is read here with the standard library only, so that the check
// runs wherever Go does (rpm2cpio is not on every machine): the lead, the
// signature and main headers (for the package's tags), then the payload, a
// gzip'd cpio archive in the "newc" format (.goreleaser.yaml asks nfpm for
// gzip). Layout as in rpm's own doc/manual/format.md and cpio(5).

// rpm header tags read by the tests.
const (
	rpmTagName              = 1000
	rpmTagVersion           = 1001
	rpmTagRelease           = 1002
	rpmTagArch              = 1022
	rpmTagPayloadCompressor = 1125
)

// rpmPackage is what the tests read of an rpm.
type rpmPackage struct {
	tags  map[int]string // string tags of the main header
	files map[string]rpmFile
}

type rpmFile struct {
	mode fs.FileMode
	data []byte
}

func readRPM(path string) (*rpmPackage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	lead := make([]byte, 96)
	if _, err := io.ReadFull(r, lead); err != nil || !bytes.Equal(lead[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, fmt.Errorf("%s: not an rpm (no lead)", path)
	}
	// The signature header, padded to 8 bytes; then the main header.
	if _, err := readRPMHeader(r, true); err != nil {
		return nil, fmt.Errorf("%s: signature header: %w", path, err)
	}
	tags, err := readRPMHeader(r, false)
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if c := tags[rpmTagPayloadCompressor]; c != "gzip" {
		return nil, fmt.Errorf("%s: payload compressed with %q, this reader knows gzip (set nfpms.rpm.compression: gzip)", path, c)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: payload: %w", path, err)
	}
	files, err := readCpio(bufio.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s: payload: %w", path, err)
	}
	return &rpmPackage{tags: tags, files: files}, nil
}

// readRPMHeader reads one header structure and returns its string tags.
func readRPMHeader(r *bytes.Reader, pad bool) (map[int]string, error) {
	var h struct {
		Magic    [4]byte
		Reserved [4]byte
		Count    uint32
		Size     uint32
	}
	if err := binary.Read(r, binary.BigEndian, &h); err != nil {
		return nil, err
	}
	if !bytes.Equal(h.Magic[:], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return nil, fmt.Errorf("bad header magic %x", h.Magic)
	}
	type entry struct{ Tag, Type, Offset, Count int32 }
	entries := make([]entry, h.Count)
	if err := binary.Read(r, binary.BigEndian, entries); err != nil {
		return nil, err
	}
	store := make([]byte, h.Size)
	if _, err := io.ReadFull(r, store); err != nil {
		return nil, err
	}
	if pad {
		if n := (8 - h.Size%8) % 8; n > 0 {
			if _, err := r.Seek(int64(n), io.SeekCurrent); err != nil {
				return nil, err
			}
		}
	}
	tags := map[int]string{}
	for _, e := range entries {
		const stringType, i18nType = 6, 9
		if (e.Type == stringType || e.Type == i18nType) && int(e.Offset) < len(store) {
			s := store[e.Offset:]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				tags[int(e.Tag)] = string(s[:i])
			}
		}
	}
	return tags, nil
}

// readCpio reads a "newc" cpio archive: regular files and directories by
// path (without the leading "./"), up to the TRAILER!!! entry.
func readCpio(r io.Reader) (map[string]rpmFile, error) {
	files := map[string]rpmFile{}
	hdr := make([]byte, 110)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, fmt.Errorf("cpio header: %w", err)
		}
		if string(hdr[:6]) != "070701" {
			return nil, fmt.Errorf("cpio magic %q, want 070701 (newc)", hdr[:6])
		}
		field := func(i int) (int64, error) {
			return strconv.ParseInt(string(hdr[6+8*i:14+8*i]), 16, 64)
		}
		mode, err1 := field(1)
		size, err2 := field(6)
		nameSize, err3 := field(11)
		if err := firstErr(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("cpio header: %w", err)
		}
		name := make([]byte, nameSize)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		if err := skip(r, pad4(110+nameSize)); err != nil {
			return nil, err
		}
		path := string(bytes.TrimSuffix(name, []byte{0}))
		if path == "TRAILER!!!" {
			return files, nil
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, err
		}
		if err := skip(r, pad4(size)); err != nil {
			return nil, err
		}
		files[cleanPkgPath(path)] = rpmFile{mode: cpioMode(mode), data: data}
	}
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

func skip(r io.Reader, n int64) error {
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// cpioMode turns a cpio st_mode into an fs.FileMode (directories and
// regular files; the permission bits as they are).
func cpioMode(m int64) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o170000 == 0o040000 {
		mode |= fs.ModeDir
	} else if m&0o170000 != 0o100000 {
		mode |= fs.ModeIrregular
	}
	return mode
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
