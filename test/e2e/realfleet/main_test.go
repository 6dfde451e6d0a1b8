//go:build e2e

// Package realfleet runs kubectl regtoken, through the real kubectl,
// against the real Fleet v0.16.1 (test/realfleet): fleetcontroller on the
// management plane with kube-controller-manager, the fleet-agent chart
// from the Fleet source archive installed by the real helm into
// downstream planes (test/multicluster), where the real fleetagent runs
// as a process. One Fleet serves every test, so the tests run one after
// another; each has its own namespace and downstream planes.
//
// Without make fleet the package fails with one line saying how to build
// the real Fleet (it never skips, except under -short).
package realfleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/test/multicluster"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/realfleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Downstream planes, by the test that uses them.
const (
	enrollA = iota // enroll of two, re-run, --reregister
	enrollB
	printed          // create → the printed helm command
	expired          // an expired token
	unreachble       // an unreachable apiServerURL
	conformancePlane // the Fleet emulator, for the conformance table
	managerA         // enroll --mode manager, clusters, repair, remove
	managerB
	removeAgent // remove of an agent-mode cluster
	shardA      // an inventory in two shards, after an interrupted run
	shardB
	downstreamCount
)

var (
	env        *testenv.Env
	real       *realfleet.Fleet
	down       *multicluster.Set
	agents     []*realfleet.Kubelet // one per downstream plane
	kubeconfig string               // "upstream" (current) and every downstream context
	runner     *plugintest.Runner
	kube       kubernetes.Interface
	dyn        dynamic.Interface
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, setup)
}

// setup starts the real Fleet and the downstream planes, each with a
// kubelet for its fleet-agent.
func setup(e *testenv.Env) error {
	env = e
	kube = env.Clientset()
	dyn = dynamic.NewForConfigOrDie(env.Config)
	var err error
	if runner, err = plugintest.NewRunner(); err != nil {
		return err
	}
	if _, err := realfleet.Locate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log *os.File
	if os.Getenv("REALFLEET_LOG") != "" {
		log = os.Stderr
	}
	began := time.Now()
	down, err = multicluster.Start(multicluster.Options{N: downstreamCount, NamePrefix: "down"})
	if err != nil {
		return err
	}
	env.OnStop(func() { _ = down.Stop() })
	downTook := time.Since(began)
	opts := realfleet.Options{}
	if log != nil {
		opts.Log = log
	}
	if real, err = realfleet.Start(ctx, env, opts); err != nil {
		return err
	}
	env.OnStop(real.Stop) // before the downstream planes stop
	for _, c := range down.Clusters {
		k, err := real.StartAgents(ctx, c.Name, c.Config)
		if err != nil {
			return err
		}
		agents = append(agents, k)
	}
	fmt.Printf("real Fleet %s answering %s after start; %d downstream planes in %s\n", realfleet.Version, real.Took.Round(time.Millisecond), downstreamCount, downTook.Round(time.Millisecond))
	kubeconfig = filepath.Join(env.Dir, "realfleet.kubeconfig")
	return clientcmd.WriteToFile(*down.Kubeconfig("upstream", env.Config), kubeconfig)
}

var nsCounter atomic.Int64

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%s", prefix, nsCounter.Add(1), rand.String(4))
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// newRunner runs kubectl in a fresh directory.
func newRunner(t *testing.T) *plugintest.Runner {
	t.Helper()
	r := *runner
	r.Dir = t.TempDir()
	r.Timeout = 5 * time.Minute
	return &r
}

// regtoken runs `kubectl regtoken ARGS --kubeconfig <upstream+downstreams>`.
func regtoken(r *plugintest.Runner, args ...string) plugintest.Result {
	return r.Kubectl(append([]string{"regtoken", "--kubeconfig", kubeconfig}, args...)...)
}

// downClient is an admin client of downstream plane i.
func downClient(i int) kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(down.Clusters[i].Config)
}

// kubeSystemUID is the agent's default client ID on plane i.
func kubeSystemUID(t *testing.T, i int) string {
	t.Helper()
	ns, err := downClient(i).CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(ns.UID)
}

// logsOnFailure points at the processes' logs when the test failed.
func logsOnFailure(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the real Fleet's logs (kept while the package runs): %s", real.Dir())
		}
	})
}
