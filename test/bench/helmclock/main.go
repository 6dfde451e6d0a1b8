// Command helmclock stands in for helm in the real-Fleet comparison: it
// runs the real helm ($HELMCLOCK_HELM) with its own arguments, stdio and
// exit code, and appends one line to $HELMCLOCK_LOG: the Unix-nanosecond
// times at which it started and at which helm ended, and the
// --kube-context helm was given. The bench splits an enroll's wall time
// at these moments (helm's share) from the outside, without tracing the
// plugin. Its own cost (a static Go binary's start, one fork/exec) is
// counted as helm's.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

func main() {
	start := time.Now()
	cmd := exec.Command(os.Getenv("HELMCLOCK_HELM"), os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	end := time.Now()
	kubeContext := "-"
	for i, a := range os.Args {
		if a == "--kube-context" && i+1 < len(os.Args) {
			kubeContext = os.Args[i+1]
		}
	}
	if f, ferr := os.OpenFile(os.Getenv("HELMCLOCK_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); ferr == nil {
		// One write(2) of a short line under O_APPEND: parallel helms
		// never interleave.
		_, _ = fmt.Fprintf(f, "%d %d %s\n", start.UnixNano(), end.UnixNano(), kubeContext)
		_ = f.Close()
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "helmclock:", err)
		os.Exit(127)
	}
}
