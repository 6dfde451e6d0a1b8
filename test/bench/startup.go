package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// startupFactor: start-up runs are cheap, so they get more rounds.
const startupFactor = 4

// sizeLimit is the release binary guard, in bytes (40 MB, decimal, the
// stricter reading): a ceiling to keep, not a size to aim at.
const sizeLimit = 40_000_000

// versionPkg is where the release stamps the version (as .goreleaser.yaml).
const versionPkg = "github.com/kubectl-tokens/kubectl-tokens/pkg/version"

var platforms = [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}}

func (b *bench) startup(ctx context.Context) error {
	sec := b.report.section("startup", "3. Start-up and binary size")
	sec.Intro = append(sec.Intro,
		"`kubectl-<plugin> version` run directly (what start-up costs the plugin itself) and through kubectl (`kubectl <plugin> version`, what a user types: kubectl starts, finds the plugin on PATH and execs it), against `kubectl version --client`. "+
			"Each command keeps one HOME across its runs, like a user's machine. "+
			"Ratios are against `kubectl version --client`.")

	home, err := b.run.tempDir("home-startup")
	if err != nil {
		return err
	}
	anchor := variant{Label: "kubectl version --client", Make: func(int) (proc, error) {
		return proc{Argv: []string{"kubectl", "version", "--client"}, Home: home, Check: contains("Client Version")}, nil
	}}
	vs := []variant{anchor}
	for _, p := range plugins {
		vs = append(vs, variant{Label: "kubectl-" + p + " version", Make: func(int) (proc, error) {
			return proc{Argv: []string{"kubectl-" + p, "version"}, Home: home, Check: contains("kubectl-" + p)}, nil
		}})
	}
	for _, p := range plugins {
		vs = append(vs, variant{Label: "kubectl " + p + " version", Make: func(int) (proc, error) {
			return proc{Argv: []string{"kubectl", p, "version"}, Home: home, Check: contains("kubectl-" + p)}, nil
		}})
	}
	// The machine's kubectl may be the Cloud SDK dispatcher; the plain
	// kubectl it falls back to sits beside it as kubectl.<major>.<minor>.
	plain := plainKubectl(b.run.environ(home))
	if plain != "" {
		vs = append(vs, variant{Label: filepath.Base(plain) + " version --client (no dispatcher)", Make: func(int) (proc, error) {
			return proc{Argv: []string{plain, "version", "--client"}, Home: home, Check: contains("Client Version")}, nil
		}})
	}
	series, err := b.alternate(ctx, b.opts.rounds*startupFactor, vs)
	if err != nil {
		return err
	}
	base := series[0]
	baseWall, baseRSS := summarize(base.walls()), summarize(base.rss())
	t := table{Header: []string{"command", "wall time", "peak RSS", "wall ÷ kubectl", "per-round wall ratio", "RSS ÷ kubectl"}}
	for _, s := range series {
		w, r := summarize(s.walls()), summarize(s.rss())
		row := []string{code(s.Label), fmtSummary(w, ms), fmtSummary(r, mib), "", "", ""}
		if s != base {
			row[3] = ratio(w.Median / baseWall.Median)
			row[4] = fmtRatios(pairRatios(s.walls(), base.walls()))
			row[5] = ratio(r.Median / baseRSS.Median)
		}
		t.Rows = append(t.Rows, row)
	}
	sec.Tables = append(sec.Tables, t)

	for i, p := range plugins {
		s := series[1+i]
		w, r := summarize(s.walls()), summarize(s.rss())
		pr := summarize(pairRatios(s.walls(), base.walls()))
		b.report.addTarget("start-up", fmt.Sprintf("`kubectl-%s version` wall time ≤ 0.5× `kubectl version --client`", p),
			fmt.Sprintf("per round %s (medians %s vs %s)", ratio(pr.Median), ms(w.Median), ms(baseWall.Median)), pr.Median <= 0.5)
		b.report.addTarget("start-up", fmt.Sprintf("`kubectl-%s version` peak RSS ≤ kubectl's", p),
			fmt.Sprintf("%s vs %s = %s", mib(r.Median), mib(baseRSS.Median), ratio(r.Median/baseRSS.Median)), r.Median <= baseRSS.Median)
	}
	var tax []string
	for i, p := range plugins {
		direct, via := summarize(series[1+i].walls()), summarize(series[1+len(plugins)+i].walls())
		tax = append(tax, fmt.Sprintf("%s for %s", ms(via.Median-direct.Median), p))
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("Through kubectl a plugin first pays for kubectl itself: kubectl builds its whole command tree, then looks the plugin up on PATH and execs it. "+
		"`kubectl <plugin> version` minus `kubectl-<plugin> version` (medians): %s. Every plugin command run through kubectl in this file carries that cost; "+
		"its peak RSS is kubectl's own, since ru_maxrss keeps the high-water mark across the exec.", strings.Join(tax, ", ")))
	if plain != "" {
		ps := series[len(series)-1]
		var vsPlain []string
		for i, p := range plugins {
			pr := summarize(pairRatios(series[1+i].walls(), ps.walls()))
			rr := summarize(series[1+i].rss()).Median / summarize(ps.rss()).Median
			vsPlain = append(vsPlain, fmt.Sprintf("%s %s wall, %s RSS", p, ratio(pr.Median), ratio(rr)))
		}
		sec.Notes = append(sec.Notes, fmt.Sprintf("Against the plain %s instead of the dispatcher, the plugins' start-up (per-round wall ratio, RSS ratio) is: %s.", code(filepath.Base(plain)+" version --client"), strings.Join(vsPlain, "; ")))
		sec.Notes = append(sec.Notes, fmt.Sprintf("`kubectl` on this machine is %s, whose `version --client` reports a `-dispatcher` build: the Google Cloud SDK's kubectl dispatcher, which may ask the server for its version and exec a matching `kubectl.<major>.<minor>` before doing the work. "+
			"The targets are judged against it because it is the kubectl users of this machine run; the `%s` row is the plain kubectl beside it, for comparison.", b.report.kubectlPath(), filepath.Base(plain)))
	}

	return b.binarySizes(ctx, sec)
}

