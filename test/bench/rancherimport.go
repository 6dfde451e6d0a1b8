package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
)

// importDelay is the Rancher emulator's delay at each of its three steps
// (status.clusterName, the import token, AgentDeployed → Ready): the
// floor of one import is 3 × importDelay.
const importDelay = time.Second

// importRecipe is an import the way Rancher's docs and users' scripts do
// it without the UI: create the provisioning cluster, poll every 5 s for
// its management ID and for the import token (2.13.8+: the Secret that
// status.tokenSecretName names), then `curl … | kubectl apply -f -` of
// the manifest URL (trusting Rancher's cacerts) and poll every 5 s until
// the cluster is Ready.
const importRecipe = `set -euo pipefail
ws=%[1]s name=%[2]s ctx=%[3]s
kubectl apply -f cluster.yaml >/dev/null
until id=$(kubectl -n "$ws" get clusters.provisioning.cattle.io "$name" -o 'jsonpath={.status.clusterName}') && [ -n "$id" ]; do sleep 5; done
until secret=$(kubectl -n "$id" get clusterregistrationtokens.management.cattle.io default-token -o 'jsonpath={.status.tokenSecretName}' 2>/dev/null) && [ -n "$secret" ]; do sleep 5; done
token=$(kubectl -n "$id" get secret "$secret" -o 'jsonpath={.data.token}' | base64 --decode)
url=$(kubectl get settings.management.cattle.io server-url -o 'jsonpath={.value}')
kubectl get settings.management.cattle.io cacerts -o 'jsonpath={.value}' > ca.pem
curl --cacert ca.pem -sfL "$url/v3/import/${token}_${id}.yaml" | kubectl --context "$ctx" apply -f - >/dev/null
until [ "$(kubectl get clusters.management.cattle.io "$id" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; do sleep 5; done
`

const importCluster = `apiVersion: provisioning.cattle.io/v1
kind: Cluster
metadata:
  name: %s
  namespace: %s
spec: {}
`

// importPlanes are the downstream clusters imported, each with the
// cattle-cluster-agent stand-in, and the Rancher import side.
type importPlanes struct {
	set        *multicluster.Set
	im         *rancher.Importer
	agents     []*rancher.Agent
	kubes      []kubernetes.Interface
	dyn        dynamic.Interface
	kubeconfig string
	clock      *clock
	stopWatch  context.CancelFunc
}

func (b *bench) startImport(ctx context.Context, n int) (*importPlanes, error) {
	p := &importPlanes{}
	b.cleanups = append(b.cleanups, p.stop)
	b.logf("starting %d downstream control planes for the import comparison", n)
	var err error
	if p.set, err = multicluster.Start(multicluster.Options{N: n, NamePrefix: "imp"}); err != nil {
		return nil, err
	}
	b.logf("%d downstream control planes up in %s", n, p.set.Took.Round(time.Millisecond))
	env := b.cluster.env
	p.kubeconfig = filepath.Join(b.scratch, "import.kubeconfig")
	if err := p.set.WriteKubeconfig(p.kubeconfig, "rancher", b.cluster.cfg); err != nil {
		return nil, err
	}
	if p.im, err = rancher.StartImport(ctx, env.Config, rancher.ImportOptions{Release: rancher.R2_15_0, Workspace: importWorkspace, Delay: importDelay}); err != nil {
		return nil, err
	}
	p.dyn = dynamic.NewForConfigOrDie(env.Config)
	for _, c := range p.set.Clusters {
		a, err := rancher.StartAgent(ctx, c.Config, rancher.AgentOptions{RootCAs: p.im.CAPEM, RetryInterval: 200 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		p.agents = append(p.agents, a)
		p.kubes = append(p.kubes, kubernetes.NewForConfigOrDie(c.Config))
	}
	return p, p.watch(ctx, env.Config)
}

// watch starts the clock's informers: per provisioning cluster its
// creation and management ID, per management ID its import token Secret
// and Ready, per plane the agent Deployment's creation.
func (p *importPlanes) watch(ctx context.Context, cfg *rest.Config) error {
	p.clock = &clock{seen: map[string]time.Time{}}
	wctx, cancel := context.WithCancel(ctx)
	p.stopWatch = cancel
	var synced []cache.InformerSynced
	add := func(inf cache.SharedIndexInformer, on func(any)) error {
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, o any) { on(o) }})
		synced = append(synced, inf.HasSynced)
		return err
	}
	df := dynamicinformer.NewDynamicSharedInformerFactory(p.dyn, 0)
	err := errors.Join(
		add(df.ForResource(rancher.ProvisioningClustersGVR).Informer(), func(o any) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok || u.GetNamespace() != importWorkspace {
				return
			}
			p.clock.mark("created/" + u.GetName())
			if id, _, _ := unstructured.NestedString(u.Object, "status", "clusterName"); id != "" {
				p.clock.mark("id/" + u.GetName())
			}
		}),
		add(df.ForResource(rancher.ClustersGVR).Informer(), func(o any) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
					p.clock.mark("ready/" + u.GetName())
				}
			}
		}),
	)
	if err != nil {
		cancel()
		return err
	}
	df.Start(wctx.Done())
	kf := informers.NewSharedInformerFactoryWithOptions(kubernetes.NewForConfigOrDie(cfg), 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "metadata.name=" + rancher.TokenSecretPrefix + rancher.DefaultTokenName
	}))
	if err := add(kf.Core().V1().Secrets().Informer(), func(o any) {
		if s, ok := o.(*corev1.Secret); ok {
			p.clock.mark("token/" + s.Namespace)
		}
	}); err != nil {
		cancel()
		return err
	}
	kf.Start(wctx.Done())
	for i, kube := range p.kubes {
		f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(rancher.AgentNamespace))
		name := p.set.Clusters[i].Name
		if err := add(f.Apps().V1().Deployments().Informer(), func(o any) {
			if d, ok := o.(*appsv1.Deployment); ok && d.Name == rancher.AgentDeployment {
				p.clock.mark("deployment/" + name)
			}
		}); err != nil {
			cancel()
			return err
		}
		f.Start(wctx.Done())
	}
	if !cache.WaitForCacheSync(wctx.Done(), synced...) {
		cancel()
		return errors.New("the import clock's informers did not sync")
	}
	return nil
}

