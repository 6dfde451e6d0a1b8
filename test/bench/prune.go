package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// Prune sizes: the 100,000 of 200,000 v3 tokens and 20,000 ext
// tokens; -smoke shrinks them. One by one is timed on a sample and
// extrapolated per token (a process per token for 100,000 tokens would
// take hours); the tables say so on every such row.
var (
	pruneV3     = flag.Int("prune-v3", 100000, "v3 tokens a prune selects (as many again are seeded that it must leave)")
	pruneExt    = flag.Int("prune-ext", 20000, "ext tokens a prune selects")
	pruneSample = flag.Int("prune-sample", 300, "tokens deleted one by one to time the one-by-one rows (extrapolated per token)")
)

// Labels of the seeded tokens: every one carries pruneLabel, the selected
// half also pruneHalf (for kubectl's deletecollection, which cannot select
// by ttl).
const (
	pruneLabel = "bench.kubectl-tokens.io/prune"
	pruneHalf  = "bench.kubectl-tokens.io/half"
)

// pruneRun is one timed prune.
type pruneRun struct {
	label      string
	n          int     // tokens it deleted
	wall       float64 // ms
	rssMiB     float64
	sampled    bool    // timed on a sample, wall extrapolated to n
	perToken   float64 // ms per token
	sampleSize int
}

