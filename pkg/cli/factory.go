package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/version"
)

// Factory hands out clients built from kubectl's connection flags. Nothing
// is loaded or dialled until a command asks, so version, help and
// completion stay off the network.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	binary      string

	// base is the kubeconfig of a ForContext factory: only its context,
	// cluster and user, taken from the parent's copy, never read again.
	base    *clientcmdapi.Config
	rawOnce sync.Once
	raw     clientcmdapi.Config
	rawErr  error

	once     sync.Once
	restCfg  *rest.Config
	restErr  error
	dynOnce  sync.Once
	dyn      dynamic.Interface
	dynErr   error
	coreOnce sync.Once
	core     corev1client.CoreV1Interface
	coreErr  error
}

// NewFactory returns the Factory of the plugin binary named binary
// (kubectl-<plugin>, for the User-Agent).
func NewFactory(binary string) *Factory {
	return &Factory{ConfigFlags: NewConfigFlags(), binary: binary}
}

// NewConfigFlags are kubectl's connection flags without --cache-dir:
// plugins never use discovery (the resources are known), so a cache
// flag would do nothing.
func NewConfigFlags() *genericclioptions.ConfigFlags {
	cf := genericclioptions.NewConfigFlags(true)
	cf.CacheDir = nil
	return cf
}

// RESTConfig is the client configuration from the kubeconfig and flags.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	f.once.Do(func() {
		if err := f.checkConfigured(); err != nil {
			f.restErr = err
			return
		}
		var cfg *rest.Config
		var err error
		if f.base != nil {
			cfg, err = f.baseConfig().ClientConfig()
		} else {
			cfg, err = f.ConfigFlags.ToRESTConfig()
		}
		if err != nil {
			f.restErr = configError(err, f.kubeconfigDescription())
			return
		}
		cfg = rest.CopyConfig(cfg)
		if cfg.QPS == 0 {
			// No --qps (RequestBudget): room for the parallel work of
			// one command, well above client-go's 5.
			cfg.QPS, cfg.Burst = 50, 100
		}
		cfg.UserAgent = fmt.Sprintf("%s/%s", f.binary, version.Version)
		// Warnings from the server (deprecations) are worth showing once.
		cfg.WarningHandler = rest.NewWarningWriter(nil, rest.WarningWriterOptions{Deduplicate: true})
		f.restCfg = cfg
	})
	return f.restCfg, f.restErr
}

// checkConfigured refuses to fall back to client-go's default of
// http://localhost:8080 when nothing names a cluster.
func (f *Factory) checkConfigured() error {
	raw, err := f.RawConfig()
	if err != nil {
		return err
	}
	if s := f.ConfigFlags.APIServer; s != nil && *s != "" {
		return nil
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return nil // in-cluster configuration
	}
	if len(raw.Clusters) == 0 {
		return configError(clientcmd.ErrEmptyConfig, f.kubeconfigDescription())
	}
	return nil
}

// checkSelected refuses a --context, --cluster or --user that the merged
// kubeconfig does not have, naming the files merged: client-go would say
// "cannot load" or "invalid configuration", as if the file were broken.
func (f *Factory) checkSelected(raw clientcmdapi.Config) error {
	where := f.kubeconfigDescription()
	if c := f.ConfigFlags.Context; c != nil && *c != "" {
		if _, ok := raw.Contexts[*c]; !ok {
			return NoSuchContext(*c, where, f.ConfigFlags.KubeConfig)
		}
	}
	if c := f.ConfigFlags.ClusterName; c != nil && *c != "" {
		if _, ok := raw.Clusters[*c]; !ok {
			return fmt.Errorf("cluster %q does not exist in the merged kubeconfig %s: pass a cluster it names (%s)", *c, where, hint(kubeconfigArg(f.ConfigFlags.KubeConfig), []string{"kubectl", "config", "get-clusters"}))
		}
	}
	if u := f.ConfigFlags.AuthInfoName; u != nil && *u != "" {
		if _, ok := raw.AuthInfos[*u]; !ok {
			return fmt.Errorf("user %q does not exist in the merged kubeconfig %s: pass a user it names (%s)", *u, where, hint(kubeconfigArg(f.ConfigFlags.KubeConfig), []string{"kubectl", "config", "get-users"}))
		}
	}
	return nil
}

