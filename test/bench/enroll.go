package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleetagent"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
)

// The enroll comparison's fixed delays: the Fleet controller answers a
// token after enrollTokenDelay and grants a registration after
// enrollGrantDelay; each agent registers enrollAgentDelay after its
// Deployment appears (a pod's start). Their sum is the floor no client
// can beat; what a command takes beyond it is its overhead.
const (
	enrollTokenDelay = time.Second
	enrollGrantDelay = time.Second
	enrollAgentDelay = time.Second
	// The agents poll for their credential every 100 ms, not Fleet's 2 s,
	// so that the poll does not hide the clients' own overhead.
	enrollAgentPoll = 100 * time.Millisecond
	enrollNS        = "bench-enroll-clusters"
	agentNamespace  = "cattle-fleet-system"
)

// downstreams are the clusters enrolled, their agents, and a kubeconfig
// naming the bench's management cluster (current context) and each of them.
type downstreams struct {
	set        *multicluster.Set
	agents     []*fleetagent.Agent
	kubes      []kubernetes.Interface
	clientIDs  []string // kube-system UIDs, the agents' clientIDs
	kubeconfig string
	fleet      *fleet.Emulator
	helm       string
	chart      string
	// clock and helmClock time the direct runs (clock.go, helmruns.go).
	clock     *clock
	helmClock *helmClock
	stopClock context.CancelFunc
}

func (b *bench) startDownstreams(ctx context.Context, n int) (*downstreams, error) {
	b.logf("starting %d downstream control planes", n)
	set, err := multicluster.Start(multicluster.Options{N: n})
	d := &downstreams{set: set}
	if err != nil {
		return nil, err
	}
	b.cleanups = append(b.cleanups, d.stop)
	b.logf("%d downstream control planes up in %s", n, set.Took.Round(time.Millisecond))
	d.kubeconfig = filepath.Join(b.scratch, "enroll.kubeconfig")
	if err := set.WriteKubeconfig(d.kubeconfig, "fleet", b.cluster.cfg); err != nil {
		return nil, err
	}
	d.helm = os.Getenv("HELM")
	if d.helm == "" {
		d.helm = filepath.Join(b.root, "bin", "tools", "helm")
	}
	if _, err := os.Stat(d.helm); err != nil {
		return nil, fmt.Errorf("no helm at %s: run make helm (or set HELM)", d.helm)
	}
	d.chart = filepath.Join(b.root, "test", "charts", "fleet-agent")
	if err := b.cluster.ensureNamespace(ctx, enrollNS); err != nil {
		return nil, err
	}
	env := b.cluster.env
	if d.fleet, err = fleet.Start(ctx, env.Config, fleet.Options{
		Delay: enrollTokenDelay, GrantDelay: enrollGrantDelay, Namespace: enrollNS,
		APIServerURL: env.Config.Host, APIServerCA: string(env.Config.CAData),
		ControllerImage: "rancher/fleet:v0.16.1",
	}); err != nil {
		return nil, err
	}
	for _, c := range set.Clusters {
		kube, err := kubernetes.NewForConfig(c.Config)
		if err != nil {
			return nil, err
		}
		ks, err := kube.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		a, err := fleetagent.Start(ctx, c.Config, fleetagent.Options{StartDelay: enrollAgentDelay, PollInterval: enrollAgentPoll, RetryInterval: time.Second})
		if err != nil {
			return nil, err
		}
		d.kubes, d.clientIDs, d.agents = append(d.kubes, kube), append(d.clientIDs, string(ks.UID)), append(d.agents, a)
	}
	if d.helmClock, err = buildHelmClock(ctx, b.root, b.scratch, d.helm, "enroll-helm"); err != nil {
		return nil, err
	}
	d.clock = newClock()
	wctx, cancel := context.WithCancel(ctx)
	d.stopClock = cancel
	b.cleanups = append(b.cleanups, func() error { cancel(); return nil })
	return d, watchClock(wctx, d.clock, b.cluster.cfg, enrollNS, d.kubes, set.Names(), agentNamespace)
}

