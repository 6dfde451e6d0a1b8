package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// WaitLine shows one self-updating line while a wait lasts when its
// writer is a terminal ("Waiting for X ... 12s"); logs and pipes get one
// plain line up front ("Waiting up to 5m0s for X ..."), so a wait of up
// to its timeout never looks like a hang.
type WaitLine struct {
	w       io.Writer
	what    string
	timeout time.Duration
	tty     bool
	now     func() time.Time
	every   time.Duration // 0: only Tick redraws (tests)

	mu      sync.Mutex
	started time.Time
	waiting bool
	stop    chan struct{}
	done    sync.WaitGroup
}

// NewWaitLine is a wait line on w for what (e.g. "the Fleet controller
// to write the values of x"), waited for up to timeout; on a terminal it
// is redrawn every second.
func NewWaitLine(w io.Writer, what string, timeout time.Duration) *WaitLine {
	return &WaitLine{w: w, what: what, timeout: timeout, tty: IsTerminal(w), now: time.Now, every: time.Second}
}

// Show starts (true) or ends (false) the line; a wait calls it around
// itself. On a terminal the line is erased when the wait ends.
func (p *WaitLine) Show(waiting bool) {
	p.mu.Lock()
	if waiting == p.waiting {
		p.mu.Unlock()
		return
	}
	p.waiting = waiting
	if !p.tty {
		if waiting {
			fmt.Fprintf(p.w, "Waiting up to %s for %s ...\n", p.timeout, p.what)
		}
		p.mu.Unlock()
		return
	}
	if waiting {
		p.started = p.now()
		p.draw()
		p.stop = make(chan struct{})
		if p.every > 0 {
			p.done.Add(1)
			go p.tick(p.every, p.stop)
		}
		p.mu.Unlock()
		return
	}
	close(p.stop)
	p.mu.Unlock()
	p.done.Wait() // outside the lock: a redraw in flight takes it
	p.mu.Lock()
	fmt.Fprint(p.w, "\r\033[K")
	p.mu.Unlock()
}

// Tick redraws the line with the time elapsed now, while a wait lasts on
// a terminal.
func (p *WaitLine) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.waiting {
		p.draw()
	}
}

// draw writes the line in place; p.mu is held.
func (p *WaitLine) draw() {
	fmt.Fprintf(p.w, "\r\033[KWaiting for %s ... %s", p.what, p.now().Sub(p.started).Round(time.Second))
}

func (p *WaitLine) tick(every time.Duration, stop chan struct{}) {
	defer p.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.Tick()
		}
	}
}
