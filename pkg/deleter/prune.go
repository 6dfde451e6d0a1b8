package deleter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// Progress is what a prune reports to (pkg/progress.Reporter).
type Progress interface {
	// Listed is how many targets are known; complete when the list ended.
	Listed(total int, complete bool)
	// Done counts n more targets finished, whatever the outcome.
	Done(n int)
	// Printf writes a line of its own (a skip, a failure).
	Printf(format string, args ...any)
}

// Pruner deletes a selection too large to print object by object: the
// targets arrive while the list is still paging and are deleted at once,
// Parallel at a time, so memory holds names and UIDs, never the objects.
// It is safe to run again after an interruption: a target already gone
// counts as gone, not failed, and one replaced since it was listed (UID
// precondition) is skipped.
type Pruner struct {
	Deleter
	Parallel int
	// Progress, when set, is told as targets are listed and finished.
	Progress Progress
	// Names, when set, gets each deleted target's Name on a line (-o name).
	Names io.Writer
	// Summary gets the closing summary line.
	Summary io.Writer
	// Explain renders a target's failure for its line (e.g. with the
	// user's connection flags in the hint it suggests); nil is err.Error().
	Explain func(error) string
	// Retries is how often a delete the server throttled (429, after
	// client-go's own retries on Retry-After) is tried again. Measured
	// (3,000 v3 token deletes through kube-apiserver's max-in-flight
	// limiter, 1 mutating request at a time): every 429 carried
	// Retry-After, yet 10 (--parallel 16) and 136 (--parallel 64) deletes
	// still came back 429 after client-go's ten retries, each a failed
	// token without this layer; under priority and fairness with two seats
	// the server queued instead (1 and 0 429s on the wire, none past
	// client-go).
	Retries int
	// Now and Sleep are the clock, injected by tests; nil means real.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetries is how often a throttled delete is retried by Pruner.
const DefaultRetries = 8

// maxBackoff caps the pause after a 429 without a usable Retry-After.
const maxBackoff = 30 * time.Second

// Summary counts what a prune did.
type Summary struct {
	Listed   int
	Done     int
	Gone     int // already deleted (by an earlier run, or someone else)
	Replaced int // recreated under the same name since listed: left alone
	Skipped  int // skipped before any request (Target.Skipped)
	Failed   []Failure
	Elapsed  time.Duration
}

// Lister lists the targets page by page: emit for each target of a page,
// then endPage once the page is listed, last when no page follows. A
// lister that never calls endPage has its targets taken when it returns.
type Lister func(emit func(Target), endPage func(last bool)) error

// Prune runs list, which emits targets as it pages, and deletes them. A
// page's deletes start once the whole page is listed and counted, so the
// progress a prune reports does not depend on how the list and the first
// deletes interleave (one page: the total is final before any delete). It
// returns the partial-failure error of Run when any failed, the list's
// error when listing failed, and an "interrupted" error wrapping the
// context's when ctx ended; the summary is printed in every case.
func (p Pruner) Prune(ctx context.Context, list Lister) (Summary, error) {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Parallel < 1 {
		p.Parallel = 1
	}
	start := p.Now()
	q := newQueue()
	var (
		mu  sync.Mutex
		s   Summary
		g   = &gate{now: p.Now, sleep: p.Sleep}
		wg  sync.WaitGroup
		out = p.Names
	)
	finished := func(f func()) {
		mu.Lock()
		f()
		mu.Unlock()
		if p.Progress != nil {
			p.Progress.Done(1)
		}
	}
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		p.printf(format, args...)
	}
	suffix := dryrun.Suffix(p.DryRun)
	for range p.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := q.pop()
				if !ok || ctx.Err() != nil {
					return
				}
				if t.Skipped != "" {
					printf("%s skipped: %s\n", t.Name, t.Skipped)
					finished(func() { s.Skipped++ })
					continue
				}
				err := p.deleteOne(ctx, g, t)
				switch {
				case err == nil:
					finished(func() {
						s.Done++
						if out != nil {
							fmt.Fprintln(out, t.Name)
						}
					})
				case ctx.Err() != nil && errors.Is(err, ctx.Err()):
					return // interrupted mid-request: not counted, a re-run sees it
				case apierrors.IsNotFound(err):
					finished(func() { s.Gone++ })
				case t.UID != "" && apierrors.IsConflict(err):
					printf("%s skipped: replaced since it was listed (another object has its name now)\n", t.Name)
					finished(func() { s.Replaced++ })
				default:
					printf("%s failed: %s\n", t.Name, p.explain(err))
					finished(func() { s.Failed = append(s.Failed, Failure{t, err}) })
				}
			}
		}()
	}
	listed := 0
	var page []Target
	endPage := func(last bool) {
		listed += len(page)
		if p.Progress != nil {
			p.Progress.Listed(listed, last)
		}
		q.push(page...)
		page = nil
	}
	listErr := list(func(t Target) { page = append(page, t) }, endPage)
	if len(page) > 0 {
		endPage(false)
	}
	q.close()
	if p.Progress != nil && listErr == nil {
		p.Progress.Listed(listed, true)
	}
	wg.Wait()
	s.Listed = listed
	s.Elapsed = p.Now().Sub(start)
	if f, ok := p.Progress.(interface{ Finish() }); ok {
		f.Finish()
	}
	if p.Summary != nil && (listed > 0 || ctx.Err() != nil || listErr != nil) {
		fmt.Fprintln(p.Summary, s.Line(p.Verb)+suffix)
		if ctx.Err() != nil {
			// Said here: the command line stays quiet about a cancellation.
			fmt.Fprintln(p.Summary, "interrupted: run the same command again to finish (it selects only what is left)")
		}
	}
	switch {
	case ctx.Err() != nil:
		return s, fmt.Errorf("interrupted: %s %d of %d listed; run the same command again to finish (it selects only what is left): %w", p.Verb, s.Done, listed, ctx.Err())
	case listErr != nil:
		if err := s.Err(p.Verb); err != nil {
			return s, fmt.Errorf("%w; listing stopped early: %w", err, listErr)
		}
		return s, listErr
	}
	return s, s.Err(p.Verb)
}