func (d *downstreams) stop() error {
	for _, a := range d.agents {
		a.Stop()
	}
	if d.fleet != nil {
		d.fleet.Stop()
	}
	if d.set != nil {
		return d.set.Stop()
	}
	return nil
}

// reset removes the agent from every downstream cluster (its release, its
// Deployment, its credential), so the next round registers anew, as a
// fresh cluster would. No namespace is deleted: without
// kube-controller-manager it would never finish terminating.
func (d *downstreams) reset(ctx context.Context) error {
	errs := make([]error, len(d.kubes))
	var wg sync.WaitGroup
	for i, kube := range d.kubes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			del := metav1.DeleteOptions{}
			ignore := func(err error) error {
				if apierrors.IsNotFound(err) {
					return nil
				}
				return err
			}
			errs[i] = errors.Join(
				ignore(kube.AppsV1().Deployments(agentNamespace).Delete(ctx, fleetagent.DeploymentName, del)),
				ignore(kube.CoreV1().ConfigMaps(agentNamespace).Delete(ctx, fleetagent.ConfigMapName, del)),
				ignore(kube.CoreV1().ServiceAccounts(agentNamespace).Delete(ctx, "fleet-agent", del)),
				ignore(kube.CoreV1().Secrets(agentNamespace).Delete(ctx, fleetagent.BootstrapSecretName, del)),
				ignore(kube.CoreV1().Secrets(agentNamespace).Delete(ctx, fleetagent.CredentialSecretName, del)),
				ignore(kube.CoreV1().Secrets(agentNamespace).DeleteCollection(ctx, del, metav1.ListOptions{LabelSelector: "owner=helm,name=fleet-agent"})),
			)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The agents see their Deployment go before the next round installs it.
	for _, a := range d.agents {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := a.WaitFor(wctx, func(s fleetagent.Status) bool { return s.State == fleetagent.NotInstalled })
		cancel()
		if err != nil {
			return err
		}
	}
	for _, name := range d.set.Names() {
		d.clock.forget("cred/" + name)
		d.clock.forget("deploy/" + name)
	}
	return nil
}

