package cli

import (
	"errors"
	"fmt"
	"io"
)

// Exit is an outcome that is not an error but has an exit code of its
// own, such as --fail-if-any's 3 when a monitoring list found something:
// Run prints Message (when set) on stderr without "error: " and exits
// with Code.
type Exit struct {
	Code    int
	Message string
}

func (e *Exit) Error() string { return fmt.Sprintf("exit %d: %s", e.Code, e.Message) }

// exitFor handles an *Exit in err: it prints the message and returns the
// code, or returns false for any other error.
func exitFor(err error, errOut io.Writer) (int, bool) {
	var ex *Exit
	if !errors.As(err, &ex) {
		return 0, false
	}
	if ex.Message != "" {
		fmt.Fprintln(errOut, ex.Message)
	}
	return ex.Code, true
}
