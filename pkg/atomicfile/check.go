package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// CheckWritable tells, before anything is created in a cluster, whether
// Write(path, _, force) can succeed: a command must not make a token and
// only then find it has nowhere to put it. flag names the option that gave
// path ("--values-file") for the message. It probes the directory by
// creating a file there, so it answers for the user running it (root
// included) rather than guessing from permission bits.
func CheckWritable(path string, force bool, flag string) error {
	what := path
	if flag != "" {
		what = flag + " " + path
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory: pass a file name", what)
		}
		if !force {
			return fmt.Errorf("refusing to overwrite %s: it exists; pass --force to replace it or choose another path", path)
		}
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot write %s: directory %s: %v; create it or choose another path", what, dir, apierror.PathCause(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a directory; choose another path", what, dir)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v; choose another path", what, apierror.PathCause(err))
	}
	_ = probe.Close()
	return os.Remove(probe.Name())
}
