package fanout

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestParseMaxFailuresReadsCountsAndPercentages(t *testing.T) {
	for _, tc := range []struct {
		in    string
		total int
		limit int
		err   string
	}{
		{"", 100, -1, ""},
		{"0", 100, 0, ""},
		{"5", 100, 5, ""},
		{"10%", 100, 10, ""},
		{"10%", 15, 1, ""},
		{"0%", 15, 0, ""},
		{"100%", 7, 7, ""},
		{"-1", 0, 0, `--max-failures "-1" is not a count or a percentage: pass e.g. --max-failures 5 or --max-failures 10%`},
		{"many", 0, 0, `--max-failures "many" is not a count or a percentage: pass e.g. --max-failures 5 or --max-failures 10%`},
		{"120%", 0, 0, `--max-failures "120%" is not a percentage from 0% to 100%: pass e.g. --max-failures 10%, or a count`},
	} {
		m, err := ParseMaxFailures(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Limit(tc.total); got != tc.limit {
			t.Errorf("%q of %d: limit %d, want %d", tc.in, tc.total, got, tc.limit)
		}
	}
}

// With one slot, jobs run one after the other in the order given; once
// more than the limit failed, the jobs still waiting are not started,
// with a reason that names the flag and says a re-run resumes.
func TestPoolStopsStartingJobsOnceTooManyFailed(t *testing.T) {
	p := New(1, 1, "1")
	var mu sync.Mutex
	var ran []int
	notStarted := map[int]string{}
	for i := range 6 {
		p.Go(func(start Start) {
			release, err := start(context.Background())
			if err != nil {
				if !errors.Is(err, ErrStopped) {
					t.Errorf("job %d: %v", i, err)
				}
				mu.Lock()
				notStarted[i] = err.Error()
				mu.Unlock()
				return
			}
			mu.Lock()
			ran = append(ran, i)
			mu.Unlock()
			p.Fail()
			release()
		})
	}
	p.Wait()
	// Every job fails: the second failure is more than 1, so jobs 2..5
	// are not started.
	if !slices.Equal(ran, []int{0, 1}) || len(notStarted) != 4 || !p.Stopped() {
		t.Fatalf("ran %v, not started %v", ran, notStarted)
	}
	for _, msg := range notStarted {
		if want := "too many clusters failed: not started, since 2 clusters failed (more than --max-failures 1); run again to resume"; msg != want {
			t.Fatalf("reason %q, want %q", msg, want)
		}
	}
}

func TestPoolWithoutALimitRunsEveryJobAndBoundsTheSlots(t *testing.T) {
	p := New(2, -1, "")
	var mu sync.Mutex
	in, most, done := 0, 0, 0
	for range 20 {
		p.Go(func(start Start) {
			release, err := start(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			in++
			most = max(most, in)
			mu.Unlock()
			p.Fail()
			mu.Lock()
			in--
			done++
			mu.Unlock()
			release()
		})
	}
	p.Wait()
	if done != 20 || most > 2 || p.Stopped() {
		t.Fatalf("done %d, at most %d at once, stopped %v", done, most, p.Stopped())
	}
}

func TestPoolStartEndsWithTheRun(t *testing.T) {
	p := New(1, -1, "")
	held := make(chan func())
	p.Go(func(start Start) {
		release, err := start(context.Background())
		if err != nil {
			t.Error(err)
		}
		held <- release
	})
	release := <-held
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	p.Go(func(start Start) { _, err = start(ctx) })
	p.Go(func(Start) {}) // a job that never asks passes its turn on
	p.Go(func(start Start) {
		if r, err := start(context.Background()); err == nil {
			r()
		}
	})
	release()
	p.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the run's end", err)
	}
}
