package deleter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

func TestRunCarriesOnAndCountsInOneLine(t *testing.T) {
	var out bytes.Buffer
	var seen []metav1.DeleteOptions
	boom := errors.New(`token "b" not found`)
	d := Deleter{Out: &out, Verb: "deleted", DryRun: dryrun.None, Do: func(_ context.Context, tg Target, o metav1.DeleteOptions) error {
		seen = append(seen, o)
		if tg.Name == "token/b" {
			return boom
		}
		return nil
	}}
	r, err := d.Run(context.Background(), []Target{{Name: "token/a", UID: "u1"}, {Name: "token/b"}, {Name: "token/c", Skipped: "it authenticates this request"}, {Name: "token/d"}})
	if err == nil || err.Error() != `deleted 2 of 4; failed: token/b: token "b" not found` || !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if want := "token/a deleted\ntoken/c skipped: it authenticates this request\ntoken/d deleted\n"; out.String() != want {
		t.Errorf("out = %q, want %q", out.String(), want)
	}
	if r.Done != 2 || r.Skipped != 1 || len(r.Failed) != 1 || len(seen) != 3 || *seen[0].Preconditions.UID != "u1" || seen[1].Preconditions != nil {
		t.Errorf("result %+v, options %+v", r, seen)
	}
}

func TestRunSingleFailureIsItsOwnLine(t *testing.T) {
	boom := errors.New("forbidden")
	d := Deleter{Out: &bytes.Buffer{}, Verb: "deleted", Do: func(context.Context, Target, metav1.DeleteOptions) error { return boom }}
	if _, err := d.Run(context.Background(), []Target{{Name: "x"}}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunClientDryRunSendsNothing(t *testing.T) {
	var out bytes.Buffer
	d := Deleter{Out: &out, Verb: "deleted", DryRun: dryrun.Client, Do: func(context.Context, Target, metav1.DeleteOptions) error {
		t.Fatal("client dry run sent a request")
		return nil
	}}
	if _, err := d.Run(context.Background(), []Target{{Name: "token/a"}}); err != nil || out.String() != "token/a deleted (dry run)\n" {
		t.Fatalf("%v %q", err, out.String())
	}
}

func TestRunServerDryRunAsksTheServer(t *testing.T) {
	var got metav1.DeleteOptions
	d := Deleter{Out: &bytes.Buffer{}, Verb: "deleted", DryRun: dryrun.Server, Do: func(_ context.Context, _ Target, o metav1.DeleteOptions) error { got = o; return nil }}
	if _, err := d.Run(context.Background(), []Target{{Name: "a"}}); err != nil || len(got.DryRun) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
}

func TestRunStopsWhenCancelledAndSaysHowFar(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := Deleter{Out: &bytes.Buffer{}, Verb: "deleted", Do: func(context.Context, Target, metav1.DeleteOptions) error { cancel(); return nil }}
	_, err := d.Run(ctx, []Target{{Name: "a"}, {Name: "b"}})
	if err == nil || err.Error() != "interrupted: deleted 1 of 2: context canceled" || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunInParallelBoundsInFlightAndPrintsInOrder(t *testing.T) {
	var out bytes.Buffer
	var inFlight, peak atomic.Int32
	d := Deleter{Out: &out, Verb: "deleted", Parallel: 4, Do: func(_ context.Context, tg Target, o metav1.DeleteOptions) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		// Later targets finish first.
		i, err := strconv.Atoi(strings.TrimPrefix(tg.Name, "t"))
		if err != nil {
			return err
		}
		time.Sleep(time.Duration(10-i) * 3 * time.Millisecond)
		if tg.Name == "t3" {
			return errors.New("boom")
		}
		if o.Preconditions == nil || *o.Preconditions.UID != types.UID("u-"+tg.Name) {
			return errors.New("no precondition")
		}
		return nil
	}}
	var targets []Target
	var want bytes.Buffer
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("t%d", i)
		targets = append(targets, Target{Name: name, UID: types.UID("u-" + name)})
		if i != 3 {
			fmt.Fprintf(&want, "%s deleted\n", name)
		}
	}
	r, err := d.Run(context.Background(), targets)
	if err == nil || err.Error() != "deleted 9 of 10; failed: t3: boom" {
		t.Fatalf("err = %v", err)
	}
	if out.String() != want.String() || r.Done != 9 || peak.Load() > 4 || peak.Load() < 2 {
		t.Errorf("out %q, result %+v, peak %d", out.String(), r, peak.Load())
	}
}
