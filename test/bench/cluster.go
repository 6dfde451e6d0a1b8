package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// benchUser is the identity every measured command uses. Counting the
// audit log by user leaves out the emulators and the bench's own set-up
// (they act as admin) and kube-apiserver's loopback requests.
const benchUser = "bench"

// cluster is the control plane and the emulators the bench runs against.
type cluster struct {
	env        *testenv.Env
	audit      *auditLog
	kubeconfig string       // bench user, system:masters
	cfg        *rest.Config // bench user, for seeding at high QPS
	kube       kubernetes.Interface
	fleets     map[time.Duration]*fleetEmulator
	rancher    *rancher.Emulator
	statuses   *statusWatch
}

// fleetEmulator is one Fleet controller emulator with a fixed delay,
// limited to its own namespace so that several delays run side by side.
type fleetEmulator struct {
	Delay     time.Duration
	Namespace string
	em        *fleet.Emulator
}

// enrollNamespace is where tokens for a delay live.
func enrollNamespace(d time.Duration) string {
	return fmt.Sprintf("bench-enroll-%dms", d.Milliseconds())
}

func startCluster(ctx context.Context, b *bench, delays []time.Duration) (c *cluster, err error) {
	auditDir, err := os.MkdirTemp("", "kubectl-tokens-bench-audit-")
	if err != nil {
		return nil, err
	}
	args, logPath, err := auditArgs(auditDir)
	if err != nil {
		return nil, err
	}
	// One deletecollection of the prune comparison's 100,000 tokens runs
	// for minutes: at the default 60s request timeout the apiserver cuts
	// it off and its deletion stops with it, so the anchor would never
	// finish. A longer limit lets it run as the one request it is.
	args["request-timeout"] = []string{"30m"}
	b.logf("starting kube-apiserver and etcd (audit log %s)", logPath)
	env, err := testenv.Start(testenv.Options{FrontProxy: true, APIServerArgs: args})
	if err != nil {
		_ = os.RemoveAll(auditDir)
		return nil, err
	}
	c = &cluster{env: env, audit: &auditLog{path: logPath, user: benchUser}, fleets: map[time.Duration]*fleetEmulator{}}
	b.cleanups = append(b.cleanups, func() error {
		return errors.Join(c.stop(), os.RemoveAll(auditDir))
	})

	var path string
	if c.cfg, path, err = env.User(benchUser, "system:masters"); err != nil {
		return c, err
	}
	c.kubeconfig = filepath.Join(b.scratch, "bench.kubeconfig")
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := os.WriteFile(c.kubeconfig, raw, 0o600); err != nil {
		return c, err
	}
	c.cfg = rest.CopyConfig(c.cfg)
	c.cfg.QPS, c.cfg.Burst = 5000, 5000
	if c.kube, err = kubernetes.NewForConfig(c.cfg); err != nil {
		return c, err
	}

	crdDir := filepath.Join(env.Root, "test", "emulators", "fleet", "crds")
	if _, err := fleet.InstallCRDs(ctx, env.Config, crdDir, false); err != nil {
		return c, err
	}
	for _, d := range delays {
		ns := enrollNamespace(d)
		if err := c.ensureNamespace(ctx, ns); err != nil {
			return c, err
		}
		em, err := fleet.Start(ctx, env.Config, fleet.Options{
			Delay:        d,
			Namespace:    ns,
			APIServerURL: env.Config.Host,
			APIServerCA:  string(env.Config.CAData),
		})
		if err != nil {
			return c, fmt.Errorf("fleet emulator (delay %s): %w", d, err)
		}
		c.fleets[d] = &fleetEmulator{Delay: d, Namespace: ns, em: em}
	}
	b.logf("fleet emulators running for delays %v", delays)
	if c.statuses, err = watchStatuses(ctx, env.Config); err != nil {
		return c, err
	}

	if err := rancher.InstallCRDs(ctx, env.Config); err != nil {
		return c, err
	}
	if c.rancher, err = rancher.Start(ctx, env.Config, env.FrontProxy, rancher.Options{}); err != nil {
		return c, fmt.Errorf("rancher emulator: %w", err)
	}
	b.logf("rancher ext token emulator serving on port %d", c.rancher.Port)
	return c, nil
}

func (c *cluster) ensureNamespace(ctx context.Context, ns string) error {
	_, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}

// stop ends the emulators, then kube-apiserver, then etcd.
func (c *cluster) stop() error {
	var errs []error
	if c.statuses != nil {
		c.statuses.stop()
	}
	if c.rancher != nil {
		errs = append(errs, c.rancher.Stop())
	}
	for _, f := range c.fleets {
		f.em.Stop()
	}
	if c.env != nil {
		errs = append(errs, c.env.Stop())
	}
	return errors.Join(errs...)
}

// statusWatch records when each ClusterRegistrationToken was first seen
// with status.secretName set (the controller writes it right after the
// values Secret, and it is what kubectl regtoken create waits for), so the
// enrollment overhead can be split into the controller's status write and
// the client's own work.
type statusWatch struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func watchStatuses(ctx context.Context, cfg *rest.Config) (*statusWatch, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sw := &statusWatch{seen: map[string]time.Time{}, done: make(chan struct{})}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	inf := factory.ForResource(fleet.GVR).Informer()
	record := func(obj any) {
		now := time.Now()
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		if name, _, _ := unstructured.NestedString(u.Object, "status", "secretName"); name == "" {
			return
		}
		key := u.GetNamespace() + "/" + u.GetName()
		sw.mu.Lock()
		if _, ok := sw.seen[key]; !ok {
			sw.seen[key] = now
		}
		sw.mu.Unlock()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record,
		UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	sw.cancel = cancel
	go func() {
		defer close(sw.done)
		inf.RunWithContext(runCtx)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		sw.stop()
		return nil, errors.New("watching ClusterRegistrationTokens did not start")
	}
	return sw, nil
}

// at is when ns/name first had status.secretName.
func (sw *statusWatch) at(ns, name string) (time.Time, bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	t, ok := sw.seen[ns+"/"+name]
	return t, ok
}

func (sw *statusWatch) stop() {
	sw.cancel()
	<-sw.done
}
