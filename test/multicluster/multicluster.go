// Package multicluster starts many downstream control planes cheaply for
// the tests and benchmarks that enroll clusters: one etcd, and one
// kube-apiserver per cluster with its own --etcd-prefix, certificates and
// port (the binaries of bin/testbin, as testenv uses). Each apiserver
// creates its own kube-system namespace, so every cluster has its own UID
// there (the Fleet agent's default clientID). No kube-controller-manager,
// scheduler or kubelet runs: Deployments are stored, never run.
package multicluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Options shape a set of downstream clusters.
type Options struct {
	// N is the number of clusters.
	N int
	// NamePrefix names the clusters (and their kubeconfig contexts)
	// <prefix>-1 … <prefix>-N (default "downstream").
	NamePrefix string
	// Parallel bounds how many apiservers start at once (default 4: the
	// start-up is CPU-bound).
	Parallel int
	// APIServerArgs are extra kube-apiserver flags (name without "--").
	APIServerArgs map[string][]string
	// Output, when set, receives the processes' logs.
	Output io.Writer
}

// Cluster is one downstream control plane.
type Cluster struct {
	Name   string       // its kubeconfig context
	Config *rest.Config // admin (system:masters)

	api *envtest.APIServer
}

// Set is a running set of downstream clusters.
type Set struct {
	Clusters []*Cluster
	// Took is how long Start took.
	Took time.Duration

	dir  string
	etcd *envtest.Etcd
}

// Start brings up one etcd and N kube-apiservers on it.
func Start(opts Options) (*Set, error) {
	if opts.N < 1 {
		return nil, errors.New("multicluster: N must be at least 1")
	}
	if opts.NamePrefix == "" {
		opts.NamePrefix = "downstream"
	}
	if opts.Parallel < 1 {
		opts.Parallel = 4
	}
	began := time.Now()
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := testenv.BinDir(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubectl-tokens-multicluster-")
	if err != nil {
		return nil, err
	}
	s := &Set{dir: dir}
	s.etcd = &envtest.Etcd{Path: filepath.Join(assets, "etcd"), DataDir: filepath.Join(dir, "etcd"), StartTimeout: 60 * time.Second, Out: opts.Output, Err: opts.Output}
	if err := s.etcd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("multicluster: starting etcd: %w", err)
	}

	s.Clusters = make([]*Cluster, opts.N)
	errs := make([]error, opts.N)
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i := range opts.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s.Clusters[i], errs[i] = s.startOne(fmt.Sprintf("%s-%d", opts.NamePrefix, i+1), assets, opts)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.Took = time.Since(began)
	return s, nil
}

func (s *Set) startOne(name, assets string, opts Options) (*Cluster, error) {
	api := &envtest.APIServer{
		Path:         filepath.Join(assets, "kube-apiserver"),
		EtcdURL:      s.etcd.URL,
		CertDir:      filepath.Join(s.dir, name),
		StartTimeout: 120 * time.Second,
		StopTimeout:  30 * time.Second,
		Out:          opts.Output,
		Err:          opts.Output,
	}
	if err := os.MkdirAll(api.CertDir, 0o700); err != nil {
		return nil, err
	}
	args := api.Configure()
	args.Set("etcd-prefix", "/"+name)
	args.Set("authorization-mode", "RBAC")
	for k, v := range opts.APIServerArgs {
		args.Set(k, v...)
	}
	if err := api.Start(); err != nil {
		return nil, fmt.Errorf("multicluster: starting kube-apiserver %s: %w", name, err)
	}
	plane := &envtest.ControlPlane{APIServer: api, Etcd: s.etcd}
	admin, err := plane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, &rest.Config{QPS: 100, Burst: 200})
	if err != nil {
		_ = api.Stop()
		return nil, fmt.Errorf("multicluster: admin of %s: %w", name, err)
	}
	return &Cluster{Name: name, Config: admin.Config(), api: api}, nil
}

// Stop stops every apiserver, then etcd, and removes the scratch data.
func (s *Set) Stop() error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.Clusters {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.api.Stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if s.etcd != nil {
		errs = append(errs, s.etcd.Stop())
	}
	errs = append(errs, os.RemoveAll(s.dir))
	return errors.Join(errs...)
}

// Kubeconfig is one kubeconfig for the management cluster (current
// context upstreamName) and every downstream cluster (a context named
// after each), each with its own cluster entry, CA embedded.
func (s *Set) Kubeconfig(upstreamName string, upstream *rest.Config) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	addContext(kc, upstreamName, upstream)
	s.AddTo(kc)
	kc.CurrentContext = upstreamName
	return kc
}

// AddTo adds a cluster, user and context named after each downstream
// cluster to kc (replacing entries of those names), leaving the rest of
// kc, its current context included, as it was.
func (s *Set) AddTo(kc *clientcmdapi.Config) {
	for _, c := range s.Clusters {
		addContext(kc, c.Name, c.Config)
	}
}

func addContext(kc *clientcmdapi.Config, name string, cfg *rest.Config) {
	cluster := clientcmdapi.NewCluster()
	cluster.Server = cfg.Host
	cluster.CertificateAuthorityData = cfg.CAData
	kc.Clusters[name] = cluster
	auth := clientcmdapi.NewAuthInfo()
	auth.ClientCertificateData = cfg.CertData
	auth.ClientKeyData = cfg.KeyData
	auth.Token = cfg.BearerToken
	kc.AuthInfos[name] = auth
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = name, name
	kc.Contexts[name] = ctx
}

// WriteKubeconfig writes Kubeconfig to path (mode 0600).
func (s *Set) WriteKubeconfig(path, upstreamName string, upstream *rest.Config) error {
	return clientcmd.WriteToFile(*s.Kubeconfig(upstreamName, upstream), path)
}

// Names are the clusters' context names, in order.
func (s *Set) Names() []string {
	names := make([]string, len(s.Clusters))
	for i, c := range s.Clusters {
		names[i] = c.Name
	}
	return names
}
