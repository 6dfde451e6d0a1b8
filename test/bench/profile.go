package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	pluginset "github.com/kubectl-tokens/kubectl-tokens/plugins"
)

// profile runs `kubectl <plugin> args...` in this process, loops times,
// under the CPU profiler and returns pprof's flat and cumulative tops:
// where a slow listing spends its time. (In-process, so the numbers are
// shares of CPU, not the child's wall time.)
func (b *bench) profile(ctx context.Context, plugin string, args []string, loops int) (flat, cum string, err error) {
	p, ok := pluginset.ByName(plugin)
	if !ok {
		return "", "", fmt.Errorf("no plugin %q", plugin)
	}
	path := filepath.Join(b.scratch, "cpu-"+plugin+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return "", "", err
	}
	for range loops {
		var errOut bytes.Buffer
		streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}
		root, fac := p.NewCommand(streams)
		if code := cli.Run(root, fac, streams, append(append([]string{}, args...), "--kubeconfig", b.cluster.kubeconfig)); code != 0 {
			pprof.StopCPUProfile()
			_ = f.Close()
			return "", "", fmt.Errorf("kubectl %s %s: exit %d: %s", plugin, strings.Join(args, " "), code, lastLines(errOut.Bytes(), 3))
		}
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return "", "", err
	}
	top := func(extra ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof", "-top"}, extra...), path)...)
		cmd.Dir = b.root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go tool pprof: %w", err)
		}
		return trimPprof(string(out)), nil
	}
	if flat, err = top("-nodecount=15"); err != nil {
		return "", "", err
	}
	cum, err = top("-cum", "-nodecount=30")
	return flat, cum, err
}

// trimPprof drops pprof's header lines other than the totals.
func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") || strings.HasPrefix(l, "Build ID:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// totalSamples reads "Total samples = 480ms" from a pprof top.
func totalSamples(top string) (time.Duration, bool) {
	_, rest, ok := strings.Cut(top, "Total samples = ")
	if !ok {
		return 0, false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0, false
	}
	d, err := time.ParseDuration(f[0])
	return d, err == nil
}

// topFunctions picks the first n function names of a flat top that have
// samples of their own.
func topFunctions(flat string, n int) string {
	var out []string
	for _, l := range strings.Split(flat, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || f[0] == "0" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s", strings.Join(f[5:], " "), f[1]))
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, ", ")
}
