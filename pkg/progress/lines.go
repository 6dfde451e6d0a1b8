package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Lines shows where each of a fixed set of items (clusters) is. On a
// terminal it keeps one line per item up to date, with the time elapsed,
// redrawn in place; otherwise it writes a plain line per change, for
// logs. The text given is written as it is: callers escape server text
// to one line first (a line break would break the count of lines a
// redraw goes back up).
type Lines struct {
	w       io.Writer
	tty     bool
	now     func() time.Time
	started time.Time

	mu     sync.Mutex
	order  []string
	state  map[string]string
	drawn  int
	stopCh chan struct{}
	done   sync.WaitGroup
}

// NewLines reports on w for the items labelled labels, in that order; tty
// and now are as for New. On a terminal the block is redrawn every
// redrawEvery until Stop, so the elapsed time moves while nothing
// changes; redrawEvery 0 leaves that to Tick (tests).
func NewLines(w io.Writer, tty bool, now func() time.Time, labels []string, started time.Time, redrawEvery time.Duration) *Lines {
	p := &Lines{w: w, tty: tty, now: now, started: started, order: labels, state: map[string]string{}, stopCh: make(chan struct{})}
	if !tty {
		return p
	}
	for _, l := range labels {
		p.state[l] = "pending"
	}
	if redrawEvery > 0 {
		p.done.Add(1)
		go p.tick(redrawEvery)
	}
	return p
}

// Set records item label's state: on a terminal the block is redrawn
// with tty as its line; otherwise line is written as it is.
func (p *Lines) Set(label, tty, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", label, line)
		return
	}
	p.state[label] = tty
	p.redraw()
}

// redraw rewrites the block in place; p.mu is held.
func (p *Lines) redraw() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.drawn)
	}
	elapsed := p.now().Sub(p.started).Round(time.Second)
	for _, l := range p.order {
		fmt.Fprintf(p.w, "\r\033[K%s: %s (%s)\n", l, p.state[l], elapsed)
	}
	p.drawn = len(p.order)
}

// Tick redraws the block with the time elapsed now. Without a terminal
// there is no block, and time alone is no change.
func (p *Lines) Tick() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redraw()
}

func (p *Lines) tick(every time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-t.C:
			p.Tick()
		}
	}
}

// Stop ends the redraws; the block stays as last drawn.
func (p *Lines) Stop() {
	if !p.tty {
		return
	}
	close(p.stopCh)
	p.done.Wait()
}
