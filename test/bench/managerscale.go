package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	pluginset "github.com/kubectl-tokens/kubectl-tokens/plugins"
	"github.com/kubectl-tokens/kubectl-tokens/test/virtualclusters"
)

// The manager-mode scale comparison (issue 23, Performance): enroll
// --mode manager on 100 and 1,000 virtual downstream clusters
// (test/virtualclusters: one HTTPS listener answering what manager mode
// sends downstream) against the bench's real kube-apiserver as the Fleet
// management cluster (the emulator's Fleet CRDs; no Fleet controller acts
// on the namespaces used here, so --wait-registration=false), and on 20
// for the plugin's own wall and CPU time.

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// mgrConfig is one way of running manager mode: --parallel and --qps/--burst
// (0 is the flag's default).
type mgrConfig struct{ Parallel, QPS int }

// managerConfigs are the configurations measured: the defaults, a wider
// --parallel, and the same with a request budget that does not bind, which
// shows the plugin's own scaling apart from the budget's (the default
// budget makes a large run wait by design).
var managerConfigs = []mgrConfig{{}, {Parallel: 32}, {Parallel: 32, QPS: 1000}}

// defaultQPS and defaultBurst are enroll's request budget defaults.
const defaultQPS, defaultBurst = 50, 100

// budgetFloor is how long the default request budget alone makes n
// clusters wait: two upstream writes each (the kubeconfig Secret and the
// Cluster), the first defaultBurst free, the rest at defaultQPS.
func budgetFloor(n int) time.Duration {
	writes := 2*n - defaultBurst
	if writes <= 0 {
		return 0
	}
	return time.Duration(writes) * time.Second / defaultQPS
}

// mgrRun is one measured run of kubectl-regtoken: wall from fork/exec to
// wait4, CPU (user + system) and peak RSS from the child's rusage.
type mgrRun struct {
	N, Parallel int
	Wall, CPU   time.Duration
	RSSKiB      int64
	Requests    []string // what the virtual clusters were sent
}

