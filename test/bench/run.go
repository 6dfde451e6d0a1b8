package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// proc is one command line to measure.
type proc struct {
	Label string   // how the tables name it, e.g. "kubectl bootstrap list"
	Argv  []string // argv[0] is looked up on the run's PATH
	// Home is HOME for the run; "" gives a fresh empty one, so kubectl's
	// discovery cache starts cold.
	Home string
	// Dir is the working directory; "" gives a fresh empty one.
	Dir string
	// Env is extra KEY=VALUE on top of the bench environment.
	Env []string
	// Check validates a finished run (its output files are in Dir): a
	// fast wrong answer must never count as a fast answer.
	Check func(r *result) error
}

// result is one measured run.
type result struct {
	Wall   time.Duration
	RSSKiB int64 // peak RSS of the child and its waited-for descendants
	// CPU is user + system time of the launcher's whole waited-for tree:
	// wait4 returns a child's own usage plus that of every descendant it
	// waited for, so `kubectl <plugin>` covers kubectl, the plugin and the
	// helm processes the plugin ran (and the launcher's few milliseconds).
	CPU    time.Duration
	Start  time.Time
	End    time.Time
	Stdout []byte
	Stderr []byte
	Dir    string
}

// runner starts measured processes with the plugins first on PATH.
type runner struct {
	binDir     string
	kubeconfig string
	scratch    string
	launcher   string
	seq        int
}

func (r *runner) environ(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PATH="), strings.HasPrefix(kv, "HOME="), strings.HasPrefix(kv, "KUBECONFIG="),
			strings.HasPrefix(kv, "KUBECACHEDIR="), strings.HasPrefix(kv, "XDG_CACHE_HOME="):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+r.binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home,
		// The bench user's kubeconfig, as a user's own would be: the
		// recipes are run exactly as documented, without --kubeconfig.
		"KUBECONFIG="+r.kubeconfig,
	)
}

// tempDir makes a fresh directory under the bench's scratch space.
func (r *runner) tempDir(prefix string) (string, error) {
	r.seq++
	dir := filepath.Join(r.scratch, fmt.Sprintf("%s-%04d", prefix, r.seq))
	return dir, os.MkdirAll(dir, 0o700)
}

// run starts p through the launcher, waits for it and measures it: wall
// time from just before fork/exec to just after wait4 returned, peak RSS
// from the child's rusage (on Linux ru_maxrss survives exec, so
// `kubectl <plugin>` covers kubectl and the plugin it execs; a shell
// covers the children it waited for). Both are taken by the launcher (see
// launcher/main.go for why). Stdout goes to a regular file so that a big
// listing costs the child a write(2), not a pipe round trip through the
// bench.
func (r *runner) run(ctx context.Context, p proc) (*result, error) {
	home := p.Home
	var err error
	if home == "" {
		if home, err = r.tempDir("home"); err != nil {
			return nil, err
		}
	}
	dir := p.Dir
	if dir == "" {
		if dir, err = r.tempDir("run"); err != nil {
			return nil, err
		}
	}
	out, err := os.Create(filepath.Join(dir, ".stdout"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	resultFile := filepath.Join(dir, ".measure")
	env := append(r.environ(home), p.Env...)
	path := p.Argv[0]
	if !strings.Contains(path, "/") {
		// Resolved on the run's PATH (the plugins' bin dir first).
		if path, err = lookPath(path, env); err != nil {
			return nil, err
		}
	}
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.launcher, append([]string{resultFile, path}, p.Argv...)...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = &stderr
	// Its own process group, so that cancelling kills the measured
	// process too, not only the launcher.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	res := &result{Dir: dir, Stderr: stderr.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if res.Stdout, _ = os.ReadFile(out.Name()); res.Stdout == nil {
		res.Stdout = []byte{}
	}
	if m, merr := os.ReadFile(resultFile); merr == nil {
		var startNs, endNs, wallNs int64
		if _, serr := fmt.Sscanf(string(m), "%d %d %d %d", &startNs, &endNs, &wallNs, &res.RSSKiB); serr == nil {
			res.Start, res.End, res.Wall = time.Unix(0, startNs), time.Unix(0, endNs), time.Duration(wallNs)
		}
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return res, fmt.Errorf("%s: exit %d: %s", p.Label, exitErr.ExitCode(), lastLines(res.Stderr, 5))
		}
		return res, fmt.Errorf("%s: %w", p.Label, err)
	}
	if res.Start.IsZero() {
		return res, fmt.Errorf("%s: the launcher left no measurement", p.Label)
	}
	if p.Check != nil {
		if err := p.Check(res); err != nil {
			return res, fmt.Errorf("%s: wrong result: %w (stderr: %s)", p.Label, err, lastLines(res.Stderr, 3))
		}
	}
	return res, nil
}

// buildLauncher builds launcher/ into the scratch directory.
func (r *runner) buildLauncher(ctx context.Context, root string) error {
	r.launcher = filepath.Join(r.scratch, "launcher")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", r.launcher, "./test/bench/launcher")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the launcher: %v\n%s", err, out)
	}
	return nil
}

func lookPath(name string, env []string) (string, error) {
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not on PATH %s", name, path)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// countLines counts non-empty lines.
func countLines(b []byte) int {
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

// atLeastLines checks a listing printed at least n lines.
func atLeastLines(n int) func(*result) error {
	return func(r *result) error {
		if got := countLines(r.Stdout); got < n {
			return fmt.Errorf("printed %d lines, want at least %d", got, n)
		}
		return nil
	}
}

// matches checks stdout against a regular expression.
func matches(expr string) func(*result) error {
	re := regexp.MustCompile(expr)
	return func(r *result) error {
		if !re.Match(r.Stdout) {
			return fmt.Errorf("output does not match %s", expr)
		}
		return nil
	}
}
