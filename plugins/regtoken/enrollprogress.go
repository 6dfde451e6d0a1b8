package regtoken

import (
	"io"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"

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

// enrollProgress shows where every cluster is, as pkg/progress's live
// lines: the cluster's state on a terminal, a line per change in logs.
// Server text (a cluster name, an error) is escaped to one line.
type enrollProgress struct {
	lines *progress.Lines
}

// newEnrollProgress reports on w; tty and now are as pkg/progress takes
// them, so the redrawn block is tested without a terminal or sleeping.
func newEnrollProgress(w io.Writer, tty bool, now func() time.Time, clusters []*fleet.EnrolledCluster, started time.Time, redrawEvery time.Duration) *enrollProgress {
	labels := make([]string, len(clusters))
	for i, cl := range clusters {
		labels[i] = printer.EscapeText(cl.Context)
	}
	return &enrollProgress{lines: progress.NewLines(w, tty, now, labels, started, redrawEvery)}
}

// set records cl's state; detail completes a final state ("as cluster-x").
// A failure shows its error on a terminal and points below in logs, where
// the error line follows.
func (p *enrollProgress) set(cl *fleet.EnrolledCluster, state, detail string) {
	line := state
	if detail != "" && !cl.Failed() {
		line += " " + detail
	}
	tty, log := line, line
	if cl.Failed() {
		tty, log = cl.Status+": "+cl.Error, cl.Status+" (see below)"
	}
	p.lines.Set(printer.EscapeText(cl.Context), printer.EscapeText(tty), printer.EscapeText(log))
}

// redrawNow is one tick (tests).
func (p *enrollProgress) redrawNow() { p.lines.Tick() }

func (p *enrollProgress) stop() { p.lines.Stop() }
