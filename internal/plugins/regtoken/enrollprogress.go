package regtoken

import (
	"fmt"
	"io"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
	"github.com/kubectl-tokens/kubectl-tokens/internal/progress"
)

// enrollColumns are enroll's final table.
var enrollColumns = []printer.Column{{Name: "CONTEXT"}, {Name: "CLIENT-ID"}, {Name: "CLUSTER"}, {Name: "STATUS"}}

func enrollTable(clusters []*EnrolledCluster) *metav1.Table {
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
// prints a plain line per change, for logs.
type enrollProgress struct {
	w       io.Writer
	tty     bool
	started time.Time

	mu     sync.Mutex
	order  []*EnrolledCluster
	state  map[*EnrolledCluster]string
	drawn  int
	stopCh chan struct{}
	done   sync.WaitGroup
}

func newEnrollProgress(w io.Writer, clusters []*EnrolledCluster, started time.Time) *enrollProgress {
	p := &enrollProgress{w: w, started: started, order: clusters, state: map[*EnrolledCluster]string{}, stopCh: make(chan struct{})}
	if progress.IsTerminal(w) {
		p.tty = true
		for _, cl := range clusters {
			p.state[cl] = "pending"
		}
		p.done.Add(1)
		go p.tick()
	}
	return p
}

// set records cl's state; detail completes a final state ("as cluster-x").
func (p *enrollProgress) set(cl *EnrolledCluster, state, detail string) {
	line := state
	if detail != "" && cl.Status != statusFailed {
		line += " " + detail
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if cl.Status == statusFailed {
			line = statusFailed + " (see below)"
		}
		fmt.Fprintf(p.w, "%s: %s\n", cl.Context, printers.EscapeTerminal(line))
		return
	}
	if cl.Status == statusFailed {
		line = statusFailed + ": " + cl.Error
	}
	p.state[cl] = line
	p.redraw()
}

// redraw rewrites the block of lines in place; p.mu is held.
func (p *enrollProgress) redraw() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.drawn)
	}
	elapsed := time.Since(p.started).Round(time.Second)
	for _, cl := range p.order {
		fmt.Fprintf(p.w, "\r\033[K%s: %s (%s)\n", cl.Context, printers.EscapeTerminal(p.state[cl]), elapsed)
	}
	p.drawn = len(p.order)
}

func (p *enrollProgress) tick() {
	defer p.done.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-t.C:
			p.mu.Lock()
			p.redraw()
			p.mu.Unlock()
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
