package cli

import (
	"context"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// Clients is everything a command may ask of the connection flags: the
// flags themselves, the namespace, the kubeconfig's contexts and cluster,
// the endpoint errors name, the server's /version and clients. Factory
// implements it against the kubeconfig; tests implement it with client-go
// fakes (pkg/cli/clitest), so every command runs in-process. A command
// needs nothing else: it neither type-asserts its Clients nor builds
// clients of its own from RESTConfig.
type Clients interface {
	Contexts
	// Flags are kubectl's connection flags, bound to the root command.
	Flags() *genericclioptions.ConfigFlags
	// Namespace is -n, else the kubeconfig context's namespace, else
	// "default"; explicit tells whether -n was given.
	Namespace() (ns string, explicit bool, err error)
	// RESTConfig is the client configuration, for what no client here
	// serves (bootstrap verify's anonymous client, which presents nothing
	// but the token under test).
	RESTConfig() (*rest.Config, error)
	Dynamic() (dynamic.Interface, error)
	// DynamicForWorkers is Dynamic for n concurrent workers: the
	// client-side rate limit raised to match (a parallel prune would
	// otherwise queue on the shared 50 requests per second).
	DynamicForWorkers(n int) (dynamic.Interface, error)
	CoreV1() (corev1client.CoreV1Interface, error)
	// RESTClientFor is a REST client for group version gv (the empty
	// group is the core API), for the requests the typed and dynamic
	// clients cannot make (server-side Tables). It is unversioned: the
	// server's error Status objects keep their message.
	RESTClientFor(gv schema.GroupVersion) (rest.Interface, error)
	// ServerVersion is the server's GET /version: one request, no
	// discovery.
	ServerVersion(ctx context.Context) (*version.Info, error)
	// CurrentCluster is the kubeconfig cluster the flags select, for
	// commands that print or embed its server and CA.
	CurrentCluster() (kubeconfig.Cluster, error)
	// KubeconfigCluster is the merged kubeconfig's cluster entry name
	// (kubeadm's join reads the unnamed one, ""); ok is false when there
	// is none.
	KubeconfigCluster(name string) (c kubeconfig.Cluster, ok bool, err error)
	// Endpoint names the server and context for connection errors; it
	// never fails (either may be "").
	Endpoint() (server, contextName string)
}

// ConnectionArgs are the connection flags the user passed, in a form to
// repeat in a follow-up hint ("run kubectl regtoken list --context x"):
// a hint that dropped them would talk to another cluster.
func ConnectionArgs(cf *genericclioptions.ConfigFlags) []string {
	var args []string
	add := func(flag string, v *string) {
		if v != nil && *v != "" {
			args = append(args, "--"+flag+"="+*v)
		}
	}
	add("kubeconfig", cf.KubeConfig)
	add("context", cf.Context)
	add("cluster", cf.ClusterName)
	add("user", cf.AuthInfoName)
	add("server", cf.APIServer)
	add("namespace", cf.Namespace)
	return args
}

// HintCommand is the one way the three plugins render a follow-up command
// for a hint or an error line: words, then the connection flags the user
// passed (so the hint talks to the same cluster), each word quoted for a
// POSIX shell. A -n among words replaces the user's.
func HintCommand(f Clients, words ...string) string {
	if f == nil {
		return hint(nil, words)
	}
	return hint(ConnectionArgs(f.Flags()), words)
}

func hint(conn, words []string) string {
	hasNamespace := slices.ContainsFunc(words, func(w string) bool {
		return w == "-n" || w == "--namespace" || strings.HasPrefix(w, "--namespace=")
	})
	argv := append([]string(nil), words...)
	for _, a := range conn {
		if hasNamespace && strings.HasPrefix(a, "--namespace=") {
			continue
		}
		argv = append(argv, a)
	}
	return shellquote.Join(argv)
}