func (b *bench) managerScale(ctx context.Context) error {
	small, large, twenty := 100, 1000, 20
	if b.opts.smoke {
		small, large, twenty = 10, 30, 3
	}
	vs, err := virtualclusters.Start(large)
	if err != nil {
		return err
	}
	defer vs.Close()
	b.logf("virtual downstream clusters: %d on %s", large, vs.URL)
	dyn, err := dynamic.NewForConfig(b.cluster.cfg)
	if err != nil {
		return err
	}
	kubeconfigs := map[int]string{}
	for _, n := range []int{twenty, small, large} {
		kc := filepath.Join(b.scratch, fmt.Sprintf("virtual-%d.kubeconfig", n))
		names, err := vs.WriteKubeconfig(b.cluster.kubeconfig, kc, n)
		if err != nil {
			return err
		}
		if err := virtualclusters.WriteInventory(kc+".txt", names); err != nil {
			return err
		}
		kubeconfigs[n] = kc
	}
	seq := 0
	one := func(n, config int) (*mgrRun, error) {
		c := managerConfigs[config]
		seq++
		ns := fmt.Sprintf("bench-manager-%d", seq)
		if err := b.cluster.ensureNamespace(ctx, ns); err != nil {
			return nil, err
		}
		vs.Reset() // new clusters: fresh kube-system UIDs, nothing minted yet
		args := []string{"enroll", "--mode", "manager", "--contexts-from", kubeconfigs[n] + ".txt", "--wait-registration=false", "-n", ns, "-o", "json", "--kubeconfig", kubeconfigs[n]}
		if c.Parallel > 0 {
			args = append(args, "--parallel", strconv.Itoa(c.Parallel))
		}
		if c.QPS > 0 {
			args = append(args, "--qps", strconv.Itoa(c.QPS), "--burst", strconv.Itoa(c.QPS))
		}
		r, err := b.measurePlugin(ctx, args, func(stdout []byte) error { return checkManagerResult(ctx, dyn, ns, n, stdout) })
		if err != nil {
			return nil, fmt.Errorf("%d clusters: %w", n, err)
		}
		if u := vs.Unexpected(); u > 0 {
			return nil, fmt.Errorf("%d clusters: the plugin sent %d requests the virtual clusters do not serve: %v", n, u, vs.Requests())
		}
		r.N, r.Parallel, r.Requests = n, c.Parallel, vs.Requests()
		// What this run wrote is not needed again; without a namespace
		// controller the namespace itself stays.
		_ = dyn.Resource(fleet.ClusterGVR).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = b.cluster.kube.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		b.logf("manager mode: %d clusters %s: %s wall, %s CPU, %s", n, configLabel(config), ms(msf(r.Wall)), ms(msf(r.CPU)), mib(float64(r.RSSKiB)/1024))
		return r, nil
	}

	// Warm-up (unrecorded): page cache, the apiserver's first writes.
	if _, err := one(small, 0); err != nil {
		return err
	}
	runs := map[[2]int][]*mgrRun{}
	var ratios = map[int][]float64{}
	for round := range b.opts.rounds {
		for p := range managerConfigs {
			order := []int{small, large}
			if round%2 == 1 {
				order = []int{large, small}
			}
			got := map[int]*mgrRun{}
			for _, n := range order {
				r, err := one(n, p)
				if err != nil {
					return err
				}
				got[n] = r
				runs[[2]int{n, p}] = append(runs[[2]int{n, p}], r)
			}
			ratios[p] = append(ratios[p], msf(got[large].Wall)/msf(got[small].Wall))
		}
		r, err := one(twenty, 0)
		if err != nil {
			return err
		}
		runs[[2]int{twenty, 0}] = append(runs[[2]int{twenty, 0}], r)
	}

	sec := b.report.section("manager", fmt.Sprintf("9. Manager mode at scale: `kubectl regtoken enroll --mode manager` on %d, %d and %d virtual downstream clusters", twenty, small, large))
	sec.Intro = append(sec.Intro,
		fmt.Sprintf("`kubectl-regtoken enroll --mode manager --contexts-from FILE --wait-registration=false -n NS -o json`, run directly (no kubectl in front), against the bench's real kube-apiserver as the Fleet management cluster (Fleet's CRDs; no Fleet controller acts on these namespaces, hence --wait-registration=false: the run ends once every Cluster and kubeconfig Secret is written, which is the plugin's own work) and %d virtual downstream clusters: one HTTPS listener of the bench (test/virtualclusters, self-signed CA, HTTP/2) where each cluster is a path prefix (`server: https://127.0.0.1:PORT/clusters/N`) with its own static token and its own kube-system UID, answering exactly the requests manager mode sends downstream (kube-system, SelfSubjectAccessReviews, ServiceAccount, ClusterRoleBinding, TokenRequest) as kube-apiserver does. The kubeconfig holds one context per virtual cluster (its own cluster entry with inline CA, its own user) next to the management context, as a user's would.", large),
		"Each run gets a fresh namespace upstream and fresh virtual clusters (new kube-system UIDs, nothing minted), so every run registers every cluster from scratch; its result is checked: every cluster `Installed` in the JSON, and exactly N Clusters and N kubeconfig Secrets in the namespace. Wall time is from fork/exec to wait4 and *peak RSS* the plugin's ru_maxrss, both taken by the bench's launcher; *CPU* is user + system time from the launcher's rusage, which includes the plugin it waited for (and the launcher's own few milliseconds). The two sizes alternate within a round (small first in even rounds, large first in odd ones); the ratio is taken per round. `--parallel` default is 8.",
		"Loopback warning: every virtual cluster's server is 127.0.0.1, so the plugin warns once per context that the Fleet controller reaches it only on this machine; that output is part of what is measured.")
	t := table{Header: []string{"clusters", "--parallel, --qps", "wall time", "CPU (user+sys)", "peak RSS", "per cluster (wall)", "downstream requests per cluster"}}
	keys := [][2]int{{twenty, 0}}
	for p := range managerConfigs {
		keys = append(keys, [2]int{small, p}, [2]int{large, p})
	}
	sums := map[[2]int][3]summary{}
	for _, k := range keys {
		rs := runs[k]
		var walls, cpus, rss []float64
		for _, r := range rs {
			walls, cpus, rss = append(walls, msf(r.Wall)), append(cpus, msf(r.CPU)), append(rss, float64(r.RSSKiB)/1024)
		}
		s := [3]summary{summarize(walls), summarize(cpus), summarize(rss)}
		sums[k] = s
		t.Rows = append(t.Rows, []string{strconv.Itoa(k[0]), configLabel(k[1]), fmtSummary(s[0], ms), fmtSummary(s[1], ms), fmtSummary(s[2], mib),
			ms(s[0].Median / float64(k[0])), perCluster(rs[0].Requests, k[0])})
	}
	sec.Tables = append(sec.Tables, t)
	rt := table{Header: []string{"--parallel, --qps", fmt.Sprintf("%d ÷ %d (medians)", large, small), "per-round ratio"}}
	for p := range managerConfigs {
		rt.Rows = append(rt.Rows, []string{configLabel(p), ratio(sums[[2]int{large, p}][0].Median / sums[[2]int{small, p}][0].Median), fmtRatios(ratios[p])})
	}
	sec.Tables = append(sec.Tables, rt)
	details := []string{fmt.Sprintf("Downstream requests of the first recorded %d-cluster run (all clusters together):", large), "", "```"}
	details = append(details, runs[[2]int{large, 0}][0].Requests...)
	sec.Details = append(sec.Details, append(details, "```")...)

	// Targets, at the defaults and at the best configuration.
	best := 0
	for p := range managerConfigs {
		if sums[[2]int{large, p}][0].Median < sums[[2]int{large, best}][0].Median {
			best = p
		}
	}
	for _, p := range slices.Compact([]int{0, best}) {
		l, s := sums[[2]int{large, p}], summarize(ratios[p])
		b.report.addTarget("manager", fmt.Sprintf("manager mode, %d virtual clusters, %s: wall ≤ 60 s", large, configLabel(p)), fmt.Sprintf("median %s (max %s)", ms(l[0].Median), ms(l[0].Max)), l[0].Median <= 60000)
		b.report.addTarget("manager", fmt.Sprintf("manager mode, %d virtual clusters, %s: peak RSS ≤ 200 MiB", large, configLabel(p)), fmt.Sprintf("max %s", mib(l[2].Max)), l[2].Max <= 200)
		b.report.addTarget("manager", fmt.Sprintf("manager mode, %s: %d clusters ≤ 12× the time of %d", configLabel(p), large, small), fmt.Sprintf("per round %s", ratio(s.Median)), s.Median <= 12)
	}
	if r := summarize(ratios[0]); r.Median > 12 {
		fl, fs := budgetFloor(large), budgetFloor(small)
		sec.Notes = append(sec.Notes, fmt.Sprintf("At the defaults, %d ÷ %d is %s: the request budget (--qps %d, --burst %d) alone makes %d clusters' %d upstream writes take at least %s and %d clusters' at least %s, and the burst is spent at once on the small run, so no client keeping to it can be linear there. With --qps %d (a budget that does not bind here) the ratio is %s: the plugin's own scaling.",
			large, small, ratio(r.Median), defaultQPS, defaultBurst, large, 2*large, fl, small, fs, managerConfigs[len(managerConfigs)-1].QPS, ratio(summarize(ratios[len(managerConfigs)-1]).Median)))
	}
	tw := sums[[2]int{twenty, 0}]
	b.report.addTarget("manager", fmt.Sprintf("manager mode, %d clusters: the plugin's own wall time (until every Cluster and Secret is written) ≤ 2 s", twenty), fmt.Sprintf("median %s (max %s); CPU %s", ms(tw[0].Median), ms(tw[0].Max), ms(tw[1].Median)), tw[0].Median <= 2000)

	// Where the time goes at the large size: one in-process run under
	// the CPU profiler (CPU shares, not the child's wall time).
	vs.Reset()
	ns := fmt.Sprintf("bench-manager-%d", seq+1)
	if err := b.cluster.ensureNamespace(ctx, ns); err != nil {
		return err
	}
	flat, cum, err := b.profileArgs(ctx, "regtoken", []string{"enroll", "--mode", "manager", "--contexts-from", kubeconfigs[large] + ".txt", "--wait-registration=false", "-n", ns, "--kubeconfig", kubeconfigs[large]})
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("CPU profile of one in-process %d-cluster run (default --parallel), the top functions by cumulative time: %s", large, cumFunctions(cum, 15)))
	sec.Details = append(sec.Details, "", fmt.Sprintf("CPU profile, %d clusters, flat:", large), "", "```", flat, "```", "", "cumulative:", "", "```", cum, "```")
	return nil
}