// importSplit is one import of one cluster cut at the clock's moments:
// the plugin before its create, Rancher's two steps (management ID,
// token), the plugin from the token to the agent Deployment downstream
// (token read, manifest fetch, apply), the agent stand-in's connection
// (Deployment → AgentDeployed, which is Ready less the emulator's
// delay), Rancher's last step, and the plugin from Ready to its exit.
type importSplit struct {
	beforeCreate, rancher, tokenToApply, agent, afterReady float64
}

// plugin is the split's time that is the plugin's own: the wall time less
// the emulator's steps and its agent stand-in.
func (s importSplit) plugin() float64 { return s.beforeCreate + s.tokenToApply + s.afterReady }

func (p *importPlanes) split(name, plane string, r *result) (importSplit, error) {
	var s importSplit
	created, ok1 := p.clock.at("created/" + name)
	_, ok2 := p.clock.at("id/" + name)
	dep, ok3 := p.clock.at("deployment/" + plane)
	if !ok1 || !ok2 || !ok3 {
		return s, fmt.Errorf("the import clock missed a step of %s (created %v, management ID %v, Deployment %v)", name, ok1, ok2, ok3)
	}
	prov, err := p.dyn.Resource(rancher.ProvisioningClustersGVR).Namespace(importWorkspace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return s, err
	}
	id, _, _ := unstructured.NestedString(prov.Object, "status", "clusterName")
	tok, ok4 := p.clock.at("token/" + id)
	ready, ok5 := p.clock.at("ready/" + id)
	if !ok4 || !ok5 {
		return s, fmt.Errorf("the import clock missed the token or Ready of %s (%s)", name, id)
	}
	msec := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	s.beforeCreate = msec(created.Sub(r.Start))
	s.rancher = msec(tok.Sub(created) + importDelay)
	s.tokenToApply = msec(dep.Sub(tok))
	s.agent = msec(ready.Add(-importDelay).Sub(dep))
	s.afterReady = msec(r.End.Sub(ready))
	return s, nil
}

const importWorkspace = "bench-import"

func (p *importPlanes) stop() error {
	if p.stopWatch != nil {
		p.stopWatch()
	}
	for _, a := range p.agents {
		a.Stop()
	}
	if p.im != nil {
		p.im.Stop()
	}
	if p.set != nil {
		return p.set.Stop()
	}
	return nil
}