// NoSuchContext is the one error for a context name the merged kubeconfig
// (where: its files) does not have; kubeconfigFlag is --kubeconfig as
// given, kept in the hint.
func NoSuchContext(name, where string, kubeconfigFlag *string) error {
	return fmt.Errorf("context %q does not exist in the merged kubeconfig %s: pass a context it names (%s lists them)", name, where, hint(kubeconfigArg(kubeconfigFlag), []string{"kubectl", "config", "get-contexts"}))
}

func kubeconfigArg(p *string) []string {
	if p == nil || *p == "" {
		return nil
	}
	return []string{"--kubeconfig=" + *p}
}

// Dynamic returns a dynamic client for custom resources.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	f.dynOnce.Do(func() {
		cfg, err := f.RESTConfig()
		if err != nil {
			f.dynErr = err
			return
		}
		f.dyn, f.dynErr = dynamic.NewForConfig(cfg)
	})
	return f.dyn, f.dynErr
}

// DynamicForWorkers is a dynamic client of its own whose rate limit is
// workersRate(n) of the shared one.
func (f *Factory) DynamicForWorkers(n int) (dynamic.Interface, error) {
	shared, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(shared)
	cfg.QPS, cfg.Burst = workersRate(cfg.QPS, cfg.Burst, n)
	return dynamic.NewForConfig(cfg)
}

// workersRate raises a client-side limit (QPS and burst) for n workers:
// perWorkerQPS each, never below what the configuration allows. The
// limiter stays on: parallel deletes must not be a flood the server has
// to shed; the server's priority and fairness (429 + Retry-After) is the
// other brake.
func workersRate(qps float32, burst, n int) (float32, int) {
	q := max(float32(perWorkerQPS*n), qps)
	return q, max(2*n, burst)
}

// perWorkerQPS is the request rate each worker is allowed.
const perWorkerQPS = 50

// CoreV1 returns a typed client for core/v1 only, which keeps binaries
// and start-up lean compared with the full clientset.
func (f *Factory) CoreV1() (corev1client.CoreV1Interface, error) {
	f.coreOnce.Do(func() {
		cfg, err := f.RESTConfig()
		if err != nil {
			f.coreErr = err
			return
		}
		// Core types speak protobuf: a list of thousands of Secrets
		// decodes several times faster, with less garbage, than JSON.
		cfg = rest.CopyConfig(cfg)
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		f.core, f.coreErr = corev1client.NewForConfig(cfg)
	})
	return f.core, f.coreErr
}

// Namespace is -n, else the kubeconfig context's namespace, else
// "default". explicit tells whether -n was given.
func (f *Factory) Namespace() (ns string, explicit bool, err error) {
	if _, err := f.RawConfig(); err != nil {
		return "", false, err
	}
	if f.base != nil {
		ns, explicit, err = f.baseConfig().Namespace()
	} else {
		ns, explicit, err = f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	}
	if err != nil {
		return "", false, configError(err, f.kubeconfigDescription())
	}
	return ns, explicit, nil
}

// RawConfig is the merged kubeconfig; a --context, --cluster or --user
// it does not have is refused.
//
// It is read once: a command of many contexts asks for it per context,
// and a kubeconfig of a thousand contexts is a megabyte to parse. Callers
// must not change it.
func (f *Factory) RawConfig() (clientcmdapi.Config, error) {
	f.rawOnce.Do(func() {
		if f.base != nil {
			f.raw = *f.base
			return
		}
		raw, err := f.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
		f.raw = raw
		if err != nil {
			f.rawErr = configError(err, f.kubeconfigDescription())
		}
	})
	if f.rawErr != nil {
		return f.raw, f.rawErr
	}
	return f.raw, f.checkSelected(f.raw)
}

// baseConfig is the client configuration of a ForContext factory, from
// the one context its parent handed over.
func (f *Factory) baseConfig() clientcmd.ClientConfig {
	return clientcmd.NewNonInteractiveClientConfig(*f.base, f.base.CurrentContext, &clientcmd.ConfigOverrides{}, nil)
}

// Flags are kubectl's connection flags this factory reads.
func (f *Factory) Flags() *genericclioptions.ConfigFlags { return f.ConfigFlags }

