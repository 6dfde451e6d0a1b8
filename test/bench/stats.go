package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// variant is one side of a comparison; make builds the command of a
// round (round -1 is the unrecorded warm-up), so every run can use fresh
// object names.
type variant struct {
	Label string
	Make  func(round int) (proc, error)
	// After runs once a run has finished (e.g. to read the audit log or
	// the emulator's timestamps for it).
	After func(round int, r *result) error
	// Warm marks a variant whose measured state needs the warm-up run
	// (a filled kubectl cache): it is warmed up even in a smoke run.
	Warm bool
}

// series is every recorded run of one variant.
type series struct {
	Label string
	Runs  []*result
}

func (s *series) walls() []float64 {
	out := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = float64(r.Wall) / float64(time.Millisecond)
	}
	return out
}

// cpus are the runs' CPU times (ms) of the whole process tree.
func (s *series) cpus() []float64 {
	out := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = float64(r.CPU) / float64(time.Millisecond)
	}
	return out
}

func (s *series) rss() []float64 {
	out := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = float64(r.RSSKiB) / 1024
	}
	return out
}

// summary is a median with its range.
type summary struct {
	Median, Min, Max float64
	N                int
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// pairRatios divides run i of a by run i of b (runs of one round are
// neighbours in time, so load on the shared machine hits both alike).
func pairRatios(a, b []float64) []float64 {
	n := min(len(a), len(b))
	out := make([]float64, 0, n)
	for i := range n {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// alternate runs the variants side by side: one unrecorded warm-up run of
// each (page cache, TLS session set-up on the server), then rounds rounds,
// the order reversed every other round (A B, B A, A B, ...) so neither side
// always runs right after the other.
func (b *bench) alternate(ctx context.Context, rounds int, vs []variant) ([]*series, error) {
	out := make([]*series, len(vs))
	for i, v := range vs {
		out[i] = &series{Label: v.Label}
	}
	for round := -1; round < rounds; round++ {
		order := make([]int, len(vs))
		for i := range order {
			order[i] = i
		}
		if round%2 != 0 && round > 0 {
			slices.Reverse(order)
		}
		for _, i := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if round < 0 && b.opts.smoke && !vs[i].Warm {
				continue // a smoke run proves the harness; it needs no warm-up
			}
			p, err := vs[i].Make(round)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", vs[i].Label, err)
			}
			if p.Label == "" {
				p.Label = vs[i].Label
			}
			res, err := b.run.run(ctx, p)
			if err != nil {
				return nil, err
			}
			if vs[i].After != nil {
				if err := vs[i].After(round, res); err != nil {
					return nil, fmt.Errorf("%s: %w", vs[i].Label, err)
				}
			}
			if round >= 0 {
				out[i].Runs = append(out[i].Runs, res)
			}
			b.logf("  %-60s round %2d  %8.1f ms  %6.1f MiB", vs[i].Label, round, float64(res.Wall)/1e6, float64(res.RSSKiB)/1024)
		}
	}
	return out, nil
}

// column summarizes one measure f of every split in xs: a table's column.
func column[T any](xs []T, f func(T) float64) summary {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return summarize(v)
}