// reset removes the agent Deployment from the first n planes and waits
// until each stand-in saw it go, so the next round imports afresh.
func (p *importPlanes) reset(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.kubes[i].AppsV1().Deployments(rancher.AgentNamespace).Delete(ctx, rancher.AgentDeployment, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs[i] = err
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			for p.agents[i].Status().State != rancher.AgentNotInstalled {
				select {
				case <-wctx.Done():
					errs[i] = fmt.Errorf("the agent stand-in on %s did not see its Deployment go: %+v", p.set.Clusters[i].Name, p.agents[i].Status())
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	for i := range n {
		p.clock.forget("deployment/" + p.set.Clusters[i].Name)
	}
	return errors.Join(errs...)
}

// active checks that the Rancher clusters of names are Ready and that
// each plane's agent is connected as its cluster.
func (p *importPlanes) active(ctx context.Context, names []string) error {
	for i, name := range names {
		prov, err := p.dyn.Resource(rancher.ProvisioningClustersGVR).Namespace(importWorkspace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		id, _, _ := unstructured.NestedString(prov.Object, "status", "clusterName")
		mgmt, err := p.dyn.Resource(rancher.ClustersGVR).Get(ctx, id, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(mgmt.Object, "status", "conditions")
		ready := false
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
				ready = true
			}
		}
		if s := p.agents[i].Status(); !ready || s.State != rancher.AgentConnected || s.Cluster != id {
			return fmt.Errorf("cluster %s (%s) ready=%v, agent on %s: %+v", name, id, ready, p.set.Clusters[i].Name, s)
		}
	}
	return nil
}

func (b *bench) rancherImport(ctx context.Context) error {
	n := b.opts.importClusters
	sec := b.report.section("import", fmt.Sprintf("8. Rancher import: `kubectl regtoken import` of 1 and %d clusters vs the scripted recipe", n))
	p, err := b.startImport(ctx, n)
	if err != nil {
		return err
	}
	floor := 3 * importDelay
	sec.Intro = append(sec.Intro,
		fmt.Sprintf("The Rancher emulator's import side as Rancher 2.15.0 (test/emulators/rancher: provisioning and management Clusters, the import token in its `crt-token-*` Secret, the HTTPS `/v3/import` route, the manifest) on the bench's control plane, "+
			"waiting %s at each of its three steps (management ID, import token, AgentDeployed → Ready): no client finishes in under %s (the floor). "+
			"%d downstream control planes (started in %s), each with the cattle-cluster-agent stand-in, which connects with the token of the applied manifest as soon as its Deployment appears.",
			importDelay, floor, n, p.set.Took.Round(time.Second)),
		"A: `kubectl regtoken import CONTEXT... -n WS --name NAME` (one context with --name; all at once with `--parallel N`): create, read the token, fetch the manifest over TLS, apply it server-side, wait until Ready. "+
			"B: the same job as users script it (bash, kubectl, curl): `kubectl apply` of the provisioning Cluster, poll every 5 s for `status.clusterName` and for `status.tokenSecretName`, read the token, `curl --cacert … | kubectl apply -f -`, poll every 5 s until Ready. "+
			"Every run is checked: each cluster Ready and its agent connected as that cluster. Between runs the agent Deployment is deleted downstream (not timed); each run imports clusters of new names.")
	contexts := p.set.Names()
	seq := 0
	name := func(side string) string {
		seq++
		return fmt.Sprintf("%s-%d-%d", side, time.Now().Unix()%100000, seq)
	}
	var oneNames, directNames, manyNames []string
	var splits, directSplits []importSplit
	// ours imports the first len(names) planes as names: one with --name,
	// several through a kubeconfig whose contexts carry this round's names
	// (without --name import names each Rancher cluster after its
	// context), so every round creates new clusters.
	ours := func(argv0 []string, names []string) (proc, error) {
		kubeconfig := p.kubeconfig
		args := []string{"--name", names[0]}
		if len(names) > 1 {
			kc := p.set.Kubeconfig("rancher", b.cluster.cfg)
			args = nil
			for i, c := range p.set.Clusters[:len(names)] {
				kc.Contexts[names[i]] = kc.Contexts[c.Name]
				delete(kc.Contexts, c.Name)
				args = append(args, names[i])
			}
			dir, err := b.run.tempDir("import-kubeconfig")
			if err != nil {
				return proc{}, err
			}
			kubeconfig = filepath.Join(dir, "kubeconfig")
			if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
				return proc{}, err
			}
		} else {
			args = append([]string{contexts[0]}, args...)
		}
		argv := append(append(slices.Clone(argv0), "import"), args...)
		argv = append(argv, "-n", importWorkspace, "--parallel", fmt.Sprint(len(names)))
		return proc{Argv: argv, Env: []string{"KUBECONFIG=" + kubeconfig},
			Check: func(*result) error { return p.active(context.Background(), names) }}, nil
	}
	vs := []variant{
		{Label: "kubectl-regtoken import (1 cluster)", Make: func(int) (proc, error) {
			directNames = []string{name("direct")}
			return ours([]string{"kubectl-regtoken"}, directNames)
		}, After: func(round int, r *result) error {
			if sp, err := p.split(directNames[0], contexts[0], r); err != nil {
				b.logf("import split: %v", err)
			} else if round >= 0 {
				directSplits = append(directSplits, sp)
			}
			return p.reset(ctx, 1)
		}},
		{Label: "kubectl regtoken import (1 cluster)", Make: func(int) (proc, error) {
			oneNames = []string{name("one")}
			return ours([]string{"kubectl", "regtoken"}, oneNames)
		}, After: func(round int, r *result) error {
			// A step the watches missed costs this run its split, not the
			// comparison: the table says over how many runs it is.
			if sp, err := p.split(oneNames[0], contexts[0], r); err != nil {
				b.logf("import split: %v", err)
			} else if round >= 0 {
				splits = append(splits, sp)
			}
			return p.reset(ctx, 1)
		}},
		{Label: fmt.Sprintf("kubectl regtoken import (%d clusters)", n), Make: func(int) (proc, error) {
			manyNames = manyNames[:0]
			for i := range n {
				manyNames = append(manyNames, fmt.Sprintf("%s-%d", name("many"), i))
			}
			return ours([]string{"kubectl", "regtoken"}, manyNames)
		}, After: func(int, *result) error { return p.reset(ctx, n) }},
		{Label: "scripted recipe (1 cluster)", Make: func(int) (proc, error) {
			dir, err := b.run.tempDir("import-recipe")
			if err != nil {
				return proc{}, err
			}
			nm := name("recipe")
			if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), fmt.Appendf(nil, importCluster, nm, importWorkspace), 0o600); err != nil {
				return proc{}, err
			}
			if err := os.WriteFile(filepath.Join(dir, "recipe.sh"), fmt.Appendf(nil, importRecipe, importWorkspace, nm, contexts[0]), 0o600); err != nil {
				return proc{}, err
			}
			return proc{Argv: []string{"bash", "recipe.sh"}, Dir: dir, Env: []string{"KUBECONFIG=" + p.kubeconfig},
				Check: func(*result) error { return p.active(context.Background(), []string{nm}) }}, nil
		}, After: func(int, *result) error { return p.reset(ctx, 1) }},
	}
	series, err := b.alternate(ctx, b.opts.rounds, vs)
	if err != nil {
		return err
	}
	direct, one, many, recipe := series[0], series[1], series[2], series[3]
	ow, mw, rw := summarize(one.walls()), summarize(many.walls()), summarize(recipe.walls())
	floorMS := float64(floor) / float64(time.Millisecond)
	over := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x - floorMS
		}
		return out
	}
	ov := summarize(over(one.walls()))
	manyOverOne := pairRatios(many.walls(), one.walls())
	recipeOverOne := pairRatios(recipe.walls(), one.walls())
	t := table{Header: []string{"command", "clusters", "wall time", "peak RSS", "over the floor", "ratio"}}
	t.Rows = append(t.Rows,
		[]string{code("kubectl-regtoken import") + " (run directly)", "1", fmtSummary(summarize(direct.walls()), ms), fmtSummary(summarize(direct.rss()), mib), fmtSummary(summarize(over(direct.walls())), ms), ""},
		[]string{code("kubectl regtoken import"), "1", fmtSummary(ow, ms), fmtSummary(summarize(one.rss()), mib), fmtSummary(ov, ms), ""},
		[]string{code("kubectl regtoken import --parallel " + fmt.Sprint(n)), fmt.Sprint(n), fmtSummary(mw, ms), fmtSummary(summarize(many.rss()), mib), fmtSummary(summarize(over(many.walls())), ms),
			fmt.Sprintf("%s of importing 1 (per round %s)", ratio(mw.Median/ow.Median), fmtRatios(manyOverOne))},
		[]string{"scripted recipe (bash + kubectl + curl)", "1", fmtSummary(rw, ms), fmtSummary(summarize(recipe.rss()), mib), fmtSummary(summarize(over(recipe.walls())), ms),
			fmt.Sprintf("recipe ÷ import: %s (per round %s)", ratio(rw.Median/ow.Median), fmtRatios(recipeOverOne))},
	)
	sec.Tables = append(sec.Tables, t)
	col := column[importSplit]
	row := func(label string, w summary, xs []importSplit) []string {
		return []string{label, fmtSummary(w, ms), fmtSummary(col(xs, importSplit.plugin), ms), fmtSummary(col(xs, func(s importSplit) float64 { return s.beforeCreate }), ms), fmtSummary(col(xs, func(s importSplit) float64 { return s.rancher }), ms),
			fmtSummary(col(xs, func(s importSplit) float64 { return s.tokenToApply }), ms), fmtSummary(col(xs, func(s importSplit) float64 { return s.agent }), ms), fmtSummary(col(xs, func(s importSplit) float64 { return s.afterReady }), ms)}
	}
	sec.Tables = append(sec.Tables, table{
		Caption: fmt.Sprintf("Importing one cluster (%d and %d runs), its wall time split by the bench's watches: *before the create* = kubectl's and the plugin's start and checks until the provisioning Cluster exists; *Rancher* = the emulator's management ID and import token steps (each %s) plus its last step (%s); "+
			"*token → apply* = from the token Secret to the agent Deployment downstream (the plugin's wait reacting, the token read, the HTTPS fetch of the manifest, the server-side apply); *agent* = from that Deployment to AgentDeployed (the emulator's agent stand-in: its watch and its TLS connection); *after Ready* = from Ready to the command's exit; "+
			"*plugin* = before the create + token → apply + after Ready: the wall time less the emulator's (Rancher's steps and the agent stand-in).", len(directSplits), len(splits), importDelay, importDelay),
		Header: []string{"command", "wall time", "plugin", "before the create", "Rancher", "token → apply", "agent", "after Ready"},
		Rows:   [][]string{row(code("kubectl-regtoken import")+" (run directly)", summarize(direct.walls()), directSplits), row(code("kubectl regtoken import"), ow, splits)},
	})
	pd, pk := col(directSplits, importSplit.plugin), col(splits, importSplit.plugin)
	b.report.addTarget("import", "import 1 cluster: plugin overhead over the emulator's delays ≤ 100 ms, run directly", fmt.Sprintf("median %s (wall over the %s floor: %s, of which the agent stand-in %s)", ms(pd.Median), floor, ms(summarize(over(direct.walls())).Median), ms(col(directSplits, func(s importSplit) float64 { return s.agent }).Median)), pd.Median <= 100)
	ro := summarize(recipeOverOne)
	b.report.addTarget("import", "import 1 cluster ≥ 4× faster than the scripted recipe", fmt.Sprintf("per round %s", ratio(ro.Median)), ro.Median >= 4)
	mo := summarize(manyOverOne)
	b.report.addTarget("import", fmt.Sprintf("import %d clusters in parallel ≤ 2× one", n), fmt.Sprintf("per round %s", ratio(mo.Median)), mo.Median <= 2)
	if pd.Median > 100 || pk.Median > 100 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("The plugin's own time importing one cluster, run directly, was %s: its process start (section 3: `kubectl-regtoken version`), the pre-flight reads of both clusters and Rancher's settings, the create, the token read, one HTTPS fetch of the manifest and the server-side apply of its objects downstream. Through kubectl it was %s (wall over the floor %s): kubectl (on this machine the Google Cloud SDK's dispatcher, section 3) finding and exec'ing the plugin comes on top.", ms(pd.Median), ms(pk.Median), ms(ov.Median)))
	}
	if mo.Median > 2 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Importing %d clusters took %s of one: every cluster costs its create, fetch and apply, on a machine with 2 cores that also runs the %d downstream kube-apiservers and their agents.", n, ratio(mo.Median), n))
	}
	if ro.Median < 4 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("The recipe took %s: its first polls miss and it sleeps 5 s between them.", ms(rw.Median)))
	}
	return nil
}
