// Package fanout runs one job per cluster for the commands that register
// many clusters (enroll, import): every job runs concurrently, the costly
// part of each (a helm install, a manifest fetch and apply) takes one of
// --parallel slots, and once more jobs failed than --max-failures allows,
// no job takes a slot any more: the rest are reported as not started, and
// a re-run resumes them.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// MaxFailures is --max-failures: a count, or a percentage of the jobs.
type MaxFailures struct {
	flag      string
	count     int
	percent   float64
	isPercent bool
	set       bool
}

// AddMaxFailuresFlag binds --max-failures.
func AddMaxFailuresFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "max-failures", "", "Stop starting clusters once more than this many failed: a count (0 stops at the first failure) or a percentage of the clusters (10%); the clusters not started are reported and a re-run resumes them (default: never stop).")
}

// ParseMaxFailures reads --max-failures; "" never stops.
func ParseMaxFailures(s string) (MaxFailures, error) {
	m := MaxFailures{flag: s}
	if s == "" {
		return m, nil
	}
	m.set = true
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return m, fmt.Errorf("--max-failures %q is not a percentage from 0%% to 100%%: pass e.g. --max-failures 10%%, or a count", s)
		}
		m.percent, m.isPercent = v, true
		return m, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return m, fmt.Errorf("--max-failures %q is not a count or a percentage: pass e.g. --max-failures 5 or --max-failures 10%%", s)
	}
	m.count = v
	return m, nil
}

// Limit is how many of total jobs may fail before the run stops starting
// new ones; -1 is never.
func (m MaxFailures) Limit(total int) int {
	switch {
	case !m.set:
		return -1
	case m.isPercent:
		return int(math.Floor(float64(total) * m.percent / 100))
	}
	return m.count
}

// String is the flag as given, for messages.
func (m MaxFailures) String() string { return m.flag }

// ErrStopped is what Start returns once too many jobs failed.
var ErrStopped = errors.New("too many clusters failed")

// Pool runs the jobs of one run.
type Pool struct {
	slots   *semaphore.Weighted
	limit   int
	flag    string
	failed  atomic.Int64
	stopped atomic.Bool
	g       errgroup.Group
	mu      sync.Mutex
	last    chan struct{} // closed once the last job given took its turn
}

// New is a pool of parallel slots that stops starting jobs once more than
// limit failed (limit < 0: never); flag is --max-failures as given, for
// the message.
func New(parallel, limit int, flag string) *Pool {
	return &Pool{slots: semaphore.NewWeighted(int64(max(parallel, 1))), limit: limit, flag: flag}
}

// Start takes a job's slot for its costly part; release gives it back. It
// returns ErrStopped (wrapped in the reason) once too many jobs failed,
// and the context's error when the run ended while the job waited.
type Start func(ctx context.Context) (release func(), err error)

// Go runs a job. The job runs at once (what it does before start, and
// after release, is not bounded); its slot comes through start, in the
// order the jobs were given, so a run with one slot goes down the list.
func (p *Pool) Go(job func(start Start)) {
	p.mu.Lock()
	prev, mine := p.last, make(chan struct{})
	p.last = mine
	p.mu.Unlock()
	var once sync.Once
	taken := func() { once.Do(func() { close(mine) }) }
	p.g.Go(func() error {
		// A job that never asks for its slot passes its turn on.
		defer taken()
		job(func(ctx context.Context) (func(), error) {
			defer taken()
			if prev != nil {
				select {
				case <-prev:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return p.take(ctx)
		})
		return nil
	})
}

func (p *Pool) take(ctx context.Context) (func(), error) {
	if err := p.refuse(); err != nil {
		return nil, err
	}
	if err := p.slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	// Failures may have come while this job waited for its slot.
	if err := p.refuse(); err != nil {
		p.slots.Release(1)
		return nil, err
	}
	return func() { p.slots.Release(1) }, nil
}

func (p *Pool) refuse() error {
	if !p.stopped.Load() {
		return nil
	}
	return fmt.Errorf("%w: not started, since %d clusters failed (more than --max-failures %s); run again to resume", ErrStopped, p.failed.Load(), p.flag)
}

// Fail counts a failed job.
func (p *Pool) Fail() {
	if n := p.failed.Add(1); p.limit >= 0 && int(n) > p.limit {
		p.stopped.Store(true)
	}
}

// Stopped tells whether the run stopped starting jobs.
func (p *Pool) Stopped() bool { return p.stopped.Load() }

// Wait waits for every job.
func (p *Pool) Wait() { _ = p.g.Wait() }
