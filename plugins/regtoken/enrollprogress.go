package regtoken

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// enrollColumns are enroll's final table.
var enrollColumns = []printer.Column{{Name: "CONTEXT"}, {Name: "CLIENT-ID"}, {Name: "CLUSTER"}, {Name: "STATUS"}}

func enrollTable(clusters []*fleet.EnrolledCluster) *metav1.Table {
	rows := make([][]any, 0, len(clusters))
	for _, cl := range clusters {
		id, cluster := cl.ClientID, cl.Cluster
		if id == "" {
			id = "<unknown>"
		}
		if cluster == "" {
			cluster = "<none>"
		}
		rows = append(rows, []any{cl.Context, id, cluster, cl.Status})
	}
	return printer.NewTable(enrollColumns, rows, nil)
}

// enrollProgress shows where every cluster is. On a terminal it keeps one
// line per cluster up to date (with the time elapsed); otherwise it
// prints a plain line per change, for logs. Server text (a cluster name,
// an error) is escaped to one line: a line break in it would break the
// count of lines a redraw goes back up.
type enrollProgress struct {
	w       io.Writer
	tty     bool
	now     func() time.Time
	started time.Time

	mu     sync.Mutex
	order  []*fleet.EnrolledCluster
	state  map[*fleet.EnrolledCluster]string
	drawn  int
	stopCh chan struct{}
	done   sync.WaitGroup
}

// newEnrollProgress reports on w; tty says whether w is a terminal
// (progress.IsTerminal) and now is the clock the elapsed time is read
// from (time.Now outside tests), as pkg/progress takes them, so the
// redrawn block is tested without a terminal or sleeping. On a terminal
// the block is redrawn every redrawEvery until stop, so the elapsed time
// moves while nothing changes; redrawEvery 0 leaves that to the caller.
func newEnrollProgress(w io.Writer, tty bool, now func() time.Time, clusters []*fleet.EnrolledCluster, started time.Time, redrawEvery time.Duration) *enrollProgress {
	p := &enrollProgress{w: w, tty: tty, now: now, started: started, order: clusters, state: map[*fleet.EnrolledCluster]string{}, stopCh: make(chan struct{})}
	if !tty {
		return p
	}
	for _, cl := range clusters {
		p.state[cl] = "pending"
	}
	if redrawEvery > 0 {
		p.done.Add(1)
		go p.tick(redrawEvery)
	}
	return p
}

// set records cl's state; detail completes a final state ("as cluster-x").
func (p *enrollProgress) set(cl *fleet.EnrolledCluster, state, detail string) {
	line := state
	if detail != "" && cl.Status != fleet.StatusFailed {
		line += " " + detail
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if cl.Status == fleet.StatusFailed {
			line = fleet.StatusFailed + " (see below)"
		}
		fmt.Fprintf(p.w, "%s: %s\n", cl.Context, printer.EscapeText(line))
		return
	}
	if cl.Status == fleet.StatusFailed {
		line = fleet.StatusFailed + ": " + cl.Error
	}
	p.state[cl] = line
	p.redraw()
}

// redraw rewrites the block of lines in place; p.mu is held.
func (p *enrollProgress) redraw() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.drawn)
	}
	elapsed := p.now().Sub(p.started).Round(time.Second)
	for _, cl := range p.order {
		fmt.Fprintf(p.w, "\r\033[K%s: %s (%s)\n", cl.Context, printer.EscapeText(p.state[cl]), elapsed)
	}
	p.drawn = len(p.order)
}

// redrawNow is one tick: the block again, with the time elapsed now.
// Without a terminal there is no block, and time alone is no change.
func (p *enrollProgress) redrawNow() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redraw()
}

func (p *enrollProgress) tick(every time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-t.C:
			p.redrawNow()
		}
	}
}

func (p *enrollProgress) stop() {
	if !p.tty {
		return
	}
	close(p.stopCh)
	p.done.Wait()
}
