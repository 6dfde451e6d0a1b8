package deleter

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// DefaultParallel is how many changes RunParallel keeps in flight unless
// told otherwise (client-go's rate limiter and its retries on 429 still
// pace the requests).
const DefaultParallel = 16

// RunParallel is Run with up to n changes in flight. Outcomes print in
// target order, as Run prints them, whatever order the changes finish
// in; the failure line is Run's. n < 2 is Run.
func (d Deleter) RunParallel(ctx context.Context, targets []Target, n int) (Result, error) {
	if n < 2 {
		return d.Run(ctx, targets)
	}
	suffix := dryrun.Suffix(d.DryRun)
	lines := make([]string, len(targets))
	errs := make([]error, len(targets))
	finished := make([]bool, len(targets))
	var mu sync.Mutex
	next := 0
	var r Result
	// finish records target i's outcome and prints every outcome that is
	// now next in order.
	finish := func(i int, line string, err error) {
		mu.Lock()
		defer mu.Unlock()
		lines[i], errs[i], finished[i] = line, err, true
		for next < len(targets) && finished[next] {
			switch {
			case errs[next] != nil:
				r.Failed = append(r.Failed, Failure{targets[next], errs[next]})
			case targets[next].Skipped != "":
				r.Skipped++
			default:
				r.Done++
			}
			if lines[next] != "" {
				fmt.Fprint(d.Out, lines[next])
			}
			next++
		}
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	started := 0
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		if t.Skipped != "" {
			finish(i, fmt.Sprintf("%s skipped: %s\n", t.Name, t.Skipped), nil)
			started++
			continue
		}
		if d.DryRun == dryrun.Client {
			finish(i, fmt.Sprintf("%s %s%s\n", t.Name, d.Verb, suffix), nil)
			started++
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		started++
		wg.Add(1)
		go func(i int, t Target) {
			defer wg.Done()
			defer func() { <-sem }()
			opts := metav1.DeleteOptions{DryRun: dryrun.Request(d.DryRun)}
			if t.UID != "" {
				uid := t.UID
				opts.Preconditions = &metav1.Preconditions{UID: &uid}
			}
			if err := d.Do(ctx, t, opts); err != nil {
				finish(i, "", err)
				return
			}
			finish(i, fmt.Sprintf("%s %s%s\n", t.Name, d.Verb, suffix), nil)
		}(i, t)
	}
	wg.Wait()
	if started < len(targets) {
		// Interrupted: what finished out of order is counted too.
		mu.Lock()
		for i := next; i < len(targets); i++ {
			if finished[i] && errs[i] == nil && targets[i].Skipped == "" {
				r.Done++
				fmt.Fprint(d.Out, lines[i])
			}
		}
		mu.Unlock()
		return r, fmt.Errorf("interrupted: %s %d of %d: %w", d.Verb, r.Done, len(targets), ctx.Err())
	}
	return r, r.Err(d.Verb, len(targets))
}
