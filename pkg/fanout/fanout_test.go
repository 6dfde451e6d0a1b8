package fanout

import (
	"context"
	"errors"
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

// With one slot, jobs run one after the other; once more than the limit
// failed, the jobs still waiting are not started, with a reason that
// names the flag and says a re-run resumes.
func TestPoolStopsStartingJobsOnceTooManyFailed(t *testing.T) {
	p := New(1, 1, "1")
	var mu sync.Mutex
	var ran []int
	notStarted := map[int]string{}
	start := make(chan struct{})
	for i := range 6 {
		p.Go(func() {
			if i > 0 {
				<-start
			}
			release, err := p.Start(context.Background())
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
			if i == 0 {
				close(start)
			}
			p.Fail()
			release()
		})
	}
	p.Wait()
	// Every job fails: the second failure is more than 1, so no job
	// starts after the second, whichever of 1..5 got the slot first.
	if len(ran) != 2 || ran[0] != 0 || len(notStarted) != 4 || !p.Stopped() {
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
		p.Go(func() {
			release, err := p.Start(context.Background())
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
	release, err := p.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the run's end", err)
	}
}