func contains(s string) func(*result) error {
	return func(r *result) error {
		if !bytes.Contains(r.Stdout, []byte(s)) {
			return fmt.Errorf("output lacks %q", s)
		}
		return nil
	}
}

var dispatcherVersion = regexp.MustCompile(`Client Version: v(\d+)\.(\d+)\.\d+-dispatcher`)

// plainKubectl finds kubectl.<major>.<minor> beside a dispatcher kubectl.
func plainKubectl(env []string) string {
	path, err := lookPath("kubectl", env)
	if err != nil {
		return ""
	}
	out, err := exec.Command(path, "version", "--client").Output()
	if err != nil {
		return ""
	}
	m := dispatcherVersion.FindSubmatch(out)
	if m == nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(real), fmt.Sprintf("kubectl.%s.%s", m[1], m[2]))
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func (r *report) kubectlPath() string {
	p, _ := lookPath("kubectl", r.b.run.environ(r.b.scratch))
	return p
}

// binarySizes builds the plugins exactly as .goreleaser.yaml does
// (CGO_ENABLED=0, -trimpath, -ldflags "-s -w -X version stamps") for each
// release platform and reports their sizes.
func (b *bench) binarySizes(ctx context.Context, sec *section) error {
	plats := platforms
	if !b.opts.allPlatforms {
		plats = [][2]string{{goenv(ctx, "GOOS"), goenv(ctx, "GOARCH")}}
	}
	commit := strings.TrimSpace(gitOut(ctx, b.root, "rev-parse", "--short", "HEAD"))
	ldflags := fmt.Sprintf("-s -w -X %s.Version=0.0.0-bench -X %s.Commit=%s -X %s.Date=%s",
		versionPkg, versionPkg, commit, versionPkg, time.Now().UTC().Format(time.RFC3339))
	sizes := map[string]map[string]int64{} // plugin → platform → bytes
	for _, pl := range plats {
		dir := filepath.Join(b.scratch, "release", pl[0]+"_"+pl[1])
		if b.opts.smoke {
			// make build links with the same flags but the stamps; a smoke
			// run does not pay three more links to measure the same bytes.
			dir = b.run.binDir
		}
		if !b.opts.smoke {
			b.logf("release build for %s/%s", pl[0], pl[1])
		}
		args := []string{"build", "-trimpath", "-ldflags", ldflags, "-o", dir + "/"}
		for _, p := range plugins {
			args = append(args, "./cmd/kubectl-"+p)
		}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = b.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl[0], "GOARCH="+pl[1])
		if b.opts.smoke {
			b.logf("smoke: sizes of the binaries in %s, not a release build", dir)
		} else if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("release build %s/%s: %v\n%s", pl[0], pl[1], err, out)
		}
		for _, p := range plugins {
			name := "kubectl-" + p
			if pl[0] == "windows" {
				name += ".exe"
			}
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			if sizes[p] == nil {
				sizes[p] = map[string]int64{}
			}
			sizes[p][pl[0]+"/"+pl[1]] = st.Size()
		}
	}
	t := table{Caption: "Release binary sizes (built by the bench with the flags of .goreleaser.yaml: `CGO_ENABLED=0 go build -trimpath -ldflags \"-s -w -X …\"`; MB = 10⁶ bytes):",
		Header: []string{"binary"}}
	for _, pl := range plats {
		t.Header = append(t.Header, pl[0]+"/"+pl[1])
	}
	for _, p := range plugins {
		row := []string{"kubectl-" + p}
		largest, where := int64(0), ""
		for _, pl := range plats {
			sz := sizes[p][pl[0]+"/"+pl[1]]
			row = append(row, fmt.Sprintf("%.1f MB", float64(sz)/1e6))
			if sz > largest {
				largest, where = sz, pl[0]+"/"+pl[1]
			}
		}
		t.Rows = append(t.Rows, row)
		b.report.addTarget("start-up", fmt.Sprintf("release binary kubectl-%s ≤ 40 MB (a guard)", p),
			fmt.Sprintf("largest %.1f MB (%s)", float64(largest)/1e6, where), largest <= sizeLimit)
		if largest > sizeLimit && !b.opts.smoke {
			if top, err := b.sizeByModule(ctx, p); err == nil {
				sec.Notes = append(sec.Notes, fmt.Sprintf("kubectl-%s is %.1f MB on %s. Where the bytes go (symbol sizes of an unstripped linux build, by module): %s.", p, float64(largest)/1e6, where, top))
			} else {
				b.logf("size breakdown of kubectl-%s: %v", p, err)
			}
			if why, err := b.reflectMethodUse(ctx, p); err != nil {
				b.logf("linker dependency dump of kubectl-%s: %v", p, err)
			} else if why != "" {
				sec.Notes = append(sec.Notes, fmt.Sprintf("kubectl-%s: the linker's dependency dump (-ldflags=-dumpdep) has %s. "+
					"A call of a method by a name known only at run time makes the Go linker keep every exported method of every type that may sit in an interface, instead of only the methods that are called.", p, why))
			}
		}
	}
	for _, ref := range []string{"kubectl", "kubeadm"} {
		path, err := lookPath(ref, b.run.environ(b.scratch))
		if ref == "kubeadm" {
			var dir string
			dir, err = testenv.BinDir(b.root)
			path = filepath.Join(dir, "kubeadm")
		}
		if err != nil {
			continue
		}
		if st, err := os.Stat(path); err == nil {
			sec.Intro = append(sec.Intro, fmt.Sprintf("For comparison, %s is %.1f MB (%s).", code(ref), float64(st.Size())/1e6, path))
		}
	}
	sec.Tables = append(sec.Tables, t)
	return nil
}

