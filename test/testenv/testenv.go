// Package testenv starts the real control plane the tests run against:
// kube-apiserver and etcd built from the pinned modules (make testbin),
// driven by controller-runtime's envtest, with RBAC and bootstrap-token
// authentication on. It never skips: without its binaries it fails.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options shape one control plane.
type Options struct {
	// CRDDirs are directories of CRD YAML, relative to the repository root.
	CRDDirs []string
	// APIServerArgs are extra kube-apiserver flags (name without "--").
	APIServerArgs map[string][]string
	// FrontProxy configures the requestheader/front-proxy flags so that
	// aggregated API servers (the Rancher emulator) receive the caller's
	// identity as X-Remote-* headers.
	FrontProxy bool
	// Output, when set, receives the control plane's own logs.
	Output *os.File
}

// Env is a running control plane.
type Env struct {
	Root       string       // repository root
	Dir        string       // scratch directory, removed by Stop
	Config     *rest.Config // admin (system:masters)
	Kubeconfig string       // admin kubeconfig file, CA embedded
	FrontProxy *FrontProxy  // set with Options.FrontProxy

	env *envtest.Environment
	// set while StopAPIServer/StartAPIServer replaced envtest's process
	apiserverArgs []string
	restarted     *exec.Cmd
	onStop        []func()
}

// OnStop registers fn to run first when Stop is called (last registered,
// first run): what a package starts beside the control plane, such as
// downstream control planes, goes before it.
func (e *Env) OnStop(fn func()) { e.onStop = append(e.onStop, fn) }

// Start brings up etcd and kube-apiserver and installs the CRDs.
func Start(opts Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := BinDir(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubectl-tokens-env-")
	if err != nil {
		return nil, err
	}
	e := &Env{Root: root, Dir: dir}

	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ErrorIfCRDPathMissing:    true,
		UseExistingCluster:       new(false),
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	for _, d := range opts.CRDDirs {
		te.CRDDirectoryPaths = append(te.CRDDirectoryPaths, filepath.Join(root, d))
	}
	if opts.Output != nil {
		te.AttachControlPlaneOutput = true
	}
	api := te.ControlPlane.GetAPIServer()
	if opts.Output != nil {
		api.Out, api.Err = opts.Output, opts.Output
	}
	args := api.Configure()
	args.Set("enable-bootstrap-token-auth", "true")
	args.Set("authorization-mode", "RBAC")
	if opts.FrontProxy {
		fp, err := newFrontProxy(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		e.FrontProxy = fp
		for k, v := range fp.apiserverArgs() {
			args.Set(k, v...)
		}
	}
	for k, v := range opts.APIServerArgs {
		args.Set(k, v...)
	}

	cfg, err := te.Start()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	e.env = te
	admin, err := te.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	e.Config = admin.Config()
	if e.Kubeconfig, err = e.writeKubeconfig("admin", e.Config); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop stops kube-apiserver, then etcd (the other order can hang the
// apiserver's shutdown), and removes the scratch directory.
func (e *Env) Stop() error {
	for i := len(e.onStop) - 1; i >= 0; i-- {
		e.onStop[i]()
	}
	e.onStop = nil
	var err error
	if e.restarted != nil {
		_ = e.restarted.Process.Signal(syscall.SIGTERM)
		_ = e.restarted.Wait()
	}
	if e.env != nil {
		err = e.env.Stop()
	}
	return errors.Join(err, os.RemoveAll(e.Dir))
}

// APIServer gives the envtest handle on kube-apiserver (to stop and start
// it in fault tests).
func (e *Env) APIServer() *envtest.APIServer { return e.env.ControlPlane.GetAPIServer() }

// Clientset is a full admin clientset for test set-up.
func (e *Env) Clientset() kubernetes.Interface { return kubernetes.NewForConfigOrDie(e.Config) }

// User creates credentials for a user with the given groups (RBAC decides
// what they may do) and returns their rest config and kubeconfig file.
func (e *Env) User(name string, groups ...string) (*rest.Config, string, error) {
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, e.Config)
	if err != nil {
		return nil, "", err
	}
	cfg := u.Config()
	path, err := e.writeKubeconfig(name, cfg)
	return cfg, path, err
}

// writeKubeconfig writes a kubeconfig with one cluster "envtest", one
// context named after the user (namespace "default") and the CA embedded,
// as kubeadm's admin.conf does.
func (e *Env) writeKubeconfig(user string, cfg *rest.Config) (string, error) {
	kc := KubeconfigFor(cfg, user, "")
	path := filepath.Join(e.Dir, fileSafe(user)+".kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// KubeconfigFor builds a kubeconfig for cfg with a context named ctxName
// whose default namespace is ns ("" leaves it unset).
func KubeconfigFor(cfg *rest.Config, ctxName, ns string) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = cfg.Host
	cluster.CertificateAuthorityData = cfg.CAData
	kc.Clusters["envtest"] = cluster
	auth := clientcmdapi.NewAuthInfo()
	auth.ClientCertificateData = cfg.CertData
	auth.ClientKeyData = cfg.KeyData
	auth.Token = cfg.BearerToken
	kc.AuthInfos[ctxName] = auth
	ctx := clientcmdapi.NewContext()
	ctx.Cluster = "envtest"
	ctx.AuthInfo = ctxName
	ctx.Namespace = ns
	kc.Contexts[ctxName] = ctx
	kc.CurrentContext = ctxName
	return kc
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// RepoRoot finds the repository root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/kubectl-tokens/kubectl-tokens\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the kubectl-tokens repository root above the working directory")
		}
		dir = parent
	}
}

// BinDir is where kube-apiserver, etcd and kubeadm are: $KUBEBUILDER_ASSETS
// or bin/testbin. Missing binaries are an error, never a skip.
func BinDir(root string) (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(root, "bin", "testbin")
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kubeadm"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("control plane binary %s is missing from %s: run `make testbin` (make test does it for you)", b, dir)
		}
	}
	return dir, nil
}
