package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// scaleNamespace holds the seeded ClusterRegistrationTokens.
const scaleNamespace = "bench-scale"

// listBound is the most a plugin's list may take of kubectl get's wall
// time and peak RSS on the same objects.
const listBound = 0.7

// scaleCase is one listing at scale.
type scaleCase struct {
	Key    string
	N      int
	Seed   func(ctx context.Context) error
	Ours   []string // argv after "kubectl"
	Anchor [][]string
	// Diag are extra runs of ours with other settings (after "kubectl"),
	// reported to show a trade-off, never judged.
	Diag  [][]string
	Lines int // a correct listing prints at least this many lines
	// DirectVsFirst, when set, is the most the plugin run directly may
	// take of the first anchor's wall time (per round), and its peak RSS
	// must not exceed that anchor's (issue 13: bootstrap list vs kubeadm).
	DirectVsFirst float64
}

func (b *bench) scale(ctx context.Context) error {
	sec := b.report.section("scale", "4. Lists at scale")
	sec.Intro = append(sec.Intro,
		"Objects are seeded with parallel client-go creates, then each listing runs side by side; every listing's line count is checked. "+
			"kubectl runs with a warm discovery cache (its everyday case and the kinder one to it); the requests column is counted from the audit log as in comparison 2. "+
			"`kubectl-<plugin> list` run directly isolates the plugin's own memory from the kubectl process that execs it.")

	kubeconfig := b.cluster.kubeconfig
	cases := []scaleCase{
		{
			Key: "bootstrap tokens", N: b.opts.scaleBoot,
			Seed: func(ctx context.Context) error { return b.seedBootstrapTokens(ctx, b.opts.scaleBoot) },
			Ours: []string{"bootstrap", "list"},
			Anchor: [][]string{
				{b.kubeadm(), "token", "list", "--kubeconfig", kubeconfig},
				{"kubectl", "get", "secrets", "-n", "kube-system", "--field-selector", "type=bootstrap.kubernetes.io/token"},
			},
			// The page size was measured: kubectl's 500 and one request
			// for all, beside list's own default.
			Diag:          [][]string{{"bootstrap", "list", "--chunk-size", "500"}, {"bootstrap", "list", "--chunk-size", "0"}},
			Lines:         b.opts.scaleBoot,
			DirectVsFirst: 0.7,
		},
		{
			Key: "ext tokens", N: b.opts.scaleExt,
			Seed:   func(ctx context.Context) error { return b.seedExtTokens(ctx, b.opts.scaleExt) },
			Ours:   []string{"exttoken", "list"},
			Anchor: [][]string{{"kubectl", "get", "tokens.ext.cattle.io"}},
			Diag:   [][]string{{"exttoken", "list", "--chunk-size", "0"}},
			Lines:  b.opts.scaleExt,
		},
		{
			Key: "registration tokens", N: b.opts.scaleReg,
			Seed:   func(ctx context.Context) error { return b.seedRegistrationTokens(ctx, scaleNamespace, b.opts.scaleReg) },
			Ours:   []string{"regtoken", "list", "-n", scaleNamespace},
			Anchor: [][]string{{"kubectl", "get", "clusterregistrationtokens", "-n", scaleNamespace}},
			Lines:  b.opts.scaleReg,
		},
	}

	t := table{Header: []string{"objects", "command", "wall time", "peak RSS", "requests", "apiserver time", "wall ÷ this anchor", "per-round wall ratio", "RSS ÷ this anchor"}}
	for _, c := range cases {
		start := time.Now()
		b.logf("seeding %d %s", c.N, c.Key)
		if err := c.Seed(ctx); err != nil {
			return fmt.Errorf("seeding %s: %w", c.Key, err)
		}
		b.logf("seeded %d %s in %s", c.N, c.Key, time.Since(start).Round(time.Millisecond))
		sec.Intro = append(sec.Intro, fmt.Sprintf("Seeding %d %s took %s.", c.N, c.Key, time.Since(start).Round(100*time.Millisecond)))

		check := atLeastLines(c.Lines)
		ours := b.counted("kubectl "+strings.Join(c.Ours, " "), "–", true, func(int) (proc, error) {
			return proc{Argv: append([]string{"kubectl"}, c.Ours...), Check: check}, nil
		})
		direct := b.counted("kubectl-"+strings.Join(c.Ours, " "), "–", true, func(int) (proc, error) {
			return proc{Argv: append([]string{"kubectl-" + c.Ours[0]}, c.Ours[1:]...), Check: check}, nil
		})
		cvs := []*countedVariant{ours, direct}
		for _, argv := range c.Anchor {
			label := displayArgv(argv)
			home, err := b.home("warm")
			if err != nil {
				return err
			}
			cvs = append(cvs, b.counted(label, "warm", false, func(int) (proc, error) {
				h, err := home()
				return proc{Argv: argv, Home: h, Check: check}, err
			}))
		}
		anchors := len(cvs)
		for _, argv := range c.Diag {
			cvs = append(cvs, b.counted("kubectl "+strings.Join(argv, " "), "–", false, func(int) (proc, error) {
				return proc{Argv: append([]string{"kubectl"}, argv...), Check: check}, nil
			}))
		}
		vs := make([]variant, len(cvs))
		for i, cv := range cvs {
			vs[i] = cv.variant
		}
		series, err := b.alternate(ctx, b.opts.rounds, vs)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Key, err)
		}
		ow, or := summarize(series[0].walls()), summarize(series[0].rss())
		var slower []string
		for i, s := range series {
			w, r := summarize(s.walls()), summarize(s.rss())
			req, server := []float64{}, []float64{}
			for _, fc := range cvs[i].Counts {
				req = append(req, float64(fc.Total))
				server = append(server, fc.ServerMs)
			}
			label := code(s.Label)
			if cvs[i].Ours {
				label = "**" + label + "**"
			}
			if i >= anchors {
				label += " (for comparison: " + pagesLabel(c.Diag[i-anchors]) + ")"
			}
			row := []string{fmt.Sprintf("%d %s", c.N, c.Key), label, fmtSummary(w, ms), fmtSummary(r, mib), count(summarize(req)), fmtSummary(summarize(server), ms), "", "", ""}
			if i >= 2 && i < anchors {
				row[6] = fmt.Sprintf("ours %s", ratio(ow.Median/w.Median))
				row[7] = fmtRatios(pairRatios(series[0].walls(), s.walls()))
				row[8] = fmt.Sprintf("ours %s", ratio(or.Median/r.Median))
				pr := summarize(pairRatios(series[0].walls(), s.walls()))
				if pr.Median > 1 {
					slower = append(slower, s.Label)
				}
				b.report.addTarget("scale", fmt.Sprintf("%s no slower than %s (%d %s)", code(series[0].Label), code(s.Label), c.N, c.Key),
					fmt.Sprintf("per round %s (medians %s vs %s)", ratio(pr.Median), ms(ow.Median), ms(w.Median)), pr.Median <= 1)
				if strings.HasPrefix(s.Label, "kubectl get") {
					b.report.addTarget("scale", fmt.Sprintf("%s peak RSS ≤ %s's (%d %s)", code(series[0].Label), code(s.Label), c.N, c.Key),
						fmt.Sprintf("%s vs %s = %s", mib(or.Median), mib(r.Median), ratio(or.Median/r.Median)), or.Median <= r.Median)
					// The lists' bound against kubectl get: wall and peak RSS
					// at most listBound of its, through kubectl (run directly
					// beside it, since both sides pay kubectl's own start).
					pd := summarize(pairRatios(series[1].walls(), s.walls()))
					b.report.addTarget("scale", fmt.Sprintf("%s wall ≤ %.1f× %s (%d %s)", code(series[0].Label), listBound, code(s.Label), c.N, c.Key),
						fmt.Sprintf("per round %s; run directly %s", ratio(pr.Median), ratio(pd.Median)), pr.Median <= listBound)
					b.report.addTarget("scale", fmt.Sprintf("%s peak RSS ≤ %.1f× %s's (%d %s)", code(series[0].Label), listBound, code(s.Label), c.N, c.Key),
						fmt.Sprintf("%s vs %s = %s", mib(or.Median), mib(r.Median), ratio(or.Median/r.Median)), or.Median <= listBound*r.Median)
					if or.Median > r.Median {
						dr := summarize(series[1].rss())
						sec.Notes = append(sec.Notes, fmt.Sprintf("%d %s: `kubectl %s` peaks at %s, `%s` at %s. The plugin alone (run directly) peaks at %s. "+
							"kubectl get asks the server for a Table (names and a few columns), while the plugin needs every object's fields; requests per run are in the table.",
							c.N, c.Key, strings.Join(c.Ours, " "), mib(or.Median), s.Label, mib(r.Median), mib(dr.Median)))
					}
				}
			}
			if i == 2 && c.DirectVsFirst > 0 {
				dw, dr := series[1].walls(), summarize(series[1].rss())
				pr := summarize(pairRatios(dw, s.walls()))
				b.report.addTarget("scale", fmt.Sprintf("%s ≤ %.1f× %s (%d %s)", code(series[1].Label), c.DirectVsFirst, code(s.Label), c.N, c.Key),
					fmt.Sprintf("per round %s (medians %s vs %s)", ratio(pr.Median), ms(summarize(dw).Median), ms(w.Median)), pr.Median <= c.DirectVsFirst)
				b.report.addTarget("scale", fmt.Sprintf("%s peak RSS ≤ %s's (%d %s)", code(series[0].Label), code(s.Label), c.N, c.Key),
					fmt.Sprintf("%s vs %s = %s", mib(or.Median), mib(r.Median), ratio(or.Median/r.Median)), or.Median <= r.Median)
				b.report.addTarget("scale", fmt.Sprintf("%s peak RSS ≤ %s's (%d %s)", code(series[1].Label), code(s.Label), c.N, c.Key),
					fmt.Sprintf("%s vs %s = %s", mib(dr.Median), mib(r.Median), ratio(dr.Median/r.Median)), dr.Median <= r.Median)
			}
			t.Rows = append(t.Rows, row)
			if len(cvs[i].Counts) > 0 && len(cvs[i].Counts[0].Lines) <= 40 {
				sec.Details = append(sec.Details, fmt.Sprintf("%d %s — %s, first recorded run:\n\n```\n%s\n```\n", c.N, c.Key, s.Label, strings.Join(cvs[i].Counts[0].Lines, "\n")))
			}
		}
		if (len(slower) > 0 && !b.opts.smoke) || b.opts.profile {
			b.logf("profiling kubectl %s in-process", strings.Join(c.Ours, " "))
			flat, cum, err := b.profile(ctx, c.Ours[0], c.Ours[1:], 3)
			if err != nil {
				return fmt.Errorf("profiling kubectl %s: %w", strings.Join(c.Ours, " "), err)
			}
			srv := []float64{}
			for _, fc := range cvs[0].Counts {
				srv = append(srv, fc.ServerMs)
			}
			if len(slower) > 0 {
				cpu := "an unknown amount"
				if total, ok := totalSamples(flat); ok {
					cpu = ms(float64(total) / 3 / 1e6)
				}
				where := "too few samples to name a hot spot"
				if total, ok := totalSamples(flat); ok && total >= 200*time.Millisecond {
					where = "the most time on its own in " + topFunctions(flat, 6)
				}
				direct := summarize(series[1].walls())
				diag := ""
				for i := anchors; i < len(series); i++ {
					diag += fmt.Sprintf(" `%s` (%s) took %s with a peak RSS of %s.", series[i].Label, pagesLabel(c.Diag[i-anchors]), ms(summarize(series[i].walls()).Median), mib(summarize(series[i].rss()).Median))
				}
				sec.Notes = append(sec.Notes, fmt.Sprintf("%d %s: `kubectl %s` (median %s) is slower than %s. Run directly, `kubectl-%s` took %s: the difference is kubectl starting up and exec'ing the plugin. "+
					"The apiserver spent %s answering it (audit log). "+
					"Run in-process under the CPU profiler (3 runs), the command used %s of CPU per run, with %s (tops under Evidence); "+
					"the remainder of its wall time is waiting: for the server, and for a CPU on this shared machine (see the load average).%s",
					c.N, c.Key, strings.Join(c.Ours, " "), ms(ow.Median), strings.Join(codes(slower), " and "), strings.Join(c.Ours, " "), ms(direct.Median),
					ms(summarize(srv).Median), cpu, where, diag))
			}
			sec.Details = append(sec.Details, fmt.Sprintf("CPU profile of `kubectl %s` with %d %s, in-process, 3 runs — flat:\n\n```\n%s\n```\n\ncumulative:\n\n```\n%s\n```\n", strings.Join(c.Ours, " "), c.N, c.Key, flat, cum))
		}
	}
	sec.Tables = append(sec.Tables, t)
	return nil
}

// pagesLabel says how a diagnostic run pages, from its --chunk-size.
func pagesLabel(argv []string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "--chunk-size" {
			if argv[i+1] == "0" {
				return "one request, no pages"
			}
			return "pages of " + argv[i+1]
		}
	}
	return "other settings"
}

// displayArgv shows a command as a user would type it (kubeadm by name).
func displayArgv(argv []string) string {
	out := make([]string, 0, len(argv))
	for i, a := range argv {
		if i == 0 && strings.HasSuffix(a, "/kubeadm") {
			a = "kubeadm"
		}
		if a == "--kubeconfig" || (i > 0 && argv[i-1] == "--kubeconfig") {
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

func codes(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = code(x)
	}
	return out
}
