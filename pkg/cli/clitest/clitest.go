// Package clitest runs a plugin's commands in-process on client-go fakes:
// cli.Clients backed by a fake clientset and a fake dynamic client, the
// command run as its binary would run it (cli.Run, one error line, exit
// code), the requests it made, and golden files for human output.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package clitest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the output the tests got")

// Options seed a Factory.
type Options struct {
	// Namespace stands for the kubeconfig context's namespace ("default"
	// when empty); -n overrides it as it would the kubeconfig's.
	Namespace string
	// Core are typed core/v1 objects (Secrets, ConfigMaps, Namespaces).
	Core []runtime.Object
	// Dynamic are unstructured objects of custom resources, listed with
	// ListKinds (resource -> list kind, e.g. "TokenList").
	Dynamic   []runtime.Object
	ListKinds map[schema.GroupVersionResource]string
	// Cluster is the kubeconfig cluster (server, CA) commands may print.
	Cluster kubeconfig.Cluster
	// Clusters are the kubeconfig's cluster entries by name (the
	// unnamed one is ""), for KubeconfigCluster.
	Clusters map[string]kubeconfig.Cluster
	// REST is what RESTConfig returns (e.g. an httptest server's), and
	// what RESTClientFor talks to; nil makes both fail, as a test that
	// must not need them wants.
	REST *rest.Config
	// Version is what ServerVersion answers; nil asks REST's /version.
	Version *version.Info
}

// Factory is cli.Clients on client-go fakes, recording every request.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	Core        *k8sfake.Clientset
	Dyn         *dynamicfake.FakeDynamicClient
	opts        Options
	// Others are the kubeconfig's other contexts by name, for commands
	// that reach several clusters (cli.Contexts); each records its own
	// requests.
	Others map[string]*Factory

	mu       sync.Mutex
	requests []string
}

var (
	_ cli.Clients  = (*Factory)(nil)
	_ cli.Contexts = (*Factory)(nil)
)

// NewFactory returns fakes holding o's objects.
func NewFactory(o Options) *Factory {
	f := &Factory{
		ConfigFlags: cli.NewConfigFlags(),
		Core:        k8sfake.NewClientset(o.Core...),
		Dyn:         dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), o.ListKinds, o.Dynamic...),
		opts:        o,
	}
	record := func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, Describe(a))
		return false, nil, nil
	}
	recordWatch := func(a k8stesting.Action) (bool, watch.Interface, error) {
		_, _, err := record(a)
		return false, nil, err
	}
	f.Core.PrependReactor("*", "*", record)
	f.Core.PrependWatchReactor("*", recordWatch)
	f.Dyn.PrependReactor("*", "*", record)
	f.Dyn.PrependWatchReactor("*", recordWatch)
	return f
}

// Describe renders a fake client action as "verb resource namespace/name"
// (name omitted for lists and watches, namespace for cluster scope).
func Describe(a k8stesting.Action) string {
	res := a.GetResource().Resource
	if g := a.GetResource().Group; g != "" {
		res += "." + g
	}
	if s := a.GetSubresource(); s != "" {
		res += "/" + s
	}
	obj := a.GetNamespace()
	name := ""
	switch a := a.(type) {
	case interface{ GetName() string }: // get, delete, patch
		name = a.GetName()
	case interface{ GetObject() runtime.Object }: // create, update
		if m, ok := a.GetObject().(interface{ GetName() string }); ok {
			name = m.GetName()
		}
	}
	if name != "" {
		if obj != "" {
			obj += "/"
		}
		obj += name
	}
	return strings.TrimSpace(a.GetVerb() + " " + res + " " + obj)
}

// Requests are the requests the commands made, in order.
func (f *Factory) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// Flags are the connection flags bound to the root command.
func (f *Factory) Flags() *genericclioptions.ConfigFlags { return f.ConfigFlags }

// Namespace is -n, else Options.Namespace, else "default".
func (f *Factory) Namespace() (string, bool, error) {
	if ns := f.ConfigFlags.Namespace; ns != nil && *ns != "" {
		return *ns, true, nil
	}
	if f.opts.Namespace != "" {
		return f.opts.Namespace, false, nil
	}
	return "default", false, nil
}

