// Package shelltest checks printed command lines against a real bash
// rather than against our idea of shell quoting.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package shelltest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Argv runs line in a real bash (no profile or rc files, PATH=/usr/bin:/bin,
// working in dir, or a temporary directory when dir is "") where each of
// commands is a shell function that prints its own name and its arguments
// NUL-separated, and returns the words printed: the argv bash would have
// handed those commands. With no commands, line is taken as the arguments
// of one command and the words exclude its name.
func Argv(t testing.TB, dir, line string, commands ...string) []string {
	t.Helper()
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var script strings.Builder
	for _, c := range commands {
		script.WriteString(c + `() { printf '%s\0' ` + c + ` "$@"; }` + "\n")
	}
	if len(commands) == 0 {
		script.WriteString(`printf '%s\0' `)
	}
	script.WriteString(line)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash could not run %q: %v: %s", line, err, errOut.String())
	}
	s := out.String()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}
