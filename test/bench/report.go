package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// report is what BENCHMARKS.md is generated from.
type report struct {
	b        *bench
	started  time.Time
	machine  [][2]string
	versions [][2]string

	loadMu sync.Mutex
	load   []float64 // 1-minute load average, sampled during the run

	sections map[string]*section
	targets  []target
}

// section is one comparison's part of the file.
type section struct {
	Title   string
	Intro   []string
	Tables  []table
	Notes   []string // generated: why a target was missed, from the data
	Details []string // raw evidence (request lines), in a <details> block
}

type table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// target is one line of the targets with its verdict.
type target struct {
	Comparison string
	Text       string
	Measured   string
	Met        bool
}

func newReport(b *bench) *report {
	return &report{b: b, started: time.Now(), sections: map[string]*section{}}
}

func (r *report) section(key, title string) *section {
	s := r.sections[key]
	if s == nil {
		s = &section{Title: title}
		r.sections[key] = s
	}
	return s
}

func (r *report) addTarget(cmp, text, measured string, met bool) {
	r.targets = append(r.targets, target{Comparison: cmp, Text: text, Measured: measured, Met: met})
}

// collectMachine records what the numbers ran on.
func (r *report) collectMachine(ctx context.Context) error {
	cpu := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb float64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f", &kb); err == nil {
					mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
				}
			}
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	goVersion := runtime.Version()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	r.machine = [][2]string{
		{"CPU", cpu},
		{"cores (as Go sees them)", fmt.Sprint(runtime.NumCPU())},
		{"RAM", mem},
		{"kernel", runtime.GOOS + "/" + runtime.GOARCH + " " + kernel},
		{"Go", goVersion},
	}
	return nil
}

// measureFloor runs /bin/true through the launcher: its peak RSS is the
// floor under every RSS in the file (a child's ru_maxrss includes the
// launcher's pages it shared until exec).
func (r *report) measureFloor(ctx context.Context) error {
	truePath, err := exec.LookPath("true")
	if err != nil {
		return err
	}
	var rss []float64
	for range 3 {
		res, err := r.b.run.run(ctx, proc{Label: "true", Argv: []string{truePath}})
		if err != nil {
			return err
		}
		rss = append(rss, float64(res.RSSKiB)/1024)
	}
	r.machine = append(r.machine, [2]string{"RSS floor", fmt.Sprintf("%s: peak RSS of `true` started by the bench's launcher; every peak RSS below includes at least this", mib(summarize(rss).Median))})
	return nil
}

// sampleLoad records the load average every 2 s until the returned
// function is called; the machine is shared, and the file says how busy
// it was.
func (r *report) sampleLoad(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	sample := func() {
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return
		}
		var l float64
		if _, err := fmt.Sscanf(string(b), "%f", &l); err == nil {
			r.loadMu.Lock()
			r.load = append(r.load, l)
			r.loadMu.Unlock()
		}
	}
	go func() {
		defer close(done)
		sample()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// collectVersions records the versions of everything measured.
func (r *report) collectVersions(ctx context.Context) error {
	bin := func(name string, args ...string) string {
		env := r.b.run.environ(r.b.scratch)
		if !strings.Contains(name, "/") {
			if p, err := lookPath(name, env); err == nil {
				name = p
			}
		}
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Sprintf("unknown (%v)", err)
		}
		return firstLine(out)
	}
	testbin, err := testenv.BinDir(r.b.root)
	if err != nil {
		return err
	}
	kubectlPath, _ := lookPath("kubectl", r.b.run.environ(r.b.scratch))
	kubectlReal, _ := filepath.EvalSymlinks(kubectlPath)
	kubectlVersion := bin("kubectl", "version", "--client")
	kubectlNote := ""
	if strings.Contains(kubectlVersion, "dispatcher") {
		kubectlNote = " — the Google Cloud SDK build: a version dispatcher in front of kubectl 1.32 (see the start-up notes)"
	}
	commit := strings.TrimSpace(gitOut(ctx, r.b.root, "rev-parse", "--short=12", "HEAD"))
	if dirty := strings.TrimSpace(gitOut(ctx, r.b.root, "status", "--porcelain", "--untracked-files=no")); dirty != "" {
		commit += " (working tree has uncommitted changes)"
	}
	r.versions = [][2]string{
		{"kube-apiserver", bin(filepath.Join(testbin, "kube-apiserver"), "--version") + " (bin/testbin, built by make testbin)"},
		{"etcd", bin(filepath.Join(testbin, "etcd"), "--version")},
		{"kubeadm", bin(filepath.Join(testbin, "kubeadm"), "version", "-o", "short")},
		{"kubectl", fmt.Sprintf("%s (%s → %s)%s", kubectlVersion, kubectlPath, kubectlReal, kubectlNote)},
		{"plugins", fmt.Sprintf("commit %s; bin: %s", commit, bin("kubectl-regtoken", "version"))},
	}
	return nil
}

func gitOut(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, _ := cmd.Output()
	return string(out)
}

// Formatting helpers.

func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 10000:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f ms", v)
	}
}

func fmtSummary(s summary, unit func(float64) string) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return unit(s.Median)
	}
	return fmt.Sprintf("%s (%s – %s)", unit(s.Median), trimUnit(unit(s.Min)), unit(s.Max))
}

func trimUnit(s string) string {
	f := strings.Fields(s)
	return f[0]
}

