package realfleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/workqueue"
)

// KubeletOptions choose what a Kubelet runs.
type KubeletOptions struct {
	// Name names the plane in logs and in the scratch directory.
	Name string
	// Config is an admin of the plane: the kubelet watches Deployments,
	// reads Secrets and ConfigMaps, requests ServiceAccount tokens and
	// reports Deployment status with it. Host and CA also go into each
	// pod's kubeconfig.
	Config *rest.Config
	// Deployments are the Deployments whose pods run here.
	Deployments []types.NamespacedName
	// Binaries map a container's command[0] (its base name) to a local
	// executable.
	Binaries map[string]string
	// Env is added to every container, last (it wins): what the pod's own
	// network namespace gives a real pod, here the settings that keep many
	// processes on one machine from opening the same ports.
	Env []corev1.EnvVar
	// Dir holds one directory per pod: kubeconfig, token, CA, HOME, TMPDIR
	// and a log file per container.
	Dir string
	// Log, when set, also receives every container's output.
	Log io.Writer
}

// Kubelet runs the containers of chosen Deployments of one control plane
// as local processes, the part of a node that these test planes lack:
// one pod per Deployment (replicas 0 stops it), named like a
// ReplicaSet's pod, its containers started with the command, args and
// environment a kubelet would give them (see containerEnv) and a
// kubeconfig (KUBECONFIG) holding a token of the pod's ServiceAccount, as
// in-cluster config would. A changed pod template replaces the pod (stop,
// then start: how helm upgrade and Fleet's takeover restart the agent); a
// container that exits is restarted after a back-off; Stop ends every
// process. The Deployment's status reports the pod available once its
// containers run, as kube-controller-manager would from a ready pod.
type Kubelet struct {
	opts   KubeletOptions
	kube   kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]
	lister cache.Indexer
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	pods   map[types.NamespacedName]*pod
	starts map[types.NamespacedName]int
	held   map[types.NamespacedName]bool
}

// StartKubelet starts watching and returns once the Deployments' cache
// is in sync.
func StartKubelet(ctx context.Context, opts KubeletOptions) (*Kubelet, error) {
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	k := &Kubelet{
		opts:   opts,
		kube:   kube,
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		cancel: cancel,
		done:   make(chan struct{}),
		pods:   map[types.NamespacedName]*pod{},
		starts: map[types.NamespacedName]int{},
		held:   map[types.NamespacedName]bool{},
	}
	factory := informers.NewSharedInformerFactory(kube, 0)
	inf := factory.Apps().V1().Deployments().Informer()
	k.lister = inf.GetIndexer()
	enqueue := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if d, ok := obj.(*appsv1.Deployment); ok && k.chosen(d.Namespace, d.Name) {
			k.queue.Add(types.NamespacedName{Namespace: d.Namespace, Name: d.Name})
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		cancel()
		return nil, err
	}
	factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		cancel()
		factory.Shutdown()
		return nil, fmt.Errorf("kubelet %s: the Deployments cache did not sync", opts.Name)
	}
	go func() {
		defer close(k.done)
		defer factory.Shutdown()
		go func() { <-runCtx.Done(); k.queue.ShutDown() }()
		for k.next(runCtx) {
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		for key, p := range k.pods {
			p.stop()
			delete(k.pods, key)
		}
	}()
	return k, nil
}

// Stop stops every pod and the watch.
func (k *Kubelet) Stop() {
	k.cancel()
	<-k.done
}

// PodName is the name (and HOSTNAME) of the pod now running for the
// Deployment, "" when none.
func (k *Kubelet) PodName(ns, name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p := k.pods[types.NamespacedName{Namespace: ns, Name: name}]; p != nil {
		return p.meta.Name
	}
	return ""
}

// Starts counts the pods started so far for the Deployment (a pod
// replaced by a template change counts again; a container restart does
// not).
func (k *Kubelet) Starts(ns, name string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.starts[types.NamespacedName{Namespace: ns, Name: name}]
}

// Hold keeps the Deployment's next pod from starting until Release: a
// node that is slow to pull the image, for tests that need something to
// happen before the container runs. A running pod is left alone.
func (k *Kubelet) Hold(ns, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.held[types.NamespacedName{Namespace: ns, Name: name}] = true
}

// Release lets a held Deployment's pod start.
func (k *Kubelet) Release(ns, name string) {
	key := types.NamespacedName{Namespace: ns, Name: name}
	k.mu.Lock()
	delete(k.held, key)
	k.mu.Unlock()
	k.queue.Add(key)
}

func (k *Kubelet) chosen(ns, name string) bool {
	for _, d := range k.opts.Deployments {
		if d.Namespace == ns && d.Name == name {
			return true
		}
	}
	return false
}

