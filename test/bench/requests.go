package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// countedVariant is a variant whose runs are also counted in the audit
// log.
type countedVariant struct {
	variant
	Cache  string // "cold", "warm" or "–"
	Ours   bool
	Counts []flowCount
}

// counted wraps make so that each run's requests are read from the audit
// log once it has finished.
func (b *bench) counted(label, cache string, ours bool, mk func(round int) (proc, error)) *countedVariant {
	cv := &countedVariant{Cache: cache, Ours: ours}
	var off int64
	cv.variant = variant{
		Label: label,
		Make: func(round int) (proc, error) {
			var err error
			if off, err = b.cluster.audit.offset(); err != nil {
				return proc{}, err
			}
			return mk(round)
		},
		Warm: cache == "warm",
		After: func(round int, r *result) error {
			evs, err := b.cluster.audit.settle(context.Background(), off, r.Start)
			if err != nil {
				return err
			}
			if round >= 0 {
				cv.Counts = append(cv.Counts, countFlow(evs))
			}
			return nil
		},
	}
	return cv
}

// homes hands out HOME directories: "cold" is fresh for every run (an
// empty kubectl discovery cache, as on a new machine or after 6 h),
// "warm" is one HOME per variant kept across its runs (the warm-up run
// fills the cache).
func (b *bench) home(cache string) (func() (string, error), error) {
	if cache != "warm" {
		return func() (string, error) { return "", nil }, nil
	}
	dir, err := b.run.tempDir("home-warm")
	if err != nil {
		return nil, err
	}
	return func() (string, error) { return dir, nil }, nil
}

// flow is one job done by ours and by the anchors.
type flow struct {
	Key      string
	Title    string
	Note     string
	Variants []*countedVariant
}

