// Package plugintest runs the built plugin binaries the way users do:
// through the real kubectl, found on PATH as kubectl-<name>.
package plugintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Plugins are the three binaries, by kubectl name.
var Plugins = []string{"regtoken", "exttoken", "bootstrap"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// BinDir returns a directory holding kubectl-regtoken, kubectl-exttoken and
// kubectl-bootstrap: $PLUGIN_BIN_DIR when set (make test builds there),
// else a fresh build into a temporary directory.
func BinDir() (string, error) {
	buildOnce.Do(func() {
		if dir := os.Getenv("PLUGIN_BIN_DIR"); dir != "" {
			for _, p := range Plugins {
				if _, err := os.Stat(filepath.Join(dir, "kubectl-"+p)); err != nil {
					buildErr = fmt.Errorf("PLUGIN_BIN_DIR=%s lacks kubectl-%s: run make build", dir, p)
					return
				}
			}
			binDir = dir
			return
		}
		root, err := testenv.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "kubectl-tokens-bin-")
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-o", dir + "/"}
		for _, p := range Plugins {
			args = append(args, "./cmd/kubectl-"+p)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the plugins: %v\n%s", err, out)
			return
		}
		binDir = dir
	})
	return binDir, buildErr
}

// Result is one finished command.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// String shows a result in a test failure.
func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// Runner runs kubectl with the plugins first on PATH.
type Runner struct {
	BinDir  string
	Env     []string      // extra environment, KEY=VALUE
	Dir     string        // working directory ("" = current)
	Stdin   string        // fed to the command
	Timeout time.Duration // default 2 minutes
	// Home is HOME for the commands: empty, so no developer kubeconfig or
	// cache leaks into a test.
	Home string
}

// NewRunner finds (or builds) the plugins.
func NewRunner() (*Runner, error) {
	dir, err := BinDir()
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "kubectl-tokens-home-")
	if err != nil {
		return nil, err
	}
	return &Runner{BinDir: dir, Home: home}, nil
}

// Kubectl runs the real kubectl with args, e.g. ("regtoken", "list").
func (r *Runner) Kubectl(args ...string) Result {
	return r.Run("kubectl", args...)
}

// Run runs any program with the plugins first on PATH.
func (r *Runner) Run(name string, args ...string) Result {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.Dir
	cmd.Env = append(r.environ(), r.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(r.Stdin)
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	default:
		res.Code = -1
		res.Stderr += "\n[runner] " + err.Error()
	}
	return res
}

// Command returns an unstarted command with the plugin PATH, for tests that
// signal or time a process themselves.
func (r *Runner) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.Dir
	cmd.Env = append(r.environ(), r.Env...)
	return cmd
}

func (r *Runner) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		// A developer's own cluster must never be touched by a test.
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+r.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+r.Home, "KUBECONFIG="+filepath.Join(r.Home, "no-kubeconfig"))
}