func (p Pruner) explain(err error) string {
	if p.Explain != nil {
		return p.Explain(err)
	}
	return err.Error()
}

// printf writes a line above the progress bar, or to Summary without one.
func (p Pruner) printf(format string, args ...any) {
	switch {
	case p.Progress != nil:
		p.Progress.Printf(format, args...)
	case p.Summary != nil:
		fmt.Fprintf(p.Summary, format, args...)
	}
}

// deleteOne deletes t, waiting out the server's throttling: every worker
// pauses after a 429, as the server asks (Retry-After) or with doubling
// backoff, so the server is not hammered by the others meanwhile.
func (p Pruner) deleteOne(ctx context.Context, g *gate, t Target) error {
	opts := metav1.DeleteOptions{DryRun: dryrun.Request(p.DryRun)}
	if t.UID != "" {
		uid := t.UID
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		if err := g.wait(ctx); err != nil {
			return err
		}
		err := p.Do(ctx, t, opts)
		if err == nil || !apierrors.IsTooManyRequests(err) || attempt >= p.Retries {
			return err
		}
		d := backoff
		if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
			d = time.Duration(s) * time.Second
		}
		g.pause(d)
		backoff = min(2*backoff, maxBackoff)
	}
}

// Line is the closing summary: "deleted 49998 of 50000 listed in 1m2s
// (806/s); 1 already gone, 1 skipped, 0 failed".
func (s Summary) Line(verb string) string {
	rate := ""
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Done > 0 {
		rate = fmt.Sprintf(" (%.0f/s)", float64(s.Done)/secs)
	}
	return fmt.Sprintf("%s %d of %d listed in %s%s; %d already gone, %d skipped, %d failed",
		verb, s.Done, s.Listed, roundDuration(s.Elapsed), rate, s.Gone, s.Skipped+s.Replaced, len(s.Failed))
}

// Err is Run's partial-failure line for the prune, nil without failures.
func (s Summary) Err(verb string) error {
	// Deletes finish in any order; the line names failures by name.
	failed := slices.SortedFunc(slices.Values(s.Failed), func(a, b Failure) int { return strings.Compare(a.Target.Name, b.Target.Name) })
	r := Result{Done: s.Done + s.Gone, Skipped: s.Skipped + s.Replaced, Failed: failed}
	return r.Err(verb, s.Listed)
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gate holds every worker back until a throttling pause is over.
type gate struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	mu    sync.Mutex
	until time.Time
}

func (g *gate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.now().Add(d); u.After(g.until) {
		g.until = u
	}
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	d := g.until.Sub(g.now())
	g.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	return g.sleep(ctx, d)
}

// queue hands listed targets to the workers; it never blocks the list, so
// a slow delete cannot make the list's continue token expire.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []Target
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(ts ...Target) {
	q.mu.Lock()
	q.items = append(q.items, ts...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *queue) pop() (Target, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return Target{}, false
	}
	t := q.items[0]
	q.items[0] = Target{}
	q.items = q.items[1:]
	return t, true
}
