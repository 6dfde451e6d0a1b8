package cli

import (
	"slices"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// Clients is what a command may ask of the connection flags. Factory
// implements it against the kubeconfig; tests implement it with client-go
// fakes (pkg/cli/clitest), so every command runs in-process.
type Clients interface {
	// Flags are kubectl's connection flags, bound to the root command.
	Flags() *genericclioptions.ConfigFlags
	// Namespace is -n, else the kubeconfig context's namespace, else
	// "default"; explicit tells whether -n was given.
	Namespace() (ns string, explicit bool, err error)
	RESTConfig() (*rest.Config, error)
	Dynamic() (dynamic.Interface, error)
	// DynamicForWorkers is Dynamic for n concurrent workers: the
	// client-side rate limit raised to match (a parallel prune would
	// otherwise queue on the shared 50 requests per second).
	DynamicForWorkers(n int) (dynamic.Interface, error)
	CoreV1() (corev1client.CoreV1Interface, error)
	// CurrentCluster is the kubeconfig cluster the flags select, for
	// commands that print or embed its server and CA.
	CurrentCluster() (kubeconfig.Cluster, error)
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

// HintCommand renders a follow-up command for a hint or an error line:
// words, then the connection flags the user passed (so the hint talks to
// the same cluster), each word quoted for a POSIX shell.
func HintCommand(f Clients, words ...string) string {
	hasNamespace := slices.ContainsFunc(words, func(w string) bool {
		return w == "-n" || w == "--namespace" || strings.HasPrefix(w, "--namespace=")
	})
	argv := append([]string(nil), words...)
	for _, a := range ConnectionArgs(f.Flags()) {
		if hasNamespace && strings.HasPrefix(a, "--namespace=") {
			continue
		}
		argv = append(argv, a)
	}
	return shellquote.Join(argv)
}
