package progress

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// clock is a fake time that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// visible shows the terminal controls of a bar as text.
func visible(s string) string {
	return strings.NewReplacer("\r", `\r`, "\033[K", `<clear>`, "\n", "\\n\n").Replace(s)
}

func TestLinesEveryFivePercentWithoutATerminal(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}
	r := New(&out, false, c.now, "deleted")
	// The list pages in while deletes run: no share of a growing total.
	for i := 1; i <= 3; i++ {
		r.Listed(i*500, false)
		r.Done(100)
		c.advance(4 * time.Second)
	}
	r.Listed(2000, true)
	for r.done < 2000 {
		c.advance(50 * time.Millisecond)
		r.Done(25)
		if r.done == 1500 {
			r.Printf("token.ext.cattle.io %q failed: forbidden\n", "t-1500")
		}
	}
	r.Finish()
	golden(t, "lines", out.String())
}

func TestALineEveryTenSecondsWhenSlow(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}
	r := New(&out, false, c.now, "deleted")
	r.Listed(100000, true)
	r.Done(1)
	out.Reset()
	for range 25 {
		c.advance(time.Second)
		r.Tick()
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("want a line per 10s of 25s, got %d:\n%s", n, out.String())
	}
	if !strings.HasPrefix(out.String(), "deleted 1 of 100000 (0%), 0.1/s, ETA 277h47m0s\n") {
		t.Errorf("line %q", out.String())
	}
}

func TestBarRedrawnInPlaceOnATerminal(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}
	r := New(&out, true, c.now, "deleted")
	r.Listed(500, false)
	c.advance(time.Second)
	r.Done(50) // redrawn: 100ms passed
	r.Done(1)  // not redrawn: no time passed
	r.Listed(1000, true)
	c.advance(time.Second)
	r.Done(449)
	r.Printf("token.ext.cattle.io %q skipped: it authenticates this request\n", "t-7")
	c.advance(3 * time.Second)
	r.Done(500) // the last one is always drawn
	r.Finish()
	golden(t, "bar", visible(out.String()))
}

func TestRound(t *testing.T) {
	for d, want := range map[time.Duration]string{1234 * time.Millisecond: "1.2s", 83*time.Second + 400*time.Millisecond: "1m23s", 3*time.Hour + 29*time.Minute + 40*time.Second: "3h30m0s"} {
		if got := Round(d).String(); got != want {
			t.Errorf("Round(%s) = %s, want %s", d, got, want)
		}
	}
}