func (b *bench) requests(ctx context.Context) error {
	sec := b.report.section("requests", "2. API requests per flow")
	sec.Intro = append(sec.Intro,
		"Counted from the real kube-apiserver's audit log (Metadata level, stage ResponseComplete: one line per request, a watch counts once), "+
			"keeping the requests of the measured commands' own user (`"+benchUser+"`, system:masters) received while the command ran; the emulators and the bench act as another user and are not counted. "+
			"The client is the first word of the User-Agent. Discovery = `/api`, `/apis`, group-version documents (`/api/v1`, `/apis/<group>/<version>`) and `/openapi/*`; `/version` is counted on its own.",
		"kubectl keeps a discovery cache in `$HOME/.kube/cache`: **cold** runs get a fresh empty HOME each time (first use on a machine, or once the cache has aged out); **warm** runs keep one HOME whose cache the unrecorded warm-up run filled (a user's everyday case). The plugins never use discovery, so they run cold.")

	kubeconfig := b.cluster.kubeconfig
	ns := enrollNamespace(time.Second)
	if _, ok := b.cluster.fleets[time.Second]; !ok {
		for d, f := range b.cluster.fleets {
			ns = f.Namespace
			sec.Intro = append(sec.Intro, fmt.Sprintf("(The regtoken flows use the emulator with a %s delay: no 1 s emulator in this run.)", d))
			break
		}
	}
	seq := 0
	next := func(prefix string) string {
		seq++
		return fmt.Sprintf("%s-%d-%d", prefix, time.Now().Unix()%100000, seq)
	}

	var flows []*flow

	// regtoken create: ours vs the documented recipe.
	{
		f := &flow{Key: "regtoken create", Title: "regtoken create → values.yaml (Fleet emulator delay 1 s)"}
		f.Variants = append(f.Variants, b.counted("kubectl regtoken create", "cold", true, func(int) (proc, error) {
			return regtokenCreate(next("req"), ns), nil
		}))
		for _, cache := range []string{"cold", "warm"} {
			home, err := b.home(cache)
			if err != nil {
				return err
			}
			f.Variants = append(f.Variants, b.counted("recipe: kubectl apply + while ! kubectl get secret; sleep 5 + kubectl get -o jsonpath | base64 -d", cache, false, func(int) (proc, error) {
				h, err := home()
				if err != nil {
					return proc{}, err
				}
				p, err := b.recipe(next("req"), ns)
				p.Home = h
				return p, err
			}))
		}
		flows = append(flows, f)
	}

	// exttoken list.
	{
		f := &flow{Key: "exttoken list", Title: "exttoken list"}
		f.Variants = append(f.Variants, b.counted("kubectl exttoken list", "cold", true, func(int) (proc, error) {
			return proc{Argv: []string{"kubectl", "exttoken", "list"}}, nil
		}))
		for _, cache := range []string{"cold", "warm"} {
			home, err := b.home(cache)
			if err != nil {
				return err
			}
			f.Variants = append(f.Variants, b.counted("kubectl get tokens.ext.cattle.io", cache, false, func(int) (proc, error) {
				h, err := home()
				return proc{Argv: []string{"kubectl", "get", "tokens.ext.cattle.io"}, Home: h}, err
			}))
		}
		flows = append(flows, f)
	}

	// bootstrap create: ours vs the kubectl recipe (the kubernetes.io
	// Secret manifest) and kubeadm.
	{
		f := &flow{Key: "bootstrap create", Title: "bootstrap create (print the token)"}
		f.Variants = append(f.Variants, b.counted("kubectl bootstrap create", "cold", true, func(int) (proc, error) {
			return proc{Argv: []string{"kubectl", "bootstrap", "create"}, Check: matches(bootstrapTokenLine)}, nil
		}))
		for _, cache := range []string{"cold", "warm"} {
			home, err := b.home(cache)
			if err != nil {
				return err
			}
			f.Variants = append(f.Variants, b.counted("kubectl apply -f bootstrap-token.yaml (kubernetes.io manifest)", cache, false, func(int) (proc, error) {
				h, err := home()
				if err != nil {
					return proc{}, err
				}
				return b.bootstrapManifest(h)
			}))
		}
		f.Variants = append(f.Variants, b.counted("kubeadm token create", "–", false, func(int) (proc, error) {
			return proc{Argv: []string{b.kubeadm(), "token", "create", "--kubeconfig", kubeconfig}, Check: matches(bootstrapTokenLine)}, nil
		}))
		flows = append(flows, f)

		j := &flow{Key: "bootstrap create --print-join-command", Title: "bootstrap create --print-join-command"}
		j.Variants = append(j.Variants, b.counted("kubectl bootstrap create --print-join-command", "cold", true, func(int) (proc, error) {
			return proc{Argv: []string{"kubectl", "bootstrap", "create", "--print-join-command"}, Check: contains("kubeadm join")}, nil
		}))
		j.Variants = append(j.Variants, b.counted("kubeadm token create --print-join-command", "–", false, func(int) (proc, error) {
			return proc{Argv: []string{b.kubeadm(), "token", "create", "--print-join-command", "--kubeconfig", kubeconfig}, Check: contains("kubeadm join")}, nil
		}))
		flows = append(flows, j)
	}

	// bootstrap list.
	{
		f := &flow{Key: "bootstrap list", Title: "bootstrap list"}
		f.Variants = append(f.Variants, b.counted("kubectl bootstrap list", "cold", true, func(int) (proc, error) {
			return proc{Argv: []string{"kubectl", "bootstrap", "list"}, Check: atLeastLines(2)}, nil
		}))
		for _, cache := range []string{"cold", "warm"} {
			home, err := b.home(cache)
			if err != nil {
				return err
			}
			f.Variants = append(f.Variants, b.counted("kubectl get secrets -n kube-system --field-selector type=bootstrap.kubernetes.io/token", cache, false, func(int) (proc, error) {
				h, err := home()
				return proc{Argv: []string{"kubectl", "get", "secrets", "-n", "kube-system", "--field-selector", "type=bootstrap.kubernetes.io/token"}, Home: h, Check: atLeastLines(2)}, err
			}))
		}
		f.Variants = append(f.Variants, b.counted("kubeadm token list", "–", false, func(int) (proc, error) {
			return proc{Argv: []string{b.kubeadm(), "token", "list", "--kubeconfig", kubeconfig}, Check: atLeastLines(2)}, nil
		}))
		flows = append(flows, f)
	}

	for _, f := range flows {
		b.logf("flow %s", f.Key)
		vs := make([]variant, len(f.Variants))
		for i, v := range f.Variants {
			vs[i] = v.variant
		}
		series, err := b.alternate(ctx, b.opts.rounds, vs)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Key, err)
		}
		b.reportFlow(sec, f, series)
	}
	return nil
}

var bootstrapTokenLine = `(?m)^[a-z0-9]{6}\.[a-z0-9]{16}$`

func (b *bench) kubeadm() string {
	dir, _ := testenv.BinDir(b.root)
	return filepath.Join(dir, "kubeadm")
}

// regtokenCreate is our enrollment: create, wait, values.yaml, helm.
func regtokenCreate(name, ns string) proc {
	return proc{
		Argv: []string{"kubectl", "regtoken", "create", name, "-n", ns, "--ttl", "24h", "--values-file", "values.yaml"},
		Check: func(r *result) error {
			if err := valuesFileOK(r); err != nil {
				return err
			}
			if !strings.Contains(string(r.Stdout), "helm ") {
				return fmt.Errorf("no helm command printed")
			}
			return nil
		},
	}
}

// recipeScript is the documented way (Fleet docs, cluster-registration.md):
// apply the token, poll for its Secret every 5 s, decode the values.
const recipeScript = `set -euo pipefail
kubectl apply -f token.yaml
while ! kubectl --namespace=%[1]s get secret %[2]s; do sleep 5; done
kubectl -n %[1]s get secret %[2]s -o 'jsonpath={.data.values}' | base64 --decode > values.yaml
`

const recipeToken = `kind: ClusterRegistrationToken
apiVersion: "fleet.cattle.io/v1alpha1"
metadata:
  name: %s
  namespace: %s
spec:
  ttl: 24h
`

