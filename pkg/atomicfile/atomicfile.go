// Package atomicfile writes files that hold secrets: all or nothing, never
// readable by others, and never over an existing file unless asked.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// ErrExists is returned (wrapped) when the target exists and force is off.
var ErrExists = errors.New("file exists")

// Write puts data at path with mode 0600. The bytes go to a temporary file
// in the same directory first, which is synced and then linked (no
// overwrite) or renamed (overwrite, when force) into place, so a reader
// or an interrupted run never sees a partial file.
func Write(path string, data []byte, force bool) (err error) {
	if path == "" {
		return errors.New("no file name given")
	}
	dir := filepath.Dir(path)
	if !force {
		if _, statErr := os.Lstat(path); statErr == nil {
			return fmt.Errorf("refusing to overwrite %s: %w; pass --force to replace it or choose another path", path, ErrExists)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	// CreateTemp already uses 0600; Chmod makes it independent of that detail.
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	if force {
		if err = os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
		}
		return nil
	}
	// link fails if path appeared since the check above: no clobbering race.
	if err = os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("refusing to overwrite %s: %w; pass --force to replace it or choose another path", path, ErrExists)
			return err
		}
		return fmt.Errorf("cannot write %s: %w", path, apierror.PathCause(err))
	}
	return os.Remove(tmpName)
}
