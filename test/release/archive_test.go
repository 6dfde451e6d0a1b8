package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// entry is one file in an archive.
type entry struct {
	name string
	mode fs.FileMode
}

// listArchive lists the regular files of a .tar.gz or .zip.
func listArchive(path string) ([]entry, error) {
	var out []entry
	err := walkArchive(path, func(name string, mode fs.FileMode, _ io.Reader) error {
		out = append(out, entry{name, mode})
		return nil
	})
	return out, err
}

// walkArchive calls fn for each regular file; directories are implied by
// the paths, and anything else (links, devices) is refused like krew does.
func walkArchive(path string, fn func(name string, mode fs.FileMode, r io.Reader) error) error {
	switch {
	case strings.HasSuffix(path, ".tar.gz"):
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			switch h.Typeflag {
			case tar.TypeDir:
			case tar.TypeReg:
				if err := fn(h.Name, fs.FileMode(h.Mode), tr); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: %q is neither a file nor a directory (type %c)", path, h.Name, h.Typeflag)
			}
		}
	case strings.HasSuffix(path, ".zip"):
		zr, err := zip.OpenReader(path)
		if err != nil {
			return err
		}
		defer zr.Close()
		for _, zf := range zr.File {
			mode := zf.Mode()
			if mode.IsDir() {
				continue
			}
			if !mode.IsRegular() {
				return fmt.Errorf("%s: %q is neither a file nor a directory (%v)", path, zf.Name, mode)
			}
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			err = fn(zf.Name, mode, rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("%s: not a .tar.gz or .zip", path)
	}
}
