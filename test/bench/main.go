// Command bench measures the three plugins against what users run today,
// side by side on the real control plane, and writes BENCHMARKS.md.
//
//	go run ./test/bench [-rounds N] [-only startup,requests,enrollment,scale,prune,enroll,realfleet,import] [-out FILE]
//	go run ./test/bench -smoke     one round at small scale into a temporary file (CI, under a minute)
//	go run ./test/bench -splice PART.md   put a partial run's sections into BENCHMARKS.md
//
// It starts kube-apiserver and etcd (bin/testbin, via testenv) with a
// Metadata-level audit log, the Fleet controller emulator (one per
// controller delay, each on its own namespace) and the Rancher ext token
// emulator in this process, then runs each comparison: A (ours, through
// the real kubectl with the plugins of -bin first on PATH) and B (the
// anchor: kubectl, kubeadm, the documented shell recipe) alternate, round
// after round. Wall time is from fork/exec to wait4; peak RSS is the
// child's ru_maxrss. Nothing here asserts a timing: a run fails only when
// a command fails or prints the wrong thing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// comparisons, in the order they run and are reported.
var comparisons = []string{"startup", "requests", "enrollment", "scale", "prune", "enroll", "realfleet", "import", "manager"}

type options struct {
	rounds       int
	only         []string
	out          string
	smoke        bool
	binDir       string
	delays       []time.Duration
	scaleBoot    int
	scaleExt     int
	scaleReg     int
	allPlatforms bool
	keepScratch  bool
	profile      bool
	// enrollClusters is how many downstream clusters the enroll
	// comparison starts and enrolls at once.
	enrollClusters int
	// realFleetClusters is how many downstream clusters the real-Fleet
	// comparison enrolls at once; importClusters how many the import
	// comparison imports at once.
	realFleetClusters int
	importClusters    int
	// splice is a partial report to splice into out instead of running.
	splice string
}