// recipe prepares a directory with token.yaml and recipe.sh and returns
// the bash run of it.
func (b *bench) recipe(name, ns string) (proc, error) {
	dir, err := b.run.tempDir("recipe")
	if err != nil {
		return proc{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "token.yaml"), fmt.Appendf(nil, recipeToken, name, ns), 0o600); err != nil {
		return proc{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "recipe.sh"), fmt.Appendf(nil, recipeScript, ns, name), 0o600); err != nil {
		return proc{}, err
	}
	return proc{Argv: []string{"bash", "recipe.sh"}, Dir: dir, Check: valuesFileOK}, nil
}

func valuesFileOK(r *result) error {
	b, err := os.ReadFile(filepath.Join(r.Dir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, k := range []string{"token:", "clusterNamespace:", "apiServerURL:"} {
		if !strings.Contains(string(b), k) {
			return fmt.Errorf("values.yaml lacks %s", k)
		}
	}
	return nil
}

const bootstrapManifest = `apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-%[1]s
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: "created by the documented manifest"
  token-id: %[1]s
  token-secret: %[2]s
  expiration: %[3]s
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
`

// bootstrapManifest is the kubernetes.io bootstrap token Secret, applied
// with kubectl (the token generated beforehand, as a user would with
// kubeadm token generate or openssl).
func (b *bench) bootstrapManifest(home string) (proc, error) {
	tok, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return proc{}, err
	}
	id, secret, _ := strings.Cut(tok, ".")
	dir, err := b.run.tempDir("manifest")
	if err != nil {
		return proc{}, err
	}
	exp := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if err := os.WriteFile(filepath.Join(dir, "bootstrap-token.yaml"), fmt.Appendf(nil, bootstrapManifest, id, secret, exp), 0o600); err != nil {
		return proc{}, err
	}
	return proc{Argv: []string{"kubectl", "apply", "-f", "bootstrap-token.yaml"}, Dir: dir, Home: home, Check: contains("bootstrap-token-" + id)}, nil
}

// reportFlow writes one flow's table, its targets and the request lines.
func (b *bench) reportFlow(sec *section, f *flow, series []*series) {
	t := table{Caption: "**" + f.Title + "**", Header: []string{"command", "discovery cache", "requests", "objects", "discovery", "/version", "by client", "wall time"}}
	for i, v := range f.Variants {
		tot, obj, disc, ver := []float64{}, []float64{}, []float64{}, []float64{}
		clients := map[string][]float64{}
		for _, c := range v.Counts {
			tot = append(tot, float64(c.Total))
			obj = append(obj, float64(c.Object))
			disc = append(disc, float64(c.Discovery))
			ver = append(ver, float64(c.Version))
			for k, n := range c.ByClient {
				clients[k] = append(clients[k], float64(n))
			}
		}
		var cl []string
		for k, ns := range clients {
			cl = append(cl, fmt.Sprintf("%s %s", k, count(summarize(ns))))
		}
		sort.Strings(cl)
		label := v.Label
		if v.Ours {
			label = "**" + code(label) + "**"
		} else {
			label = code(label)
		}
		t.Rows = append(t.Rows, []string{label, v.Cache, count(summarize(tot)), count(summarize(obj)), count(summarize(disc)), count(summarize(ver)), strings.Join(cl, ", "), fmtSummary(summarize(series[i].walls()), ms)})

		if len(v.Counts) > 0 {
			sec.Details = append(sec.Details, fmt.Sprintf("%s — %s (%s cache), first recorded run:\n\n```\n%s\n```\n", f.Key, v.Label, v.Cache, strings.Join(v.Counts[0].Lines, "\n")))
		}
	}
	sec.Tables = append(sec.Tables, t)

	for _, v := range f.Variants {
		if !v.Ours {
			continue
		}
		maxDisc, maxTotal := 0, 0
		for _, c := range v.Counts {
			maxDisc = max(maxDisc, c.Discovery)
			maxTotal = max(maxTotal, c.Total)
		}
		if f.Key == "regtoken create" {
			b.report.addTarget("requests", "≤ 3 API requests for the regtoken create flow",
				fmt.Sprintf("%d (most in any run)", maxTotal), maxTotal <= 3)
		}
		b.report.addTarget("requests", fmt.Sprintf("no discovery request: %s", code(v.Label)),
			fmt.Sprintf("%d discovery requests (most in any run)", maxDisc), maxDisc == 0)
		if maxTotal > 3 && f.Key == "regtoken create" {
			sec.Notes = append(sec.Notes, fmt.Sprintf("%s sent more than 3 requests; its first run's requests are listed under Evidence.", code(v.Label)))
		}
	}
}

// count prints a request count: one number when every run agreed.
func count(s summary) string {
	if s.N == 0 {
		return "–"
	}
	if s.Min == s.Max {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f (%.0f – %.0f)", s.Median, s.Min, s.Max)
}
