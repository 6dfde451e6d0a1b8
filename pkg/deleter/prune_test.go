package deleter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var tokens = schema.GroupResource{Group: "management.cattle.io", Resource: "tokens"}

// fakeProgress records what a prune reported.
type fakeProgress struct {
	mu       sync.Mutex
	listed   []int
	complete bool
	done     int
	lines    []string
	finished bool
}

func (p *fakeProgress) Listed(n int, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listed, p.complete = append(p.listed, n), complete
}
func (p *fakeProgress) Done(n int) { p.mu.Lock(); p.done += n; p.mu.Unlock() }
func (p *fakeProgress) Printf(f string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, fmt.Sprintf(f, a...))
}
func (p *fakeProgress) Finish() { p.finished = true }

// targets lists n targets in one page.
func targets(n int) Lister {
	return func(emit func(Target), endPage func(bool)) error {
		for i := range n {
			name := fmt.Sprintf("t%d", i)
			emit(Target{Name: name, Key: name, UID: types.UID("u-" + name)})
		}
		endPage(true)
		return nil
	}
}

func TestPruneCountsGoneAndReplacedApartFromFailures(t *testing.T) {
	var summary, names bytes.Buffer
	p := &fakeProgress{}
	pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(_ context.Context, tg Target, o metav1.DeleteOptions) error {
		if o.Preconditions == nil || string(*o.Preconditions.UID) != "u-"+tg.Key {
			return errors.New("no UID precondition")
		}
		switch tg.Key {
		case "t1":
			return apierrors.NewNotFound(tokens, "t1")
		case "t2":
			return apierrors.NewConflict(tokens, "t2", errors.New("Precondition failed: UID in precondition: u-t2, UID in object meta: other"))
		case "t3":
			return apierrors.NewForbidden(tokens, "t3", errors.New("no"))
		}
		return nil
	}}, Parallel: 3, Progress: p, Names: &names, Summary: &summary, Now: func() time.Time { return time.Unix(0, 0) }}
	s, err := pr.Prune(context.Background(), func(emit func(Target), endPage func(bool)) error {
		if err := targets(6)(emit, func(bool) { endPage(false) }); err != nil {
			return err
		}
		emit(Target{Name: "t6", Key: "t6", Skipped: "it authenticates this request"})
		endPage(true)
		return nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), "deleted 4 of 7; failed: t3: ") {
		t.Fatalf("err = %v", err)
	}
	if s.Done != 3 || s.Gone != 1 || s.Replaced != 1 || s.Skipped != 1 || len(s.Failed) != 1 || s.Listed != 7 {
		t.Errorf("summary %+v", s)
	}
	if want := "deleted 3 of 7 listed in 0s; 1 already gone, 2 skipped, 1 failed\n"; summary.String() != want {
		t.Errorf("summary line %q, want %q", summary.String(), want)
	}
	for _, n := range []string{"t0\n", "t4\n", "t5\n"} {
		if !strings.Contains(names.String(), n) {
			t.Errorf("names %q lack %q", names.String(), n)
		}
	}
	joined := strings.Join(p.lines, "")
	for _, want := range []string{"t2 skipped: replaced since it was listed", "t3 failed: ", "t6 skipped: it authenticates this request"} {
		if !strings.Contains(joined, want) {
			t.Errorf("lines %q lack %q", joined, want)
		}
	}
	if p.done != 7 || !p.complete || p.listed[len(p.listed)-1] != 7 || !p.finished {
		t.Errorf("progress %+v", p)
	}
}

func TestPruneWaitsOutThrottlingForEveryWorker(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	var slept []time.Duration
	pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(_ context.Context, tg Target, _ metav1.DeleteOptions) error {
		mu.Lock()
		defer mu.Unlock()
		calls[tg.Key]++
		if tg.Key == "t0" && calls["t0"] <= 2 {
			// client-go gave up (or there was no Retry-After): ours.
			return apierrors.NewTooManyRequests("slow down", 3)
		}
		return nil
	}}, Parallel: 1, Retries: DefaultRetries, Summary: &bytes.Buffer{},
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		}}
	s, err := pr.Prune(context.Background(), targets(3))
	if err != nil || s.Done != 3 || calls["t0"] != 3 {
		t.Fatalf("err %v, summary %+v, calls %v", err, s, calls)
	}
	if len(slept) < 2 || slept[0] < 2900*time.Millisecond || slept[0] > 3*time.Second {
		t.Errorf("slept %v, want about the server's 3s Retry-After each time", slept)
	}
}

