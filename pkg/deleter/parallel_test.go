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
)

func TestRunParallelBoundsInFlightAndPrintsInOrder(t *testing.T) {
	var out bytes.Buffer
	var inFlight, peak atomic.Int32
	d := Deleter{Out: &out, Verb: "deleted", Do: func(_ context.Context, tg Target, o metav1.DeleteOptions) error {
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
	r, err := d.RunParallel(context.Background(), targets, 4)
	if err == nil || err.Error() != "deleted 9 of 10; failed: t3: boom" {
		t.Fatalf("err = %v", err)
	}
	if out.String() != want.String() || r.Done != 9 || peak.Load() > 4 || peak.Load() < 2 {
		t.Errorf("out %q, result %+v, peak %d", out.String(), r, peak.Load())
	}
}