func goenv(ctx context.Context, key string) string {
	out, err := exec.CommandContext(ctx, "go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// sizeByModule builds an unstripped binary of the plugin and sums its
// symbol sizes by module, to show what makes it big.
func (b *bench) sizeByModule(ctx context.Context, plugin string) (string, error) {
	out := filepath.Join(b.scratch, "unstripped", "kubectl-"+plugin)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./cmd/kubectl-"+plugin)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, o)
	}
	f, err := elf.Open(out)
	if err != nil {
		return "", err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return "", err
	}
	byMod := map[string]int64{}
	var total int64
	for _, sym := range syms {
		// Only bytes the file holds: .bss and .noptrbss symbols (such as
		// the FIPS DRBG's 32 MiB buffer) take memory, not file space.
		if sym.Size == 0 || int(sym.Section) <= 0 || int(sym.Section) >= len(f.Sections) {
			continue
		}
		if f.Sections[sym.Section].Type == elf.SHT_NOBITS {
			continue
		}
		mod := moduleOf(sym.Name)
		byMod[mod] += int64(sym.Size)
		total += int64(sym.Size)
	}
	st, err := os.Stat(out)
	if err != nil {
		return "", err
	}
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range byMod {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var parts []string
	for i, e := range all {
		if i == 10 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MB", e.k, float64(e.v)/1e6))
	}
	return fmt.Sprintf("%s (%.1f MB of sized symbols in a %.1f MB unstripped file; the rest is the pclntab and other runtime tables, which grow with the amount of code)", strings.Join(parts, ", "), float64(total)/1e6, float64(st.Size())/1e6), nil
}

// moduleOf maps a symbol to a module-ish prefix: k8s.io/client-go,
// github.com/spf13/cobra, runtime, …
func moduleOf(sym string) string {
	if strings.HasPrefix(sym, "go:func.") || strings.HasPrefix(sym, "runtime.") && !strings.Contains(sym, "/") {
		return "Go runtime and func metadata"
	}
	sym = strings.TrimPrefix(sym, "type:")
	sym = strings.TrimPrefix(sym, "go:")
	sym = strings.TrimPrefix(sym, "itab.")
	sym = strings.TrimLeft(sym, "*(")
	if i := strings.IndexAny(sym, "[,"); i >= 0 {
		sym = sym[:i]
	}
	// Cut at the first '.' after the last '/' of the package path.
	slash := strings.LastIndex(sym, "/")
	pkg := sym
	if dot := strings.Index(sym[slash+1:], "."); dot >= 0 {
		pkg = sym[:slash+1+dot]
	}
	parts := strings.Split(pkg, "/")
	switch {
	case len(parts) >= 3 && (parts[0] == "github.com" || parts[0] == "golang.org"):
		return strings.Join(parts[:3], "/")
	case len(parts) >= 3 && parts[0] == "sigs.k8s.io" && parts[1] == "kustomize":
		return strings.Join(parts[:3], "/") // kustomize's modules are one level deeper
	case len(parts) >= 2 && strings.Contains(parts[0], "."):
		return strings.Join(parts[:2], "/")
	case strings.Contains(parts[0], "."):
		return parts[0]
	}
	return "std:" + parts[0]
}

// reflectMethodUse links the plugin with -dumpdep and reports which
// reflect-by-name method calls (<ReflectMethod> in the dump) are
// reachable, and from which first non-standard-library function.
func (b *bench) reflectMethodUse(ctx context.Context, plugin string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-dumpdep", "-o", filepath.Join(b.scratch, "dumpdep-"+plugin), "./cmd/kubectl-"+plugin)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var dump bytes.Buffer
	cmd.Stderr = &dump
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, lastLines(dump.Bytes(), 3))
	}
	clean := func(s string) (string, bool) {
		s = strings.TrimSpace(s)
		rm := strings.HasSuffix(s, "<ReflectMethod>")
		if i := strings.Index(s, " <"); i >= 0 {
			s = s[:i]
		}
		return s, rm
	}
	callers := map[string][]string{}
	reflective := map[string]bool{}
	for _, line := range strings.Split(dump.String(), "\n") {
		from, to, ok := strings.Cut(line, " -> ")
		if !ok {
			continue
		}
		f, frm := clean(from)
		t, trm := clean(to)
		if frm {
			reflective[f] = true
		}
		if trm {
			reflective[t] = true
		}
		callers[t] = append(callers[t], f)
	}
	thirdParty := func(sym string) bool {
		if strings.HasPrefix(sym, "type:") || strings.HasPrefix(sym, "go:") {
			return false
		}
		first, _, _ := strings.Cut(sym, "/")
		return strings.Contains(first, ".")
	}
	var found []string
	for r := range reflective {
		// Go 1.26's reflect Methods iterators are marked too, but they are
		// only reached because every method is kept already: an effect.
		if strings.Contains(r, ".Methods.") || strings.HasSuffix(r, ".Methods") {
			continue
		}
		// Breadth-first up the callers to the first function outside the
		// standard library; type: nodes are consequences, not causes.
		seen := map[string]bool{r: true}
		queue := []string{r}
		via := ""
		for len(queue) > 0 && via == "" {
			n := queue[0]
			queue = queue[1:]
			for _, c := range callers[n] {
				if seen[c] || strings.HasPrefix(c, "type:") {
					continue
				}
				seen[c] = true
				if thirdParty(c) {
					via = c
					break
				}
				queue = append(queue, c)
			}
		}
		if via != "" {
			found = append(found, fmt.Sprintf("%s (a method call by run-time name) reachable from %s", code(r), code(via)))
		}
	}
	sort.Strings(found)
	return strings.Join(found, "; "), nil
}