func mib(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", v)
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

func fmtRatios(xs []float64) string {
	s := summarize(xs)
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return ratio(s.Median)
	}
	return fmt.Sprintf("%s (%.2f – %.2f)", ratio(s.Median), s.Min, s.Max)
}

func mdEscape(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// targetOrder is the order of the Targets rows: the sections' numbering.
var targetOrder = []string{"enrollment", "requests", "start-up", "scale", "prune", "enroll", "realfleet", "import", "manager"}

// render writes the Markdown file.
func (r *report) render() string {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# Benchmarks\n\n")
	p("<!-- Generated by `go run ./test/bench` (make bench). Do not edit by hand: regenerate with `make bench`;\n")
	p("     hand-written investigation notes live in hack/bench-notes.md and are included below. -->\n\n")
	p("Generated by `make bench` (this run: `go run ./test/bench %s`) on %s; regenerate it the same way, never edit it by hand.\n",
		strings.Join(os.Args[1:], " "), r.started.UTC().Format("2006-01-02 15:04 MST"))
	p("Every number comes from one run of the program against the real control plane (kube-apiserver + etcd from bin/testbin) with the Fleet and Rancher emulators in-process. ")
	p("A (ours, through the real kubectl) and B (what users run today) alternate run by run (A B, B A, …) after one unrecorded warm-up run each; ")
	p("tables give the median with min – max, and ratios are A ÷ B: the ratio of the medians and the median (min – max) of the per-round ratios. ")
	p("Time targets are judged on the median per-round ratio: the two runs of a round are neighbours in time, so the load on this shared machine weighs on both, where medians taken separately can drift apart. ")
	p("Wall time is from fork/exec to wait4 of the measured process; peak RSS is its ru_maxrss (which survives exec, so `kubectl <plugin>` covers kubectl and the plugin it execs, and a shell recipe covers the largest program it waited for).\n\n")
	if r.b.opts.smoke {
		p("**SMOKE RUN**: one round at small scale, to prove the harness works. These numbers are not benchmarks.\n\n")
	}

	p("## Machine and versions\n\n| | |\n|---|---|\n")
	for _, kv := range r.machine {
		p("| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	r.loadMu.Lock()
	load := summarize(r.load)
	r.loadMu.Unlock()
	if load.N > 0 {
		p("| load average (1 min) during the run | median %.2f, min %.2f, max %.2f over %d samples — the machine is shared with other work, so absolute times carry that noise; ratios of neighbouring runs much less |\n", load.Median, load.Min, load.Max, load.N)
	}
	for _, kv := range r.versions {
		p("| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	p("| rounds | %d recorded rounds per comparison (start-up: %d), plus one warm-up run each |\n", r.b.opts.rounds, r.b.opts.rounds*startupFactor)
	p("\n")

	slices.SortStableFunc(r.targets, func(a, b target) int {
		return slices.Index(targetOrder, a.Comparison) - slices.Index(targetOrder, b.Comparison)
	})
	if len(r.targets) > 0 {
		p("## Targets\n\n| comparison | target | measured | verdict |\n|---|---|---|---|\n")
		for _, t := range r.targets {
			v := "**MET**"
			if !t.Met {
				v = "**MISSED**"
			}
			p("| %s | %s | %s | %s |\n", t.Comparison, mdEscape(t.Text), mdEscape(t.Measured), v)
		}
		p("\nWhere a target is missed, the comparison's notes say why.\n\n")
	}

	// The numbering, whatever order they ran in.
	for _, key := range []string{"enrollment", "requests", "startup", "scale", "prune", "enroll", "realfleet", "import", "manager"} {
		s := r.sections[key]
		if s == nil {
			continue
		}
		p("## %s\n\n", s.Title)
		for _, l := range s.Intro {
			p("%s\n\n", l)
		}
		for _, t := range s.Tables {
			if t.Caption != "" {
				p("%s\n\n", t.Caption)
			}
			p("| %s |\n|%s\n", strings.Join(t.Header, " | "), strings.Repeat("---|", len(t.Header)))
			for _, row := range t.Rows {
				cells := slices.Clone(row)
				for i := range cells {
					cells[i] = mdEscape(cells[i])
				}
				p("| %s |\n", strings.Join(cells, " | "))
			}
			p("\n")
		}
		if len(s.Notes) > 0 {
			p("**Notes (generated from this run's data):**\n\n")
			for _, n := range s.Notes {
				p("- %s\n", n)
			}
			p("\n")
		}
		if len(s.Details) > 0 {
			p("<details><summary>Evidence</summary>\n\n")
			for _, d := range s.Details {
				p("%s\n", d)
			}
			p("\n</details>\n\n")
		}
	}

	w.WriteString(notesSection(r.b.root))
	return w.String()
}

// notesHeading starts the block that includes hack/bench-notes.md.
const notesHeading = "## Investigation notes (hand-written, included from hack/bench-notes.md)"

// notesSection is that block as of now ("" without the file).
func notesSection(root string) string {
	notes, err := os.ReadFile(filepath.Join(root, "hack", "bench-notes.md"))
	if err != nil {
		return ""
	}
	body := strings.TrimSpace(string(notes))
	// Its own title is replaced by the heading.
	if strings.HasPrefix(body, "# ") {
		_, body, _ = strings.Cut(body, "\n")
	}
	return notesHeading + "\n\n" + strings.TrimSpace(body) + "\n"
}
