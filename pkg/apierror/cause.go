package apierror

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// The causes of errors that never reached the API server (a dial, a file),
// for a caller to word with its own object and remedy.

// LastPart is the innermost cause of a wrapped error as its text ends
// ("connection refused" of "Get https://...: dial tcp ...: connection
// refused"), on one line: the URL and address the caller names anyway are
// dropped.
func LastPart(err error) string {
	s := OneLine(err.Error())
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// PathCause drops the *fs.PathError or *os.LinkError wrapper whose text
// repeats a path the caller names itself (or a temporary file's, which
// means nothing to the user), leaving the cause: "permission denied",
// "no such file or directory".
func PathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