func (b *bench) prune(ctx context.Context) error {
	nV3, nExt, sample := *pruneV3, *pruneExt, *pruneSample
	if b.opts.smoke {
		nV3, nExt, sample = 200, 100, 20
	}
	sec := b.report.section("prune", "5. Prunes at scale")
	sec.Intro = append(sec.Intro,
		fmt.Sprintf("Tokens are seeded straight into storage by the Rancher emulator's bulk helpers (%d parallel creates): v3 tokens as their CRD objects, ext tokens as their Secrets in cattle-tokens. "+
			"Each prune runs once on freshly seeded tokens (a prune destroys its input, so rounds would need a reseed each); "+
			"every run is checked: exactly the selected tokens are gone and the others are left.", rancher.BulkWorkers),
		fmt.Sprintf("One by one is timed on a sample of %d tokens and extrapolated per token to the full selection (rows marked *extrapolated*): "+
			"`kubectl delete NAME` once per token, sequentially, is what `kubectl get -o name | xargs -n1 kubectl delete` does; "+
			"`--parallel 1` is our prune with one delete in flight.", sample),
		"`kubectl delete -l` is not one deletecollection: kubectl lists the selection and deletes object by object, within its client-side limit of 5 requests per second. "+
			"A real deletecollection (one DELETE on the collection, the apiserver deleting server-side, no preconditions, no selection by age or use) is sent with `kubectl delete --raw`; both are rows.")

	t := table{Header: []string{"selection", "command", "wall time", "per token", "peak RSS", "ours is faster by"}}
	dyn, err := dynamic.NewForConfig(b.cluster.cfg)
	if err != nil {
		return err
	}
	v3 := dyn.Resource(rancher.V3TokensGVR)

	// v3: 2n seeded, half never expiring (ttl 0) and labelled half=a.
	seedV3 := func(ctx context.Context, n int, onlySelected bool) error {
		start := time.Now()
		err := rancher.SeedLegacyTokens(ctx, b.cluster.cfg, n, func(i int) rancher.LegacyToken {
			selected := onlySelected || i%2 == 0
			tk := rancher.LegacyToken{User: fmt.Sprintf("u-bench%d", i%50), TTL: 30 * 24 * 3600 * 1000, Derived: true, Value: "v",
				Labels: map[string]string{pruneLabel: "v3"}}
			if selected {
				tk.TTL = 0
				tk.Labels[pruneHalf] = "a"
			}
			return tk
		})
		if err == nil {
			d := time.Since(start)
			b.logf("seeded %d v3 tokens in %s (%.0f/s)", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
			sec.Intro = append(sec.Intro, fmt.Sprintf("Seeding %d v3 tokens took %s (%.0f tokens/s).", n, d.Round(100*time.Millisecond), float64(n)/d.Seconds()))
		}
		return err
	}
	countV3 := func(ctx context.Context, selector string) (int, error) {
		list, err := v3.List(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: "0"})
		if err != nil {
			return 0, err
		}
		return len(list.Items), nil
	}
	checkV3 := func(ctx context.Context, label string, wantSelected, wantOthers int) error {
		sel, err := countV3(ctx, pruneLabel+"=v3,"+pruneHalf+"=a")
		if err != nil {
			return err
		}
		all, err := countV3(ctx, pruneLabel+"=v3")
		if err != nil {
			return err
		}
		if sel != wantSelected || all-sel != wantOthers {
			return fmt.Errorf("%s left %d selected and %d other v3 tokens, want %d and %d", label, sel, all-sel, wantSelected, wantOthers)
		}
		return nil
	}

	b.logf("prune: seeding %d v3 tokens", 2*nV3)
	if err := seedV3(ctx, 2*nV3, false); err != nil {
		return err
	}
	oursArgv := []string{"kubectl", "exttoken", "legacy", "delete", "--never-expiring", "-l", pruneLabel + "=v3"}
	ours, err := b.timedPrune(ctx, "kubectl exttoken legacy delete --never-expiring -l …", oursArgv, nV3)
	if err != nil {
		return err
	}
	if err := checkV3(ctx, ours.label, 0, nV3); err != nil {
		return err
	}
	// kubectl delete -l lists and then deletes object by object (at
	// kubectl's 5 requests per second); one real deletecollection is a
	// DELETE on the collection, which kubectl sends with --raw.
	if err := seedV3(ctx, nV3, true); err != nil {
		return err
	}
	rawLabel := "kubectl delete --raw /apis/management.cattle.io/v3/tokens?labelSelector=… (one deletecollection)"
	// The bench's apiserver allows it 30 minutes (cluster.go): at the
	// default 60s it would be cut off, and its deletion with it.
	raw, err := b.timedPrune(ctx, rawLabel,
		[]string{"kubectl", "delete", "--raw", "/apis/management.cattle.io/v3/tokens?labelSelector=" + url.QueryEscape(pruneLabel+"=v3,"+pruneHalf+"=a")}, nV3)
	if err != nil {
		return err
	}
	if err := checkV3(ctx, raw.label, 0, nV3); err != nil {
		return err
	}
	// kubectl delete -l runs at 5 deletes a second: on a sample.
	if err := seedV3(ctx, sample, true); err != nil {
		return err
	}
	dc, err := b.timedPrune(ctx, "kubectl delete tokens.management.cattle.io -l …",
		[]string{"kubectl", "delete", "tokens.management.cattle.io", "-l", pruneLabel + "=v3," + pruneHalf + "=a"}, sample)
	if err != nil {
		return err
	}
	dc.extrapolate(nV3)
	if err := checkV3(ctx, dc.label, 0, nV3); err != nil {
		return err
	}
	// One by one, on a sample of the selection.
	if err := seedV3(ctx, sample, true); err != nil {
		return err
	}
	names, err := b.selectedV3(ctx, v3, sample)
	if err != nil {
		return err
	}
	loop, err := b.oneByOne(ctx, "kubectl delete tokens.management.cattle.io NAME, one by one", "tokens.management.cattle.io", names, nV3)
	if err != nil {
		return err
	}
	if err := seedV3(ctx, sample, true); err != nil {
		return err
	}
	// Its selector names the sample alone, so the listing of the other
	// half is not extrapolated as if it were per-token work.
	seq, err := b.timedPrune(ctx, "kubectl exttoken legacy delete --never-expiring -l … --parallel 1",
		[]string{"kubectl", "exttoken", "legacy", "delete", "--never-expiring", "-l", pruneLabel + "=v3," + pruneHalf + "=a", "--parallel", "1"}, sample)
	if err != nil {
		return err
	}
	seq.extrapolate(nV3)
	if err := checkV3(ctx, seq.label, 0, nV3); err != nil {
		return err
	}
	sel := fmt.Sprintf("%d of %d v3 tokens", nV3, 2*nV3)
	for _, r := range []pruneRun{ours, raw, dc, seq, loop} {
		t.Rows = append(t.Rows, r.row(sel, ours))
	}
	b.report.addTarget("prune", fmt.Sprintf("v3 prune ≥ 8× faster than one by one (%s)", sel),
		fmt.Sprintf("%s vs %s (kubectl per token, extrapolated) and %s (--parallel 1, extrapolated)", ratio(loop.wall/ours.wall), ms(loop.wall), ratio(seq.wall/ours.wall)), loop.wall/ours.wall >= 8)
	b.report.addTarget("prune", fmt.Sprintf("v3 prune ≤ 2× one deletecollection (%s)", sel),
		fmt.Sprintf("%s vs %s = %s", ms(ours.wall), ms(raw.wall), ratio(ours.wall/raw.wall)), ours.wall <= 2*raw.wall)
	b.report.addTarget("prune", fmt.Sprintf("v3 prune ≤ 2× `kubectl delete -l` (%s)", sel),
		fmt.Sprintf("%s vs %s (extrapolated) = %s", ms(ours.wall), ms(dc.wall), ratio(ours.wall/dc.wall)), ours.wall <= 2*dc.wall)
	b.report.addTarget("prune", fmt.Sprintf("v3 prune peak RSS ≤ 100 MiB (%s)", sel), mib(ours.rssMiB), ours.rssMiB <= 100)

	// ext tokens through the aggregated API.
	seedExt := func(ctx context.Context, n int) ([]string, error) {
		start := time.Now()
		names, err := rancher.SeedTokens(ctx, b.cluster.cfg, n, func(i int) rancher.BulkToken {
			return rancher.BulkToken{User: fmt.Sprintf("u-bench%d", i%50), Kind: "kubeconfig", TTL: -1, Labels: map[string]string{pruneLabel: "ext"}}
		})
		if err == nil {
			d := time.Since(start)
			b.logf("seeded %d ext tokens in %s (%.0f/s)", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
			sec.Intro = append(sec.Intro, fmt.Sprintf("Seeding %d ext tokens took %s (%.0f tokens/s).", n, d.Round(100*time.Millisecond), float64(n)/d.Seconds()))
		}
		return names, err
	}
	checkExt := func(ctx context.Context, label string) error {
		list, err := b.cluster.kube.CoreV1().Secrets(rancher.TokenNamespace).List(ctx, metav1.ListOptions{LabelSelector: pruneLabel + "=ext", ResourceVersion: "0"})
		if err != nil {
			return err
		}
		if len(list.Items) != 0 {
			return fmt.Errorf("%s left %d ext tokens", label, len(list.Items))
		}
		return nil
	}
	if _, err := seedExt(ctx, nExt); err != nil {
		return err
	}
	extOurs, err := b.timedPrune(ctx, "kubectl exttoken delete -l …", []string{"kubectl", "exttoken", "delete", "-l", pruneLabel + "=ext"}, nExt)
	if err != nil {
		return err
	}
	if err := checkExt(ctx, extOurs.label); err != nil {
		return err
	}
	extNames, err := seedExt(ctx, sample)
	if err != nil {
		return err
	}
	extLoop, err := b.oneByOne(ctx, "kubectl delete tokens.ext.cattle.io NAME, one by one", "tokens.ext.cattle.io", extNames, nExt)
	if err != nil {
		return err
	}
	if err := checkExt(ctx, extLoop.label); err != nil {
		return err
	}
	esel := fmt.Sprintf("%d ext tokens", nExt)
	for _, r := range []pruneRun{extOurs, extLoop} {
		t.Rows = append(t.Rows, r.row(esel, extOurs))
	}
	b.report.addTarget("prune", fmt.Sprintf("ext prune ≥ 8× faster than one by one (%s, aggregated API)", esel),
		fmt.Sprintf("%s vs %s (extrapolated) = %s", ms(extOurs.wall), ms(extLoop.wall), ratio(extLoop.wall/extOurs.wall)), extLoop.wall/extOurs.wall >= 8)
	sec.Tables = append(sec.Tables, t)
	return nil
}

// timedPrune runs argv once and reads its wall time and peak RSS.
func (b *bench) timedPrune(ctx context.Context, label string, argv []string, n int) (pruneRun, error) {
	b.logf("prune: %s (%d tokens)", label, n)
	res, err := b.run.run(ctx, proc{Label: label, Argv: argv})
	if err != nil {
		return pruneRun{}, err
	}
	wall := float64(res.Wall) / float64(time.Millisecond)
	b.logf("prune: %s took %s, peak RSS %s", label, ms(wall), mib(float64(res.RSSKiB)/1024))
	return pruneRun{label: label, n: n, wall: wall, rssMiB: float64(res.RSSKiB) / 1024, perToken: wall / float64(n)}, nil
}

// oneByOne deletes names with one kubectl process each, in sequence, and
// extrapolates the time per token to n.
func (b *bench) oneByOne(ctx context.Context, label, resource string, names []string, n int) (pruneRun, error) {
	b.logf("prune: %s (sample of %d)", label, len(names))
	// One HOME for the loop: kubectl's discovery cache is warm after the
	// first token, as in a user's shell loop.
	warm, err := b.run.tempDir("home-warm")
	if err != nil {
		return pruneRun{}, err
	}
	var total time.Duration
	var peak int64
	for _, name := range names {
		res, err := b.run.run(ctx, proc{Label: label, Argv: []string{"kubectl", "delete", resource, name}, Home: warm})
		if err != nil {
			return pruneRun{}, err
		}
		total += res.Wall
		peak = max(peak, res.RSSKiB)
	}
	r := pruneRun{label: label, n: len(names), wall: float64(total) / float64(time.Millisecond), rssMiB: float64(peak) / 1024}
	r.perToken = r.wall / float64(len(names))
	r.extrapolate(n)
	return r, nil
}

func (r *pruneRun) extrapolate(n int) {
	r.sampled, r.sampleSize = true, r.n
	r.perToken = r.wall / float64(r.n)
	r.wall = r.perToken * float64(n)
	r.n = n
}

func (r pruneRun) row(selection string, ours pruneRun) []string {
	label := code(r.label)
	wall := ms(r.wall)
	if r.sampled {
		wall = fmt.Sprintf("%s *extrapolated* (sample of %d)", ms(r.wall), r.sampleSize)
	}
	faster := "–"
	if r.label != ours.label {
		faster = ratio(r.wall / ours.wall)
	} else {
		label = "**" + label + "**"
	}
	return []string{selection, label, wall, fmt.Sprintf("%.2f ms", r.perToken), mib(r.rssMiB), faster}
}

// selectedV3 names n selected v3 tokens (the sample just seeded).
func (b *bench) selectedV3(ctx context.Context, ri dynamic.ResourceInterface, n int) ([]string, error) {
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: pruneLabel + "=v3," + pruneHalf + "=a"})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, u := range list.Items {
		names = append(names, u.GetName())
	}
	if len(names) != n {
		return nil, fmt.Errorf("found %d selected v3 tokens, want the %d seeded: %s", len(names), n, strings.Join(names[:min(5, len(names))], ", "))
	}
	return names, nil
}
