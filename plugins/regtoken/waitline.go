package regtoken

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
)

// waitLine shows one self-updating line on stderr while a wait lasts when
// stderr is a terminal; logs and pipes get one plain line up front, so a
// wait of up to --timeout never looks like a hang.
type waitLine struct {
	w       io.Writer
	what    string
	timeout time.Duration
	stop    chan struct{}
	done    sync.WaitGroup
}

func newWaitLine(w io.Writer, what string, timeout time.Duration) *waitLine {
	return &waitLine{w: w, what: what, timeout: timeout}
}

// show starts (true) or ends (false) the line; the engine calls it around
// its wait.
func (p *waitLine) show(waiting bool) {
	if !waiting {
		if p.stop != nil {
			close(p.stop)
			p.done.Wait()
			p.stop = nil
		}
		return
	}
	if !progress.IsTerminal(p.w) {
		fmt.Fprintf(p.w, "Waiting up to %s for %s ...\n", p.timeout, p.what)
		return
	}
	p.stop = make(chan struct{})
	start := time.Now()
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			fmt.Fprintf(p.w, "\r\033[KWaiting for %s ... %s", p.what, time.Since(start).Round(time.Second))
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
}
