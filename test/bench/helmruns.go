package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// helmClock is helmclock (helmclock/main.go) built for a run: passed to
// enroll as --helm, it runs the real helm and logs when each run started
// and ended.
type helmClock struct {
	path string // helmclock
	helm string // the real helm it runs
	log  string
}

func buildHelmClock(ctx context.Context, root, scratch, helm, name string) (*helmClock, error) {
	h := &helmClock{path: filepath.Join(scratch, "helmclock"), helm: helm, log: filepath.Join(scratch, name+".log")}
	if _, err := os.Stat(h.path); err == nil {
		return h, nil // built for another rig of this run
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", h.path, "./test/bench/helmclock")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building helmclock: %v\n%s", err, out)
	}
	return h, nil
}

// env is what a measured run needs for helmclock to find helm and its log.
func (h *helmClock) env() []string {
	return []string{"HELMCLOCK_HELM=" + h.helm, "HELMCLOCK_LOG=" + h.log}
}

// helmRun is one helmclock record.
type helmRun struct {
	start, end time.Time
	context    string
}

// take returns helmclock's records since the log was last taken.
func (h *helmClock) take() ([]helmRun, error) {
	f, err := os.Open(h.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var runs []helmRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		s, err1 := strconv.ParseInt(fields[0], 10, 64)
		e, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		runs = append(runs, helmRun{start: time.Unix(0, s), end: time.Unix(0, e), context: fields[2]})
	}
	_ = f.Close()
	return runs, os.Remove(h.log)
}

// helmSpan is the first start and the last end of runs.
func helmSpan(runs []helmRun) (first, last time.Time) {
	for i, h := range runs {
		if i == 0 || h.start.Before(first) {
			first = h.start
		}
		if h.end.After(last) {
			last = h.end
		}
	}
	return first, last
}