// registered checks that the first n downstream clusters registered with
// token: a granted ClusterRegistration labelled with it for each clientID,
// and each agent holds its credential (it writes that a poll after the
// grant, which is all a client can wait for, so it gets a moment).
func (d *downstreams) registered(ctx context.Context, n int, token string) error {
	granted := map[string]bool{}
	for _, r := range d.fleet.Registrations() {
		if r.TokenName == token && r.Granted && r.ClusterName != "" {
			granted[r.ClientID] = true
		}
	}
	for i := range n {
		if !granted[d.clientIDs[i]] {
			return fmt.Errorf("cluster %s (clientID %s) has no granted registration with token %s", d.set.Clusters[i].Name, d.clientIDs[i], token)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := d.agents[i].WaitFor(wctx, func(s fleetagent.Status) bool { return s.State == fleetagent.Registered })
		cancel()
		if err != nil {
			return fmt.Errorf("agent of %s: %w", d.set.Clusters[i].Name, err)
		}
	}
	return nil
}

// valuesAt is when the bench's watch saw the controller set the token's
// status.secretName (its values Secret written): the event enroll's own
// wait reacts to. (The emulator's record of the Secret's write goes with
// the token, which enroll deletes at its end.)
func (d *downstreams) valuesAt(token string) (time.Time, error) {
	at, ok := d.clock.at("values/" + token)
	if !ok {
		return at, fmt.Errorf("the bench's watch saw no values of token %s/%s", enrollNS, token)
	}
	return at, nil
}

// timeline splits one single-cluster run's time over the floor (ms):
// before the values Secret, helm, agent and controller steps, after the
// grant.
func (d *downstreams) timeline(token string, r *result) ([4]float64, error) {
	var out [4]float64
	values, err := d.valuesAt(token)
	if err != nil {
		return out, err
	}
	started := d.agents[0].Status().StartedAt
	var granted time.Time
	for _, reg := range d.fleet.Registrations() {
		if reg.TokenName == token && reg.ClientID == d.clientIDs[0] {
			granted = reg.GrantedAt
		}
	}
	if started.IsZero() || granted.IsZero() {
		return out, fmt.Errorf("no agent start or grant recorded for token %s", token)
	}
	msec := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	out[0] = msec(values.Sub(r.Start) - enrollTokenDelay)
	out[1] = msec(started.Sub(values))
	out[2] = msec(granted.Sub(started) - enrollAgentDelay - enrollGrantDelay)
	out[3] = msec(r.End.Sub(granted))
	return out, nil
}

// enrollRecipe is the sequential way without enroll: the documented token
// recipe, helm install into each cluster in turn, then polling each
// cluster's registration every 5 s as the documented waits do.
const enrollRecipe = `set -euo pipefail
kubectl apply -f token.yaml
while ! kubectl --namespace=%[1]s get secret %[2]s >/dev/null 2>&1; do sleep 5; done
kubectl -n %[1]s get secret %[2]s -o 'jsonpath={.data.values}' | base64 --decode > values.yaml
for ctx in %[3]s; do
  %[4]s -n cattle-fleet-system --kube-context "$ctx" upgrade --install --create-namespace --values values.yaml fleet-agent %[5]s >/dev/null
done
for ctx in %[3]s; do
  id=$(kubectl --context "$ctx" get namespace kube-system -o 'jsonpath={.metadata.uid}')
  until [ "$(kubectl -n %[1]s get clusterregistrations.fleet.cattle.io -l fleet.cattle.io/registration-token=%[2]s -o "jsonpath={.items[?(@.spec.clientID=='$id')].status.granted}")" = true ]; do sleep 5; done
done
`

func (b *bench) enrollRecipe(d *downstreams, name string, contexts []string) (proc, error) {
	dir, err := b.run.tempDir("enroll-recipe")
	if err != nil {
		return proc{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "token.yaml"), fmt.Appendf(nil, recipeToken, name, enrollNS), 0o600); err != nil {
		return proc{}, err
	}
	script := fmt.Sprintf(enrollRecipe, enrollNS, name, strings.Join(contexts, " "), d.helm, d.chart)
	if err := os.WriteFile(filepath.Join(dir, "recipe.sh"), []byte(script), 0o600); err != nil {
		return proc{}, err
	}
	return proc{Argv: []string{"bash", "recipe.sh"}, Dir: dir, Env: []string{"KUBECONFIG=" + d.kubeconfig},
		Check: func(*result) error { return d.registered(context.Background(), len(contexts), name) }}, nil
}

// enrollOurs is kubectl regtoken enroll for the given contexts.
func (d *downstreams) enrollOurs(name string, contexts []string) proc {
	argv := append([]string{"kubectl", "regtoken", "enroll"}, contexts...)
	argv = append(argv, "-n", enrollNS, "--token-name", name, "--ttl", "24h", "--chart", d.chart, "--helm", d.helm)
	return proc{Argv: argv, Env: []string{"KUBECONFIG=" + d.kubeconfig},
		Check: func(*result) error { return d.registered(context.Background(), len(contexts), name) }}
}

func (b *bench) enroll(ctx context.Context) error {
	n := b.opts.enrollClusters
	sec := b.report.section("enroll", fmt.Sprintf("6. Enrolling clusters: `kubectl regtoken enroll` on 1 and %d downstream clusters vs the sequential recipe and the same helm installs at once; agent vs manager mode's client work", n))
	d, err := b.startDownstreams(ctx, n)
	if err != nil {
		return err
	}
	// The clock watches every Fleet Cluster of the bench's cluster: it
	// must not run on into the later comparisons (section 9 writes
	// thousands).
	defer d.stopClock()
	floor := enrollTokenDelay + enrollGrantDelay + enrollAgentDelay
	sec.Intro = append(sec.Intro,
		fmt.Sprintf("%d downstream control planes (one etcd, one kube-apiserver each, started in %s; no kubelet) beside the management cluster. "+
			"Each runs the Fleet agent stand-in (test/emulators/fleetagent), which registers %s after the fleet-agent Deployment appears, with the token from the bootstrap Secret against the real management apiserver, and polls for its credential every %s (Fleet: 2 s). "+
			"The Fleet controller emulator answers a token after %s and grants a registration %s after it first sees it: no client can finish in under %s (the floor).",
			n, d.set.Took.Round(time.Second), enrollAgentDelay, enrollAgentPoll, enrollTokenDelay, enrollGrantDelay, floor),
		"A: `kubectl regtoken enroll CONTEXT... -n NS --token-name NAME --ttl 24h --chart test/charts/fleet-agent --helm bin/tools/helm`: creates the token, waits for its values, runs the real helm into every context in parallel, waits until each cluster's registration is granted. "+
			"B: the same job by hand, in bash: the documented token recipe (`kubectl apply`, poll the Secret every 5 s, decode values.yaml), `helm upgrade --install` into each context in turn, then for each context read its kube-system UID and poll its ClusterRegistration every 5 s until granted. "+
			"Every run is checked against the emulator: each cluster has a granted registration made with that run's token, and each agent holds its credential. Between runs every downstream cluster loses its release, Deployment and credential (not timed).")

	seq := 0
	tokenName := func(side string) string {
		seq++
		return fmt.Sprintf("enroll-%s-%d-%d", side, time.Now().Unix()%100000, seq)
	}
	reset := func(int, *result) error { return d.reset(ctx) }
	contexts := d.set.Names()
	// Where one cluster's time goes, from the emulators' timestamps.
	var oneName, manyName string
	var split struct{ beforeValues, helm, steps, afterGrant []float64 }
	// Each run's time to the values (start → the controller's values
	// Secret), for the budget of issue 23 (modes.go).
	var toValues struct{ one, many []float64 }
	timeToValues := func(token string, r *result) (float64, error) {
		at, err := d.valuesAt(token)
		if err != nil {
			return 0, err
		}
		return msf(at.Sub(r.Start)), nil
	}
	splitOne := func(round int, r *result) error {
		if round >= 0 {
			tv, err := timeToValues(oneName, r)
			if err != nil {
				return err
			}
			toValues.one = append(toValues.one, tv)
			parts, err := d.timeline(oneName, r)
			if err != nil {
				return err
			}
			split.beforeValues = append(split.beforeValues, parts[0])
			split.helm = append(split.helm, parts[1])
			split.steps = append(split.steps, parts[2])
			split.afterGrant = append(split.afterGrant, parts[3])
		}
		return d.reset(ctx)
	}
	vs := []variant{
		{Label: "kubectl regtoken enroll (1 cluster)", Make: func(int) (proc, error) {
			oneName = tokenName("one")
			return d.enrollOurs(oneName, contexts[:1]), nil
		}, After: splitOne},
		{Label: fmt.Sprintf("kubectl regtoken enroll (%d clusters)", n), Make: func(int) (proc, error) {
			manyName = tokenName("many")
			return d.enrollOurs(manyName, contexts), nil
		}, After: func(round int, r *result) error {
			if round >= 0 {
				tv, err := timeToValues(manyName, r)
				if err != nil {
					return err
				}
				toValues.many = append(toValues.many, tv)
			}
			return d.reset(ctx)
		}},
		{Label: fmt.Sprintf("sequential recipe (%d clusters)", n), Make: func(int) (proc, error) { return b.enrollRecipe(d, tokenName("recipe"), contexts) }, After: reset},
	}
	modes, err := b.enrollModeVariants(ctx, d, tokenName)
	if err != nil {
		return err
	}
	vs = append(vs, modes.variants()...)
	series, err := b.alternate(ctx, b.opts.rounds, vs)
	if err != nil {
		return err
	}
	one, many, recipe := series[0], series[1], series[2]
	ow, mw, rw := summarize(one.walls()), summarize(many.walls()), summarize(recipe.walls())
	floorMS := float64(floor) / float64(time.Millisecond)
	overheads := make([]float64, 0, len(one.Runs))
	for _, w := range one.walls() {
		overheads = append(overheads, w-floorMS)
	}
	ov := summarize(overheads)
	manyOverOne := pairRatios(many.walls(), one.walls())
	recipeOverMany := pairRatios(recipe.walls(), many.walls())
	t := table{Header: []string{"command", "clusters", "wall time", "peak RSS", "over the floor", "ratio"}}
	t.Rows = append(t.Rows,
		[]string{code("kubectl regtoken enroll"), "1", fmtSummary(ow, ms), fmtSummary(summarize(one.rss()), mib), fmtSummary(ov, ms), ""},
		[]string{code("kubectl regtoken enroll"), fmt.Sprint(n), fmtSummary(mw, ms), fmtSummary(summarize(many.rss()), mib), ms(mw.Median - floorMS),
			fmt.Sprintf("%s of enrolling 1 (per round %s)", ratio(mw.Median/ow.Median), fmtRatios(manyOverOne))},
		[]string{"sequential recipe (bash + kubectl + helm)", fmt.Sprint(n), fmtSummary(rw, ms), fmtSummary(summarize(recipe.rss()), mib), ms(rw.Median - floorMS),
			fmt.Sprintf("recipe ÷ enroll: %s (per round %s)", ratio(rw.Median/mw.Median), fmtRatios(recipeOverMany))},
	)
	sec.Tables = append(sec.Tables, t)
	sec.Tables = append(sec.Tables, table{
		Caption: "Enrolling one cluster, its time over the floor split by the emulators' clocks: *to values* = from the command's start to the controller's values (status.secretName, seen by the bench's watch), less the controller's token delay (kubectl and plugin start-up, pre-flight checks, token create); " +
			"*helm* = from the values to the agent seeing its Deployment (the plugin reading the values, one real `helm upgrade --install`); " +
			"*agent and controller* = from there to the grant, less the agent's and the controller's delays (ClusterRegistration create, Cluster, its namespace, the request's token, the credential objects); " +
			"*after the grant* = from the grant to the command's exit (the watch event, the table, exit).",
		Header: []string{"over the floor", "to values", "helm", "agent and controller", "after the grant"},
		Rows: [][]string{{fmtSummary(ov, ms), fmtSummary(summarize(split.beforeValues), ms), fmtSummary(summarize(split.helm), ms),
			fmtSummary(summarize(split.steps), ms), fmtSummary(summarize(split.afterGrant), ms)}},
	})

	b.report.addTarget("enroll", "enroll 1 cluster: overhead over controller + agent delay ≤ 100 ms",
		fmt.Sprintf("median %s (floor %s)", ms(ov.Median), floor), ov.Median <= 100)
	mo := summarize(manyOverOne)
	b.report.addTarget("enroll", fmt.Sprintf("enroll %d clusters ≤ 2× enroll 1", n), fmt.Sprintf("per round %s", ratio(mo.Median)), mo.Median <= 2)
	rm := summarize(recipeOverMany)
	b.report.addTarget("enroll", fmt.Sprintf("enroll %d clusters ≥ 5× faster than the sequential recipe", n), fmt.Sprintf("per round %s", ratio(rm.Median)), rm.Median >= 5)
	rss := summarize(many.rss())
	b.report.addTarget("enroll", "peak RSS ≤ 80 MiB", fmt.Sprintf("max %s (%d clusters; the largest process of the run: kubectl, the plugin, or a helm it ran)", mib(rss.Max), n), rss.Max <= 80)
	if mo.Median > 2 || rm.Median < 5 {
		helm := summarize(split.helm)
		sec.Notes = append(sec.Notes, fmt.Sprintf("Enrolling %d clusters took %s (%s of one): every cluster costs one real helm process (%s from values to Deployment for a single cluster), run %d at a time by enroll, on a machine with %d cores that also runs the %d downstream kube-apiservers, their agents and the controller emulator; "+
			"the recipe runs the same helm installs one after another, which is why it is only %s slower.", n, ms(mw.Median), ratio(mo.Median), ms(helm.Median), min(n, 8), runtime.NumCPU(), n, ratio(rm.Median)))
	}
	if ov.Median > 100 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Enrolling one cluster took %s over the %s floor: it includes one real helm run (`helm upgrade --install`, which alone loads the chart, talks to the downstream apiserver and stores a release) and the waits between the controller's and agent's steps.", ms(ov.Median), floor))
	}
	modes.report(b, sec, one, many, toValues.one, toValues.many, series[3:])
	return nil
}
