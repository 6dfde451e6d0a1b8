package progress

import (
	"bytes"
	"testing"
	"time"
)

// Logs and pipes get one plain line when the wait starts, nothing while
// it lasts and nothing when it ends.
func TestWaitLineWithoutATerminalSaysSoOnceUpFront(t *testing.T) {
	var b bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	p := &WaitLine{w: &b, what: "the values of x", timeout: 5 * time.Minute, now: c.now}
	p.Show(true)
	c.advance(3 * time.Second)
	p.Tick()
	p.Show(false)
	if want := "Waiting up to 5m0s for the values of x ...\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// On a terminal the line is redrawn in place with the time waited, and
// erased when the wait ends, so what follows starts on a clean line.
func TestWaitLineOnATerminalCountsTheTimeAndIsErasedAtTheEnd(t *testing.T) {
	var b bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	p := &WaitLine{w: &b, what: "the values of x", timeout: 5 * time.Minute, tty: true, now: c.now}
	p.Show(true)
	c.advance(2 * time.Second)
	p.Tick()
	p.Show(false)
	p.Tick() // after the end: nothing
	want := "\r\033[KWaiting for the values of x ... 0s" + "\r\033[KWaiting for the values of x ... 2s" + "\r\033[K"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// The real redraw loop stops with the wait: Show(false) returns only
// after its last redraw, so nothing is drawn after the line is erased.
func TestWaitLineRedrawLoopEndsWithTheWait(t *testing.T) {
	var b bytes.Buffer
	p := &WaitLine{w: &b, what: "x", timeout: time.Minute, tty: true, now: time.Now, every: time.Millisecond}
	p.Show(true)
	p.Show(false)
	end := b.Len()
	p.Show(false) // a second end is no-op
	if b.Len() != end || !bytes.HasSuffix(b.Bytes(), []byte("\r\033[K")) {
		t.Errorf("output after the end: %q", b.String())
	}
}
