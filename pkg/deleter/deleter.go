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

// Deleter runs Do on every target.
type Deleter struct {
	Out    io.Writer
	Verb   string // past tense for outcomes: "deleted", "disabled"
	DryRun string // dryrun.None, Client or Server
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

// Run acts on targets in order. It stops early only when ctx ends, and
// says how far it got.
func (d Deleter) Run(ctx context.Context, targets []Target) (Result, error) {
	var r Result
	suffix := dryrun.Suffix(d.DryRun)
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("interrupted: %s %d of %d: %w", d.Verb, r.Done, len(targets), err)
		}
		if t.Skipped != "" {
			r.Skipped++
			fmt.Fprintf(d.Out, "%s skipped: %s\n", t.Name, t.Skipped)
			continue
		}
		if d.DryRun != dryrun.Client {
			opts := metav1.DeleteOptions{DryRun: dryrun.Request(d.DryRun)}
			if t.UID != "" {
				uid := t.UID
				opts.Preconditions = &metav1.Preconditions{UID: &uid}
			}
			if err := d.Do(ctx, t, opts); err != nil {
				r.Failed = append(r.Failed, Failure{t, err})
				continue
			}
		}
		r.Done++
		fmt.Fprintf(d.Out, "%s %s%s\n", t.Name, d.Verb, suffix)
	}
	return r, r.Err(d.Verb, len(targets))
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