func (k *Kubelet) next(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil {
		k.logf("%s: %v (retrying)", key, err)
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// sync makes the running pod match the Deployment.
func (k *Kubelet) sync(ctx context.Context, key types.NamespacedName) error {
	obj, exists, err := k.lister.GetByKey(key.String())
	if err != nil {
		return err
	}
	k.mu.Lock()
	running := k.pods[key]
	k.mu.Unlock()
	var dep *appsv1.Deployment
	if exists {
		dep = obj.(*appsv1.Deployment)
	}
	if dep == nil || (dep.Spec.Replicas != nil && *dep.Spec.Replicas == 0) {
		if running != nil {
			k.logf("%s: stopping pod %s", key, running.meta.Name)
			running.stop()
			k.mu.Lock()
			delete(k.pods, key)
			k.mu.Unlock()
		}
		if dep != nil {
			return k.reportStatus(ctx, dep, 0)
		}
		return nil
	}
	hash, err := templateHash(dep.Spec.Template)
	if err != nil {
		return err
	}
	if running != nil && running.hash == hash {
		return k.reportStatus(ctx, dep, 1)
	}
	k.mu.Lock()
	held := k.held[key]
	k.mu.Unlock()
	if held {
		k.logf("%s: held: not starting its pod", key)
		return nil
	}
	if running != nil {
		k.logf("%s: pod template changed: replacing pod %s", key, running.meta.Name)
		running.stop()
	}
	p, err := k.newPod(dep, hash)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.pods[key] = p
	k.starts[key]++
	k.mu.Unlock()
	k.logf("%s: starting pod %s", key, p.meta.Name)
	podCtx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	p.wg.Add(1)
	go p.run(podCtx)
	return k.reportStatus(ctx, dep, 1)
}

// reportStatus writes what kube-controller-manager's deployment
// controller would once the pod is ready (no probes here: running is
// ready).
func (k *Kubelet) reportStatus(ctx context.Context, dep *appsv1.Deployment, n int32) error {
	s := dep.Status
	if s.ObservedGeneration == dep.Generation && s.Replicas == n && s.AvailableReplicas == n && s.ReadyReplicas == n && s.UpdatedReplicas == n {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{
		"observedGeneration": dep.Generation, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
	}})
	if err != nil {
		return err
	}
	_, err = k.kube.AppsV1().Deployments(dep.Namespace).Patch(ctx, dep.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// templateHash names a pod template, as pod-template-hash does.
func templateHash(t corev1.PodTemplateSpec) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10], nil
}

func (k *Kubelet) logf(format string, args ...any) {
	if k.opts.Log != nil {
		fmt.Fprintf(k.opts.Log, "%s kubelet %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.000"), k.opts.Name}, args...)...)
	}
}

