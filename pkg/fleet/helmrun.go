package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// HelmBinary finds the helm enroll runs: --helm, else helm on PATH. It is
// checked before anything is created.
func HelmBinary(flag string) (string, error) {
	name := flag
	if name == "" {
		name = "helm"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if flag == "" {
			return "", errors.New("helm is not on PATH: install helm (https://helm.sh/docs/intro/install/) or pass --helm PATH; nothing was created")
		}
		return "", fmt.Errorf("--helm %s cannot be run: %s; pass the path of a helm binary; nothing was created", flag, apierror.PathCause(errors.Unwrap(err)))
	}
	return path, nil
}

// HelmGrace is how long an interrupted helm may take to finish before it
// is killed.
var HelmGrace = 30 * time.Second

// RunHelm runs argv (argv[0] is "helm", as printed) with the binary at
// path, values on stdin. A failure is helm's own error line.
func RunHelm(ctx context.Context, path string, argv []string, stdin []byte) error {
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	// Stop helm as Ctrl-C in a terminal does, and give it time to record
	// the release's state: a kill mid-install leaves the release
	// pending-install, and every later run is refused.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = HelmGrace
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s %s failed: %s", argv[0], strings.Join(argv[1:min(len(argv), 6)], " "), helmErrorLine(out.String(), err))
}

// helmErrorLine is the line of helm's output that says what went wrong
// (the last "Error: ..." line, else the last line), escaped for a
// terminal, else how it exited.
func helmErrorLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	line := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "Error:") {
			line = l
			break
		}
		if line == "" {
			line = l
		}
	}
	if line == "" {
		return err.Error()
	}
	return printers.EscapeTerminal(line)
}