func TestPruneGivesUpOnThrottlingAfterItsRetries(t *testing.T) {
	pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(context.Context, Target, metav1.DeleteOptions) error {
		return apierrors.NewTooManyRequests("slow down", 0)
	}}, Parallel: 2, Retries: 2, Summary: &bytes.Buffer{}, Sleep: func(context.Context, time.Duration) error { return nil }}
	s, err := pr.Prune(context.Background(), targets(2))
	if err == nil || len(s.Failed) != 2 || !apierrors.IsTooManyRequests(err) {
		t.Fatalf("err %v, summary %+v", err, s)
	}
}

func TestPruneStopsWhenInterruptedAndSaysHowToFinish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var summary bytes.Buffer
	var mu sync.Mutex
	n := 0
	pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(ctx context.Context, _ Target, _ metav1.DeleteOptions) error {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 5 {
			cancel()
			return ctx.Err()
		}
		return nil
	}}, Parallel: 1, Summary: &summary}
	s, err := pr.Prune(ctx, targets(100))
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted: deleted 4 of 100 listed; run the same command again") {
		t.Fatalf("err = %v", err)
	}
	if s.Done != 4 || !strings.HasPrefix(summary.String(), "deleted 4 of 100 listed") || !strings.Contains(summary.String(), "\ninterrupted: run the same command again") {
		t.Errorf("summary %+v %q", s, summary.String())
	}
}

func TestPruneReportsAListThatBrokeOff(t *testing.T) {
	broke := errors.New("connection reset")
	pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(context.Context, Target, metav1.DeleteOptions) error { return nil }}, Parallel: 4}
	s, err := pr.Prune(context.Background(), func(emit func(Target), _ func(bool)) error {
		for i := range 10 {
			emit(Target{Name: fmt.Sprint(i)})
		}
		return broke
	})
	if !errors.Is(err, broke) || s.Done != 10 {
		t.Fatalf("err %v, summary %+v: what was listed is still deleted, then the list's error", err, s)
	}
}

func TestPartialFailureLineNamesTenFailures(t *testing.T) {
	var r Result
	for i := range 25 {
		r.Failed = append(r.Failed, Failure{Target{Name: fmt.Sprintf("t%d", i)}, errors.New("no")})
	}
	err := r.Err("deleted", 30)
	if !strings.HasSuffix(err.Error(), "t9: no; and 15 more (each printed above)") || strings.Contains(err.Error(), "t10:") {
		t.Errorf("err = %v", err)
	}
}

// A page's deletes start only once the whole page is listed and counted:
// each delete sees at least its page's total, and with one page the
// final one.
func TestPruneStartsAPagesDeletesOnceThePageIsListed(t *testing.T) {
	for _, pages := range [][]int{{5}, {3, 4, 2}} {
		p := &fakeProgress{}
		var mu sync.Mutex
		seen := map[int]string{} // target -> the progress its delete saw
		pr := Pruner{Deleter: Deleter{Verb: "deleted", Do: func(_ context.Context, tg Target, _ metav1.DeleteOptions) error {
			p.mu.Lock()
			got := fmt.Sprintf("%d/%v", p.listed[len(p.listed)-1], p.complete)
			p.mu.Unlock()
			var i int
			_, _ = fmt.Sscan(tg.Key, &i)
			mu.Lock()
			seen[i] = got
			mu.Unlock()
			return nil
		}}, Parallel: 4, Progress: p}
		want := map[int]string{}
		_, err := pr.Prune(context.Background(), func(emit func(Target), endPage func(bool)) error {
			n := 0
			for pi, size := range pages {
				end, last := n+size, pi == len(pages)-1
				for ; n < end; n++ {
					want[n] = fmt.Sprintf("%d/%v", end, last)
					emit(Target{Name: fmt.Sprint(n), Key: fmt.Sprint(n)})
				}
				endPage(last)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			var gotN, wantN int
			var gotLast, wantLast bool
			_, _ = fmt.Sscanf(seen[i], "%d/%t", &gotN, &gotLast)
			_, _ = fmt.Sscanf(w, "%d/%t", &wantN, &wantLast)
			if gotN < wantN || (wantLast && !gotLast) {
				t.Errorf("pages %v: target %d deleted with progress %s, want at least %s (its page listed)", pages, i, seen[i], w)
			}
		}
	}
}