// pod is one running pod: its containers' processes.
type pod struct {
	k    *Kubelet
	meta podMeta
	spec corev1.PodSpec
	hash string
	dir  string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (k *Kubelet) newPod(dep *appsv1.Deployment, hash string) (*pod, error) {
	name := fmt.Sprintf("%s-%s-%s", dep.Name, hash, rand.String(5))
	labels := map[string]string{"pod-template-hash": hash}
	for key, v := range dep.Spec.Template.Labels {
		labels[key] = v
	}
	sa := dep.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	p := &pod{
		k:    k,
		meta: podMeta{Name: name, Namespace: dep.Namespace, UID: string(uuid.NewUUID()), ServiceAccount: sa, Labels: labels, Annotations: dep.Spec.Template.Annotations},
		spec: dep.Spec.Template.Spec,
		hash: hash,
		dir:  filepath.Join(k.opts.Dir, dep.Namespace, name),
	}
	for _, d := range []string{"home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// run requests the ServiceAccount token (retrying until the account
// exists), then runs every container until the pod is stopped.
func (p *pod) run(ctx context.Context) {
	defer p.wg.Done()
	kubeconfig, expires, err := p.credentials(ctx)
	for backoff := time.Second; err != nil; backoff = min(2*backoff, 30*time.Second) {
		p.k.logf("%s/%s: %v (retrying in %s)", p.meta.Namespace, p.meta.Name, err, backoff)
		if !sleep(ctx, backoff) {
			return
		}
		kubeconfig, expires, err = p.credentials(ctx)
	}
	for _, c := range p.spec.Containers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.runContainer(ctx, c, kubeconfig)
		}()
	}
	// Refresh the token before it expires, as the kubelet does at 80% of
	// its life; client-go rereads a kubeconfig's tokenFile.
	for {
		if !sleep(ctx, time.Until(expires)*4/5) {
			return
		}
		if _, expires, err = p.credentials(ctx); err != nil {
			p.k.logf("%s/%s: refreshing the token: %v", p.meta.Namespace, p.meta.Name, err)
			expires = time.Now().Add(10 * time.Second)
		}
	}
}

// stop ends the pod's containers and waits for them.
func (p *pod) stop() {
	p.cancel()
	p.wg.Wait()
}

// credentials writes the pod's token, CA and an in-cluster-like
// kubeconfig (server, CA file, token file) and returns the kubeconfig's
// path and when the token expires.
func (p *pod) credentials(ctx context.Context) (string, time.Time, error) {
	ttl := int64(3600)
	tr, err := p.k.kube.CoreV1().ServiceAccounts(p.meta.Namespace).CreateToken(ctx, p.meta.ServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token of ServiceAccount %s/%s: %w", p.meta.Namespace, p.meta.ServiceAccount, err)
	}
	sa := filepath.Join(p.dir, "serviceaccount")
	if err := os.MkdirAll(sa, 0o700); err != nil {
		return "", time.Time{}, err
	}
	files := map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": p.k.opts.Config.CAData, "namespace": []byte(p.meta.Namespace)}
	for name, data := range files {
		tmp := filepath.Join(sa, "."+name)
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return "", time.Time{}, err
		}
		if err := os.Rename(tmp, filepath.Join(sa, name)); err != nil {
			return "", time.Time{}, err
		}
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["in-cluster"] = &clientcmdapi.Cluster{Server: p.k.opts.Config.Host, CertificateAuthority: filepath.Join(sa, "ca.crt")}
	kc.AuthInfos["serviceaccount"] = &clientcmdapi.AuthInfo{TokenFile: filepath.Join(sa, "token")}
	kc.Contexts["in-cluster"] = &clientcmdapi.Context{Cluster: "in-cluster", AuthInfo: "serviceaccount", Namespace: p.meta.Namespace}
	kc.CurrentContext = "in-cluster"
	path := filepath.Join(p.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", time.Time{}, err
	}
	return path, tr.Status.ExpirationTimestamp.Time, nil
}

// runContainer runs one container with restartPolicy Always: after an
// exit it waits (1 s, doubling to 30 s; the kubelet's is 10 s to 5 min),
// and a run of a minute resets the wait.
func (p *pod) runContainer(ctx context.Context, c corev1.Container, kubeconfig string) {
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := p.runOnce(ctx, c, kubeconfig)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		p.k.logf("%s/%s: container %s: %v; restarting in %s", p.meta.Namespace, p.meta.Name, c.Name, err, backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// runOnce starts the container's process and waits for it to exit, or
// stops it (SIGTERM, then SIGKILL after the grace period, at most 10 s)
// when ctx ends.
func (p *pod) runOnce(ctx context.Context, c corev1.Container, kubeconfig string) error {
	if len(c.Command) == 0 {
		return fmt.Errorf("no command: the test kubelet cannot run an image's entrypoint")
	}
	bin, ok := p.k.opts.Binaries[filepath.Base(c.Command[0])]
	if !ok {
		return fmt.Errorf("no local binary for command %q", c.Command[0])
	}
	env, err := containerEnv(ctx, p.k.kube, p.meta, c)
	if err != nil {
		return err
	}
	vars := map[string]string{}
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	args := make([]string, 0, len(c.Command)+len(c.Args)-1)
	for _, a := range append(c.Command[1:len(c.Command):len(c.Command)], c.Args...) {
		args = append(args, expand(a, lookup))
	}
	environ := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOSTNAME=" + p.meta.Name,
		"HOME=" + filepath.Join(p.dir, "home"),
		"TMPDIR=" + filepath.Join(p.dir, "tmp"),
		"KUBECONFIG=" + kubeconfig,
	}
	for _, e := range append(env, p.k.opts.Env...) {
		environ = append(environ, e.Name+"="+e.Value)
	}
	logFile, err := os.OpenFile(filepath.Join(p.dir, c.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	var out io.Writer = logFile
	if p.k.opts.Log != nil {
		out = io.MultiWriter(logFile, &prefixWriter{w: p.k.opts.Log, prefix: p.k.opts.Name + " " + p.meta.Name + "/" + c.Name + ": "})
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	cmd.Dir = filepath.Join(p.dir, "tmp")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			return errors.New("exited 0")
		}
		return err
	case <-ctx.Done():
	}
	grace := 10 * time.Second
	if g := p.spec.TerminationGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < grace {
		grace = time.Duration(*g) * time.Second
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	// The exit status of a stopped container is not news: it was told to
	// stop.
	select {
	case err := <-exited:
		_ = err
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err := <-exited
		_ = err
	}
	return nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// prefixWriter prefixes each line (writes are whole lines from the
// processes' loggers in practice; a split line gets a second prefix).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (pw *prefixWriter) Write(b []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if _, err := io.WriteString(pw.w, pw.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