// configLabel says how managerConfigs[i] ran: "--parallel 8 (default)".
func configLabel(i int) string {
	c := managerConfigs[i]
	s := "--parallel 8 (default)"
	if c.Parallel > 0 {
		s = "--parallel " + strconv.Itoa(c.Parallel)
	}
	if c.QPS > 0 {
		return s + fmt.Sprintf(", --qps %d --burst %d", c.QPS, c.QPS)
	}
	return s + fmt.Sprintf(", --qps %d (default)", defaultQPS)
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perCluster is the downstream request mix divided by n, e.g. "GET
// /api/v1/namespaces/kube-system 1, POST .../selfsubjectaccessreviews 3".
func perCluster(reqs []string, n int) string {
	var out []string
	total := 0
	for _, r := range reqs {
		i := strings.LastIndexByte(r, ' ')
		c, _ := strconv.Atoi(r[i+1:])
		total += c
	}
	out = append(out, fmt.Sprintf("%.1f", float64(total)/float64(n)))
	return strings.Join(out, ", ")
}

// measurePlugin runs kubectl-regtoken args directly (through the bench's
// launcher, no kubectl) and measures wall, peak RSS and CPU.
func (b *bench) measurePlugin(ctx context.Context, args []string, check func(stdout []byte) error) (*mgrRun, error) {
	home, err := b.run.tempDir("home")
	if err != nil {
		return nil, err
	}
	dir, err := b.run.tempDir("run")
	if err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, ".stdout"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// Through the launcher: a child forked from this (large) process
	// would start with its RSS as ru_maxrss, which survives exec. The
	// launcher reports the plugin's wall and peak RSS; its own rusage
	// from wait4 includes the plugin it waited for, so its CPU is the
	// plugin's plus the launcher's few milliseconds.
	measure := filepath.Join(dir, ".measure")
	plugin := filepath.Join(b.run.binDir, "kubectl-regtoken")
	cmd := exec.CommandContext(ctx, b.run.launcher, append([]string{measure, plugin, plugin}, args...)...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = b.run.environ(home), dir, out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl-regtoken %s: %v: %s", strings.Join(args, " "), err, lastLines(stderr.Bytes(), 5))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, fmt.Errorf("no rusage for kubectl-regtoken")
	}
	m, err := os.ReadFile(measure)
	if err != nil {
		return nil, fmt.Errorf("the launcher left no measurement: %w", err)
	}
	var startNs, endNs, wallNs, rssKiB int64
	if _, err := fmt.Sscanf(string(m), "%d %d %d %d", &startNs, &endNs, &wallNs, &rssKiB); err != nil {
		return nil, fmt.Errorf("the launcher's measurement %q: %w", m, err)
	}
	stdout, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	if err := check(stdout); err != nil {
		return nil, fmt.Errorf("wrong result: %w (stderr: %s)", err, lastLines(stderr.Bytes(), 3))
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return &mgrRun{Wall: time.Duration(wallNs), CPU: cpu, RSSKiB: rssKiB}, nil
}

// checkManagerResult: every cluster Installed in the output, and exactly
// n Clusters and n kubeconfig Secrets written upstream.
func checkManagerResult(ctx context.Context, dyn dynamic.Interface, ns string, n int, stdout []byte) error {
	var res struct {
		Clusters []struct {
			Context, Status, Error string
		} `json:"clusters"`
	}
	if err := json.Unmarshal(stdout, &res); err != nil {
		return fmt.Errorf("output is not the Enrollment JSON: %w", err)
	}
	if len(res.Clusters) != n {
		return fmt.Errorf("%d clusters in the output, want %d", len(res.Clusters), n)
	}
	for _, c := range res.Clusters {
		if c.Status != fleet.StatusInstalled {
			return fmt.Errorf("context %s: status %s %s", c.Context, c.Status, c.Error)
		}
	}
	clusters, err := dyn.Resource(fleet.ClusterGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	secrets, err := dyn.Resource(secretsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: fleet.ManagedByLabel + "=" + fleet.ManagedByValue})
	if err != nil {
		return err
	}
	if len(clusters.Items) != n || len(secrets.Items) != n {
		return fmt.Errorf("%d Clusters and %d kubeconfig Secrets in namespace %s, want %d of each", len(clusters.Items), len(secrets.Items), ns, n)
	}
	return nil
}

// profileArgs is profile for arguments that carry their own
// --kubeconfig: one in-process run under the CPU profiler.
func (b *bench) profileArgs(ctx context.Context, plugin string, args []string) (flat, cum string, err error) {
	p, ok := pluginset.ByName(plugin)
	if !ok {
		return "", "", fmt.Errorf("no plugin %q", plugin)
	}
	path := filepath.Join(b.scratch, "cpu-manager.pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return "", "", err
	}
	var errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}
	root, fac := p.NewCommand(streams)
	code := cli.Run(root, fac, streams, args)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return "", "", err
	}
	if code != 0 {
		return "", "", fmt.Errorf("kubectl %s %s: exit %d: %s", plugin, strings.Join(args, " "), code, lastLines(errOut.Bytes(), 3))
	}
	top := func(extra ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof", "-top"}, extra...), path)...)
		cmd.Dir = b.root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go tool pprof: %w", err)
		}
		return trimPprof(string(out)), nil
	}
	if flat, err = top("-nodecount=15"); err != nil {
		return "", "", err
	}
	cum, err = top("-cum", "-nodecount=30")
	return flat, cum, err
}

// cumFunctions picks the first n function names of a cumulative top with
// their cum%, leaving out the runtime's roots.
func cumFunctions(cum string, n int) string {
	var out []string
	for _, l := range strings.Split(cum, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		name := strings.Join(f[5:], " ")
		if name == "runtime.goexit" || name == "runtime.main" || name == "main.main" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s", name, f[4]))
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, ", ")
}
