package regtoken

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// fakeClock is a time that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// hostileCluster is a Fleet Cluster name that would retitle the user's
// terminal if it reached it unescaped.
const hostileCluster = "cluster-\x1b]0;evil\a\nforged: Registered"

// enrollScript drives p as enrollAll does for three contexts: one
// registered already, one that registers (as hostileCluster) after a
// wait for the controller, one whose helm fails; the clock moves between
// the changes, and once with no change at all (a tick).
func enrollScript(p *enrollProgress, c *fakeClock, cls []*fleet.EnrolledCluster) {
	edge1, edge2, edge3 := cls[0], cls[1], cls[2]
	p.set(edge3, edge3.Status, edge3.Error)
	c.advance(300 * time.Millisecond)
	p.set(edge1, "installing", "")
	p.set(edge2, "installing", "")
	c.advance(2 * time.Second)
	p.redrawNow()
	c.advance(1500 * time.Millisecond)
	p.set(edge1, "waiting for the agent to register", "")
	c.advance(4 * time.Second)
	p.set(edge1, "registration request-1 waits for the Fleet controller", "")
	edge2.Status, edge2.Error = fleet.StatusFailed, "helm upgrade --install fleet-agent fleet/fleet-agent --namespace failed: Error: \x1b[31mUPGRADE FAILED\x1b[0m"
	p.set(edge2, edge2.Status, edge2.Error)
	c.advance(10 * time.Second)
	edge1.Registration, edge1.Cluster, edge1.Status = "request-1", hostileCluster, fleet.StatusRegistered
	p.set(edge1, edge1.Status, "as "+edge1.Cluster)
	p.stop()
}

func enrollScriptClusters() []*fleet.EnrolledCluster {
	return []*fleet.EnrolledCluster{
		{Context: "edge-1", Status: fleet.StatusPending},
		{Context: "edge-2", Status: fleet.StatusPending},
		{Context: "edge-3", Status: fleet.StatusAlreadyRegistered, Cluster: "cluster-3"},
	}
}

// terminalControls shows the controls the progress writes as text; an
// ESC or BEL left after it came from the server, unescaped.
var terminalControls = strings.NewReplacer("\r\033[K", `\r<clear>`, "\033[3A", "<up 3>\n", "\n", "\\n\n")

func TestEnrollProgressRedrawsOneLinePerClusterOnATerminal(t *testing.T) {
	var out bytes.Buffer
	c := &fakeClock{t: testNow}
	cls := enrollScriptClusters()
	enrollScript(newEnrollProgress(&out, true, c.now, cls, c.t, 0), c, cls)
	raw := out.String()
	golden(t, "enroll-progress-tty", terminalControls.Replace(raw))
	// Every redraw after the first goes back up the block of 3 lines and
	// clears each line before writing it.
	if n, draws := strings.Count(raw, "\033[3A"), strings.Count(raw, "\r\033[K")/3; n != draws-1 || draws != 8 {
		t.Errorf("%d cursor-ups for %d redraws, want 7 for 8:\n%q", n, draws, raw)
	}
	if strings.Contains(raw, "\x1b]") || strings.Contains(raw, "\x1b[31m") || strings.ContainsAny(raw, "\a") || strings.Contains(raw, "\nforged") {
		t.Errorf("server text reached the terminal unescaped:\n%q", raw)
	}
}

func TestEnrollProgressPrintsALinePerChangeElsewhere(t *testing.T) {
	var out bytes.Buffer
	c := &fakeClock{t: testNow}
	cls := enrollScriptClusters()
	enrollScript(newEnrollProgress(&out, false, c.now, cls, c.t, 0), c, cls)
	golden(t, "enroll-progress-lines", out.String())
	if strings.ContainsAny(out.String(), "\x1b\a") || strings.Contains(out.String(), "\nforged") {
		t.Errorf("a control sequence in a log:\n%q", out.String())
	}
}

// lockedBuffer is a bytes.Buffer the ticker goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// On a terminal the block is redrawn while nothing changes, so the
// elapsed time moves; stop ends that.
func TestEnrollProgressTicksUntilStopped(t *testing.T) {
	var out lockedBuffer
	c := &fakeClock{t: testNow}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return c.now() }
	cls := enrollScriptClusters()
	p := newEnrollProgress(&out, true, now, cls, c.t, time.Millisecond)
	p.set(cls[0], "installing", "")
	mu.Lock()
	c.advance(7 * time.Second)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "edge-1: installing (7s)") {
		if time.Now().After(deadline) {
			p.stop()
			t.Fatalf("no redraw with the elapsed time:\n%q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.stop()
	stopped := out.String()
	time.Sleep(20 * time.Millisecond)
	if out.String() != stopped {
		t.Errorf("redrawn after stop")
	}
}