// bench is one run of the program.
type bench struct {
	opts     options
	root     string
	scratch  string
	run      *runner
	cluster  *cluster
	report   *report
	cleanups []func() error
	start    time.Time
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: error:", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	var only, delays string
	flag.IntVar(&o.rounds, "rounds", 7, "recorded rounds per comparison (start-up runs 4× as many, they are cheap)")
	flag.StringVar(&only, "only", "", "comma-separated comparisons to run: "+strings.Join(comparisons, ","))
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report file (relative to the repository root); with -only or -smoke the default is a temporary file")
	flag.BoolVar(&o.smoke, "smoke", false, "one round, 50 objects per scale test, report into a temporary file: proves the harness works, measures nothing worth keeping")
	flag.StringVar(&o.binDir, "bin", "", "directory holding the built plugins (default $PLUGIN_BIN_DIR, else bin/ of the repository: make build)")
	flag.StringVar(&delays, "delays", "0s,1s,3s", "Fleet controller delays for the enrollment comparison")
	flag.IntVar(&o.scaleBoot, "scale-bootstrap", 10000, "bootstrap token Secrets seeded for the scale comparison")
	flag.IntVar(&o.scaleExt, "scale-ext", 5000, "ext tokens seeded for the scale comparison")
	flag.IntVar(&o.scaleReg, "scale-regtoken", 2000, "ClusterRegistrationTokens seeded for the scale comparison")
	flag.BoolVar(&o.allPlatforms, "all-platforms", true, "report release binary sizes for every goreleaser platform, not only this one")
	flag.BoolVar(&o.keepScratch, "keep", false, "keep the scratch directory (run directories, outputs)")
	flag.IntVar(&o.enrollClusters, "enroll-clusters", 20, "downstream control planes for the enroll comparison")
	flag.IntVar(&o.realFleetClusters, "realfleet-clusters", 5, "downstream control planes the real-Fleet comparison enrolls at once")
	flag.IntVar(&o.importClusters, "import-clusters", 20, "downstream control planes the Rancher import comparison imports at once")
	flag.StringVar(&o.splice, "splice", "", "splice the comparison sections and target rows of this partial report (a run with -only -out FILE) into -out, and run nothing")
	flag.BoolVar(&o.profile, "profile", false, "CPU-profile every plugin listing at scale (otherwise only those slower than an anchor)")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if only != "" {
		for _, c := range strings.Split(only, ",") {
			c = strings.TrimSpace(c)
			if !slices.Contains(comparisons, c) {
				return o, fmt.Errorf("-only: unknown comparison %q (have %s)", c, strings.Join(comparisons, ", "))
			}
			o.only = append(o.only, c)
		}
	}
	for _, d := range strings.Split(delays, ",") {
		v, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || v < 0 {
			return o, fmt.Errorf("-delays: %q is not a duration", d)
		}
		o.delays = append(o.delays, v)
	}
	if o.splice != "" {
		return o, nil
	}
	if len(o.only) > 0 && !isFlagSet("out") {
		o.out = "" // a partial run never replaces BENCHMARKS.md unless asked to
	}
	if o.smoke {
		o.rounds = 1
		o.scaleBoot, o.scaleExt, o.scaleReg = 50, 50, 50
		if !isFlagSet("enroll-clusters") {
			o.enrollClusters = 2
		}
		if !isFlagSet("realfleet-clusters") {
			o.realFleetClusters = 2
		}
		if !isFlagSet("import-clusters") {
			o.importClusters = 2
		}
		o.allPlatforms = false
		if !isFlagSet("delays") {
			o.delays = o.delays[:1]
		}
		if !isFlagSet("out") {
			o.out = ""
		}
	}
	if o.rounds < 1 {
		return o, errors.New("-rounds must be at least 1")
	}
	return o, nil
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func (b *bench) enabled(c string) bool {
	if len(b.opts.only) > 0 {
		return slices.Contains(b.opts.only, c)
	}
	return !b.opts.smoke || !slices.Contains(downstreamComparisons, c)
}

// downstreamComparisons start downstream control planes (and the real Fleet):
// about two minutes together even at smoke scale, so a smoke run leaves them
// out unless -only names them. make test keeps its smoke under a minute;
// the rigs they use are exercised by test/e2e/regtoken, test/e2e/realfleet
// and test/e2e/rancherimport, and make bench runs them in full.
var downstreamComparisons = []string{"enroll", "realfleet", "import"}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.1fs  %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func run(ctx context.Context) (err error) {
	opts, err := parseFlags()
	if err != nil {
		return err
	}
	b := &bench{opts: opts, start: time.Now()}
	if b.root, err = testenv.RepoRoot(); err != nil {
		return err
	}
	if opts.splice != "" {
		return spliceFile(b.root, opts.splice, opts.out)
	}
	if err := refuseDirtyTree(ctx, b.root, opts); err != nil {
		return err
	}
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			if cerr := b.cleanups[i](); cerr != nil {
				b.logf("clean-up: %v", cerr)
			}
		}
	}()
	if b.scratch, err = os.MkdirTemp("", "kubectl-tokens-bench-"); err != nil {
		return err
	}
	if !opts.keepScratch {
		b.cleanups = append(b.cleanups, func() error { return os.RemoveAll(b.scratch) })
	} else {
		b.logf("scratch directory (kept): %s", b.scratch)
	}
	binDir, err := pluginBinDir(b.root, opts.binDir)
	if err != nil {
		return err
	}
	b.run = &runner{binDir: binDir, scratch: b.scratch}
	if err := b.run.buildLauncher(ctx, b.root); err != nil {
		return err
	}
	b.report = newReport(b)
	if err := b.report.collectMachine(ctx); err != nil {
		return err
	}
	if err := b.report.measureFloor(ctx); err != nil {
		return err
	}
	loadDone := b.report.sampleLoad(ctx)
	defer loadDone()

	if b.cluster, err = startCluster(ctx, b, opts.delays); err != nil {
		return err
	}
	b.run.kubeconfig = b.cluster.kubeconfig
	if err := b.report.collectVersions(ctx); err != nil {
		return err
	}

	steps := map[string]func(context.Context) error{
		"startup":    b.startup,
		"requests":   b.requests,
		"enrollment": b.enrollment,
		"scale":      b.scale,
		"prune":      b.prune,
		"enroll":     b.enroll,
		"realfleet":  b.realFleet,
		"import":     b.rancherImport,
		"manager":    b.managerScale,
	}
	for _, c := range comparisons {
		if !b.enabled(c) {
			if b.opts.smoke && len(b.opts.only) == 0 {
				b.logf("=== %s: left out of a smoke run (it starts downstream control planes); -smoke -only %s runs it", c, c)
			}
			continue
		}
		b.logf("=== %s", c)
		if err := steps[c](ctx); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	loadDone()

	out := opts.out
	if out == "" {
		f, err := os.CreateTemp("", "kubectl-tokens-bench-*.md")
		if err != nil {
			return err
		}
		out = f.Name()
		_ = f.Close()
	} else if !filepath.IsAbs(out) {
		out = filepath.Join(b.root, out)
	}
	if err := os.WriteFile(out, []byte(b.report.render()), 0o644); err != nil {
		return err
	}
	b.logf("wrote %s", out)
	return nil
}

// pluginBinDir finds the built plugins: -bin, $PLUGIN_BIN_DIR, bin/.
func pluginBinDir(root, flagDir string) (string, error) {
	dir := flagDir
	if dir == "" {
		dir = os.Getenv("PLUGIN_BIN_DIR")
	}
	if dir == "" {
		dir = filepath.Join(root, "bin")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, p := range plugins {
		if _, err := os.Stat(filepath.Join(dir, "kubectl-"+p)); err != nil {
			return "", fmt.Errorf("kubectl-%s is missing from %s: run make build (make bench does)", p, dir)
		}
	}
	return dir, nil
}

// plugins are the three binaries by kubectl name.
var plugins = []string{"regtoken", "exttoken", "bootstrap"}

// refuseDirtyTree: a report records the commit it measured, so a run that
// writes a report must measure that commit and nothing else. A smoke run
// measures nothing worth keeping and may run anywhere; BENCHMARKS.md
// itself (an earlier run's output) does not count as a change.
func refuseDirtyTree(ctx context.Context, root string, o options) error {
	if o.smoke || o.out == "" {
		return nil
	}
	var changed []string
	for _, line := range strings.Split(strings.TrimSpace(gitOut(ctx, root, "status", "--porcelain", "--untracked-files=no")), "\n") {
		if line != "" && !strings.HasSuffix(line, "BENCHMARKS.md") {
			changed = append(changed, strings.TrimSpace(line))
		}
	}
	if len(changed) > 0 {
		return fmt.Errorf("the working tree has uncommitted changes (%s): a report records the commit it measured, so commit or stash them first (or run with -smoke)", strings.Join(changed, ", "))
	}
	return nil
}
