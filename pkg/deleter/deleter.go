// Package deleter applies one change (delete, disable, enable, ...) to a
// list of objects one by one, printing each outcome, and fails with the
// one partial-failure line every plugin uses:
//
//	deleted 2 of 3; failed: token-c: <why>
//
// so a user sees what happened to each object whatever the plugin.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package deleter

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// Target is one object; UID, when set, is sent as a precondition so an
// object replaced since it was listed is left alone.
type Target struct {
	Name    string // as printed: "kind/name" or the name the user gave
	Key     string // what Do needs to find it (name, ID); Name when empty
	UID     types.UID
	Skipped string // when set, the object is not touched and this says why
}

// DefaultParallel is how many changes a plugin keeps in flight unless told
// otherwise (client-go's rate limiter and its retries on 429 still pace the
// requests).
const DefaultParallel = 16

// Deleter runs Do on every target.
type Deleter struct {
	Out    io.Writer
	Verb   string // past tense for outcomes: "deleted", "disabled"
	DryRun string // dryrun.None, Client or Server
	// Parallel is how many changes are in flight at once; below 2 they
	// run one after another. Outcomes print in target order either way.
	Parallel int
	// Do acts on one target with opts (dry run and precondition set). An
	// error should already be the one explained line for that object.
	Do func(ctx context.Context, t Target, opts metav1.DeleteOptions) error
}

// Result counts what happened.
type Result struct {
	Done, Skipped int
	Failed        []Failure
}

// Failure is one target that failed and why.
type Failure struct {
	Target Target
	Err    error
}

// Run acts on targets, up to Parallel at once, and prints each outcome in
// target order whatever order the changes finish in. A failure does not
// stop the others; Run stops starting new ones only when ctx ends, and
// then says how far it got.
func (d Deleter) Run(ctx context.Context, targets []Target) (Result, error) {
	suffix := dryrun.Suffix(d.DryRun)
	out := ordered{out: d.Out, targets: targets, outcomes: make([]outcome, len(targets))}
	var g errgroup.Group
	g.SetLimit(max(d.Parallel, 1))
	for i, t := range targets {
		if t.Skipped != "" {
			out.finish(i, fmt.Sprintf("%s skipped: %s\n", t.Name, t.Skipped), nil)
			continue
		}
		if d.DryRun == dryrun.Client {
			out.finish(i, fmt.Sprintf("%s %s%s\n", t.Name, d.Verb, suffix), nil)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// Go waited for a slot: nothing starts once the user has
			// interrupted, and a target never started stays unfinished.
			if ctx.Err() != nil {
				return nil
			}
			opts := metav1.DeleteOptions{DryRun: dryrun.Request(d.DryRun)}
			if t.UID != "" {
				uid := t.UID
				opts.Preconditions = &metav1.Preconditions{UID: &uid}
			}
			if err := d.Do(ctx, t, opts); err != nil {
				out.finish(i, "", err)
				return nil
			}
			out.finish(i, fmt.Sprintf("%s %s%s\n", t.Name, d.Verb, suffix), nil)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through out, never through Wait
	r, all := out.result()
	if !all {
		return r, fmt.Errorf("interrupted: %s %d of %d: %w", d.Verb, r.Done, len(targets), ctx.Err())
	}
	return r, r.Err(d.Verb, len(targets))
}

// outcome is one target's printed line and error, once it has finished.
type outcome struct {
	line     string
	err      error
	finished bool
}

// ordered prints outcomes in target order: a finished target's line waits
// until every target before it has finished too.
type ordered struct {
	mu       sync.Mutex
	out      io.Writer
	targets  []Target
	outcomes []outcome
	next     int
	r        Result
}

func (o *ordered) finish(i int, line string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes[i] = outcome{line, err, true}
	for o.next < len(o.targets) && o.outcomes[o.next].finished {
		o.count(o.next)
		o.next++
	}
}

func (o *ordered) count(i int) {
	c, t := o.outcomes[i], o.targets[i]
	switch {
	case c.err != nil:
		o.r.Failed = append(o.r.Failed, Failure{t, c.err})
	case t.Skipped != "":
		o.r.Skipped++
	default:
		o.r.Done++
	}
	if c.line != "" {
		fmt.Fprint(o.out, c.line)
	}
}

// result is the tally once nothing is in flight, and whether every target
// finished. After an interruption, targets that finished behind one that
// never started still count.
func (o *ordered) result() (Result, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	all := o.next == len(o.targets)
	for i := o.next; i < len(o.targets); i++ {
		if o.outcomes[i].finished {
			o.count(i)
		}
	}
	o.next = len(o.targets)
	return o.r, all
}

// Err is the one line for a run with failures, nil without: a single
// target's own error as it is, else "deleted N of M; failed: a: why; b: why".
func (r Result) Err(verb string, total int) error {
	switch {
	case len(r.Failed) == 0:
		return nil
	case total == 1:
		return r.Failed[0].Err
	}
	parts := make([]string, 0, min(len(r.Failed), maxNamedFailures)+1)
	for _, f := range r.Failed[:min(len(r.Failed), maxNamedFailures)] {
		parts = append(parts, f.Target.Name+": "+f.Err.Error())
	}
	if more := len(r.Failed) - maxNamedFailures; more > 0 {
		// A prune of 100,000 that fails everywhere must still be one line.
		parts = append(parts, fmt.Sprintf("and %d more (each printed above)", more))
	}
	return &PartialError{msg: fmt.Sprintf("%s %d of %d; failed: %s", verb, r.Done, total, strings.Join(parts, "; ")), first: r.Failed[0].Err}
}

// maxNamedFailures is how many failures the partial-failure line names.
const maxNamedFailures = 10

// PartialError is a run where some targets failed; Unwrap gives the
// first failure.
type PartialError struct {
	msg   string
	first error
}

func (e *PartialError) Error() string { return e.msg }
func (e *PartialError) Unwrap() error { return e.first }