// RESTConfig is Options.REST.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	if f.opts.REST == nil {
		return nil, fmt.Errorf("clitest: this test gave no REST config")
	}
	return rest.CopyConfig(f.opts.REST), nil
}

// RESTClientFor is a client of Options.REST, as the real one is built.
func (f *Factory) RESTClientFor(gv schema.GroupVersion) (rest.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return cli.RESTClientForConfig(cfg, gv)
}

// ServerVersion is Options.Version, else Options.REST's /version.
func (f *Factory) ServerVersion(ctx context.Context) (*version.Info, error) {
	f.mu.Lock()
	f.requests = append(f.requests, "get /version")
	f.mu.Unlock()
	if f.opts.Version != nil {
		v := *f.opts.Version
		return &v, nil
	}
	rc, err := f.RESTClientFor(schema.GroupVersion{Version: "v1"})
	if err != nil {
		return nil, err
	}
	return cli.GetVersion(ctx, rc)
}

// Endpoint is Options.Cluster's server (--server applied) and context
// (--context applied).
func (f *Factory) Endpoint() (server, contextName string) {
	c, _ := f.CurrentCluster()
	contextName = c.Context
	if x := f.ConfigFlags.Context; x != nil && *x != "" {
		contextName = *x
	}
	return c.Server, contextName
}

// Dynamic is the fake dynamic client.
func (f *Factory) Dynamic() (dynamic.Interface, error) { return f.Dyn, nil }

// DynamicForWorkers is the fake dynamic client: it has no rate limit to
// raise.
func (f *Factory) DynamicForWorkers(int) (dynamic.Interface, error) { return f.Dyn, nil }

// CoreV1 is the fake clientset's core/v1 client.
func (f *Factory) CoreV1() (corev1client.CoreV1Interface, error) { return f.Core.CoreV1(), nil }

// CurrentCluster is Options.Cluster, --server applied.
func (f *Factory) CurrentCluster() (kubeconfig.Cluster, error) {
	c := f.opts.Cluster
	if s := f.ConfigFlags.APIServer; s != nil && *s != "" {
		c.Server = *s
	}
	return c, nil
}

// KubeconfigCluster is Options.Clusters[name].
func (f *Factory) KubeconfigCluster(name string) (kubeconfig.Cluster, bool, error) {
	c, ok := f.opts.Clusters[name]
	return c, ok, nil
}

// KubeconfigContexts are Options.Cluster.Context (or --context) and the
// names in Others.
func (f *Factory) KubeconfigContexts() ([]string, string, error) {
	current := f.opts.Cluster.Context
	if c := f.ConfigFlags.Context; c != nil && *c != "" {
		current = *c
	}
	names := []string{}
	if current != "" {
		names = append(names, current)
	}
	for n := range f.Others {
		if n != current {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, current, nil
}

// ForContext is Others[name] with --context and --kubeconfig set as the
// real Factory sets them; an unknown name fails as the real one does.
func (f *Factory) ForContext(name string) (cli.Clients, error) {
	o, ok := f.Others[name]
	if !ok {
		where := "$KUBECONFIG"
		if k := f.ConfigFlags.KubeConfig; k != nil && *k != "" {
			where = *k
		}
		return nil, cli.NoSuchContext(name, where, f.ConfigFlags.KubeConfig)
	}
	ctx := name
	o.ConfigFlags.Context = &ctx
	o.ConfigFlags.KubeConfig = f.ConfigFlags.KubeConfig
	return o, nil
}

// Result is what one run printed and returned.
type Result struct {
	Stdout, Stderr string
	Exit           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Exit, r.Stdout, r.Stderr)
}

// Run builds the command tree with newRoot on f and runs args as the
// plugin binary would (cli.Run: one "error: ..." line, exit 1), with
// stdin.
func Run(t testing.TB, newRoot func(genericiooptions.IOStreams, cli.Clients) *cobra.Command, f *Factory, stdin string, args ...string) Result {
	t.Helper()
	t.Helper()
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	code := cli.Run(newRoot(streams, f), f, streams, args)
	return Result{Stdout: out.String(), Stderr: errOut.String(), Exit: code}
}

// Golden compares got with testdata/<name>.golden; go test -update
// rewrites the file instead (review the diff before committing it).
func Golden(t testing.TB, name, got string) {
	t.Helper()
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- want\n%s--- got\n%s", path, want, got)
	}
}
