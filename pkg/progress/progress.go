// Package progress reports how far a long run of changes (a prune of
// 100,000 tokens) has got, on stderr: on a terminal a bar redrawn in
// place (done/total, rate, ETA); elsewhere (a pipe, a log, a cron job) one
// plain line per 5 % of the work or per 10 seconds, so logs stay short
// and greppable. The clock is injected, so it is tested without sleeping.
//
// The total may grow while the work runs (deletes start while the list is
// still paging); until Listed says it is complete, the total is shown as
// "≥ N" and no ETA is given.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

const (
	// lineEvery is how often a line is written without a terminal even
	// when less than lineStep of the work was done since the last one.
	lineEvery = 10 * time.Second
	// lineSteps: a plain line per 1/lineSteps of the total (5 %).
	lineSteps = 20
	// redrawEvery bounds how often the bar is redrawn on a terminal.
	redrawEvery = 100 * time.Millisecond
	barWidth    = 24
)

// Reporter counts finished items against a total and writes progress. Its
// methods are safe for concurrent use.
type Reporter struct {
	out  io.Writer
	tty  bool
	now  func() time.Time
	verb string // past tense: "deleted"

	mu        sync.Mutex
	start     time.Time
	total     int
	complete  bool // the total is final
	done      int
	lastDraw  time.Time
	lastLine  time.Time
	lastShare int  // lineStep buckets already reported
	drawn     bool // a bar is on screen and must be cleared before a line
}

// New reports to out; tty says whether out is a terminal (IsTerminal) and
// now is the clock (time.Now outside tests). verb is the past tense of
// the work, as it reads in "deleted 120 of 500".
func New(out io.Writer, tty bool, now func() time.Time, verb string) *Reporter {
	t := now()
	return &Reporter{out: out, tty: tty, now: now, verb: verb, start: t, lastLine: t, lastDraw: t}
}

// IsTerminal tells whether w is a terminal, where a bar can be redrawn.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) //nolint:gosec // a file descriptor fits an int
}

// Listed sets the total known so far; complete says no more will come.
func (r *Reporter) Listed(total int, complete bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total, r.complete = total, complete
	r.report(false)
}

// Done counts n more finished items, whatever their outcome.
func (r *Reporter) Done(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	r.report(false)
}

// Tick lets time-based lines and redraws happen while nothing finishes
// (a server that answers slowly); call it every second or so.
func (r *Reporter) Tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report(false)
}

// Printf writes a line of its own (a skipped or failed item) without
// tearing the bar: the bar is cleared first and redrawn after.
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintf(r.out, format, args...)
	if r.tty {
		r.report(true)
	}
}

// Finish removes the bar; the caller then prints its summary.
func (r *Reporter) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
}

// Elapsed is the time since New.
func (r *Reporter) Elapsed() time.Duration { return r.now().Sub(r.start) }

func (r *Reporter) clear() {
	if r.drawn {
		fmt.Fprint(r.out, "\r\033[K")
		r.drawn = false
	}
}

// report writes the bar or a line when one is due; force redraws the bar.
func (r *Reporter) report(force bool) {
	now := r.now()
	if r.tty {
		if force || now.Sub(r.lastDraw) >= redrawEvery || (r.complete && r.done >= r.total) {
			r.lastDraw = now
			fmt.Fprint(r.out, "\r\033[K"+r.bar(now))
			r.drawn = true
		}
		return
	}
	if r.total == 0 || r.done == 0 {
		return
	}
	share := r.done * lineSteps / r.total
	if !r.complete {
		share = 0 // a share of a growing total means nothing
	}
	if share > r.lastShare || now.Sub(r.lastLine) >= lineEvery {
		r.lastShare, r.lastLine = share, now
		fmt.Fprintln(r.out, r.line(now))
	}
}

// line is the plain form: "deleted 5000 of 100000 (5%), 812/s, ETA 1m57s".
func (r *Reporter) line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d of %s", r.verb, r.done, r.totalText())
	if r.complete && r.total > 0 {
		fmt.Fprintf(&b, " (%d%%)", r.done*100/r.total)
	}
	b.WriteString(r.rateAndETA(now))
	return b.String()
}

// bar is the terminal form: "[=======>      ] 5000/100000 5% 812/s ETA 1m57s".
func (r *Reporter) bar(now time.Time) string {
	filled := 0
	pct := ""
	if r.complete && r.total > 0 {
		filled = min(barWidth, r.done*barWidth/r.total)
		pct = fmt.Sprintf(" %d%%", r.done*100/r.total)
	}
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	return fmt.Sprintf("[%s] %s %d/%s%s%s", bar, r.verb, r.done, r.totalText(), pct, r.rateAndETA(now))
}

func (r *Reporter) totalText() string {
	if r.complete {
		return fmt.Sprint(r.total)
	}
	return fmt.Sprintf("≥%d (listing)", r.total)
}

func (r *Reporter) rateAndETA(now time.Time) string {
	el := now.Sub(r.start)
	if el <= 0 || r.done == 0 {
		return ""
	}
	rate := float64(r.done) / el.Seconds()
	s := fmt.Sprintf(", %.0f/s", rate)
	if rate < 10 {
		s = fmt.Sprintf(", %.1f/s", rate)
	}
	if r.complete && r.done < r.total {
		eta := time.Duration(float64(r.total-r.done) / rate * float64(time.Second))
		s += ", ETA " + Round(eta).String()
	}
	return s
}

// Round shortens a duration for people: seconds below an hour, minutes
// above, tenths of a second below 10s.
func Round(d time.Duration) time.Duration {
	switch {
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d < time.Hour:
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