// CurrentCluster is the cluster entry that the flags select, flags
// (--server, --certificate-authority) applied.
func (f *Factory) CurrentCluster() (kubeconfig.Cluster, error) {
	raw, err := f.RawConfig()
	if err != nil {
		return kubeconfig.Cluster{}, err
	}
	contextName := raw.CurrentContext
	if c := f.ConfigFlags.Context; c != nil && *c != "" {
		contextName = *c
	}
	clusterName := ""
	if ctx, ok := raw.Contexts[contextName]; ok {
		clusterName = ctx.Cluster
	}
	if c := f.ConfigFlags.ClusterName; c != nil && *c != "" {
		clusterName = *c
	}
	cluster := kubeconfig.FromAPI(contextName, raw.Clusters[clusterName])
	if s := f.ConfigFlags.APIServer; s != nil && *s != "" {
		cluster.Server = *s
	}
	if c := f.ConfigFlags.CAFile; c != nil && *c != "" {
		cluster.CAFile = *c
		cluster.CAData = nil
	}
	return cluster, nil
}

// KubeconfigCluster is the merged kubeconfig's cluster entry name.
func (f *Factory) KubeconfigCluster(name string) (kubeconfig.Cluster, bool, error) {
	raw, err := f.RawConfig()
	if err != nil {
		return kubeconfig.Cluster{}, false, err
	}
	c, ok := raw.Clusters[name]
	if !ok {
		return kubeconfig.Cluster{}, false, nil
	}
	return kubeconfig.FromAPI("", c), true, nil
}

// Endpoint names the server and context for connection errors; it never
// fails.
func (f *Factory) Endpoint() (server, contextName string) {
	if f.restCfg != nil {
		server = f.restCfg.Host
	}
	if cluster, err := f.CurrentCluster(); err == nil {
		contextName = cluster.Context
		if server == "" {
			server = cluster.Server
		}
	}
	return server, contextName
}

// kubeconfigDescription names the kubeconfig files that are merged:
// --kubeconfig, else the files of $KUBECONFIG (joined as there), else
// ~/.kube/config.
func (f *Factory) kubeconfigDescription() string {
	if k := f.ConfigFlags.KubeConfig; k != nil && *k != "" {
		return *k
	}
	return strings.Join(clientcmd.NewDefaultClientConfigLoadingRules().Precedence, string(filepath.ListSeparator))
}

// RESTClientFor is an unversioned REST client for gv: a client bound to a
// group version would convert the server's error Status objects into it
// and lose their message.
func (f *Factory) RESTClientFor(gv schema.GroupVersion) (rest.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return RESTClientForConfig(cfg, gv)
}

// RESTClientForConfig is Clients.RESTClientFor on cfg, for the
// implementations of Clients.
func RESTClientForConfig(cfg *rest.Config, gv schema.GroupVersion) (rest.Interface, error) {
	cfg = dynamic.ConfigFor(cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	return rest.UnversionedRESTClientFor(cfg)
}

// ServerVersion is one GET /version.
func (f *Factory) ServerVersion(ctx context.Context) (*k8sversion.Info, error) {
	rc, err := f.RESTClientFor(schema.GroupVersion{Version: "v1"})
	if err != nil {
		return nil, err
	}
	return GetVersion(ctx, rc)
}

// GetVersion reads GET /version with client c.
func GetVersion(ctx context.Context, c rest.Interface) (*k8sversion.Info, error) {
	raw, err := c.Get().AbsPath("/version").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var v k8sversion.Info
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("the server's /version is not JSON: %w", err)
	}
	return &v, nil
}

// configError explains a kubeconfig that cannot be used.
func configError(err error, where string) error {
	switch {
	case clientcmd.IsEmptyConfig(err):
		return fmt.Errorf("no cluster to talk to: kubeconfig %s is empty or missing; pass --kubeconfig, set KUBECONFIG or pass --server", where)
	case clientcmd.IsConfigurationInvalid(err):
		return fmt.Errorf("kubeconfig %s cannot be used: %s; fix it or pick another --context", where, apierror.OneLine(err.Error()))
	case errors.Is(err, context.Canceled):
		return err
	default:
		return fmt.Errorf("cannot load kubeconfig %s: %s; fix it or pass another --kubeconfig", where, apierror.OneLine(err.Error()))
	}
}
