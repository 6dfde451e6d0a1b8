package regtoken

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// The fixed world of the in-process tests: the clock, the namespace, the
// kubeconfig cluster (a server that is not loopback, a real PEM CA).
var (
	testNow     = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	testCreated = testNow.Add(-3 * time.Hour)
	testCA      = mustCA()
	// controllerCA is the CA the Fleet controller is configured with.
	controllerCA = string(mustCA())
	testCluster  = kubeconfig.Cluster{Context: "upstream", Server: "https://upstream.example.com:6443", CAData: testCA}
)

const (
	testNS         = "fleet-default"
	controllerURL  = "https://fleet.example.com:6443"
	agentCredToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl"
)

func mustCA() []byte {
	cert, _, err := certutil.GenerateSelfSignedCertKey("upstream.example.com", nil, nil)
	if err != nil {
		panic(err)
	}
	return cert
}

// pkgDir is the package directory, where testdata lives; tests that
// write files run in a temporary directory.
var pkgDir string

func TestMain(m *testing.M) {
	fleet.Now = func() time.Time { return testNow }
	var err error
	if pkgDir, err = os.Getwd(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// golden is clitest.Golden from the package directory, whatever the
// test's working directory.
func golden(t *testing.T, name, got string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(pkgDir); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chdir(wd) }()
	clitest.Golden(t, name, got)
}

// tokenObj is a ClusterRegistrationToken as the server holds it; ttl ""
// leaves spec.ttl out, secretName "" is a token the controller has not
// finished.
func tokenObj(name, ttl, secretName string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}, "status": map[string]any{}}}
	u.SetAPIVersion(fleet.TokenGVR.GroupVersion().String())
	u.SetKind(fleet.Kind)
	u.SetNamespace(testNS)
	u.SetName(name)
	u.SetUID("uid-" + "name")
	u.SetCreationTimestamp(metav1.NewTime(testCreated))
	if ttl != "" {
		_ = unstructured.SetNestedField(u.Object, ttl, "spec", "ttl")
	}
	if secretName != "" {
		_ = unstructured.SetNestedField(u.Object, secretName, "status", "secretName")
	}
	return u
}

// fleetValues are the values a v0.16 controller configured with a URL
// and CA writes for token name; edit the map for other controllers.
func fleetValues(name string) map[string]any {
	return map[string]any{
		"apiServerCA":                 controllerCA,
		"apiServerURL":                controllerURL,
		"clusterNamespace":            testNS,
		"systemRegistrationNamespace": "cattle-fleet-clusters-system",
		"token":                       agentCredToken,
		"tokenName":                   name,
	}
}

func valuesSecret(name string, values map[string]any) *corev1.Secret {
	raw, err := yaml.Marshal(values)
	if err != nil {
		panic(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Type:       fleet.ValuesSecretType,
		Data:       map[string][]byte{fleet.ValuesKey: raw},
	}
}

// world is a fake cluster: tokens, Secrets, and optionally a Fleet
// controller that answers a create at once (status.secretName set, the
// values Secret written) with values from controller.
type world struct {
	tokens     []*unstructured.Unstructured
	secrets    []*corev1.Secret
	controller func(name string) map[string]any
	cluster    *kubeconfig.Cluster
	// dynamic are other custom objects (registrations, Deployments).
	dynamic []runtime.Object
	core    []runtime.Object
	// noDeployment: the controller's Deployment cannot be read (Fleet
	// installed elsewhere, or no right to read it).
	noDeployment bool
}

func (w world) factory(t *testing.T) *clitest.Factory {
	t.Helper()
	var dyn []runtime.Object
	for _, tok := range w.tokens {
		dyn = append(dyn, tok)
	}
	dyn = append(dyn, w.dynamic...)
	if w.controller != nil && !w.noDeployment && !slices.ContainsFunc(w.dynamic, func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		return ok && u.GetKind() == "Deployment"
	}) {
		// A running controller has a Deployment, whose image tag pins the
		// chart version the printed commands install.
		dyn = append(dyn, fleetController("rancher/fleet:v0.16.1"))
	}
	core := append([]runtime.Object(nil), w.core...)
	for _, s := range w.secrets {
		core = append(core, s)
	}
	cluster := testCluster
	if w.cluster != nil {
		cluster = *w.cluster
	}
	f := clitest.NewFactory(clitest.Options{
		Namespace: testNS,
		Core:      core,
		Dynamic:   dyn,
		ListKinds: map[schema.GroupVersionResource]string{fleet.TokenGVR: "ClusterRegistrationTokenList", fleet.RegistrationGVR: "ClusterRegistrationList", fleet.DeploymentGVR: "DeploymentList", fleet.ClusterGVR: "ClusterList"},
		Cluster:   cluster,
	})
	f.ServeListsOverREST(t) // list's table decodes the pages itself
	// The fake tracker ignores dryRun; a server persists nothing. This
	// goes right after clitest's recorder, so the request is still seen.
	dryRun := &k8stesting.SimpleReactor{Verb: "*", Resource: "clusterregistrationtokens", Reaction: func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a := a.(type) {
		case k8stesting.DeleteActionImpl:
			return len(a.DeleteOptions.DryRun) > 0, nil, nil
		case k8stesting.CreateActionImpl:
			return len(a.CreateOptions.DryRun) > 0, a.Object, nil
		}
		return false, nil, nil
	}}
	f.Dyn.ReactionChain = slices.Insert(f.Dyn.ReactionChain, 1, k8stesting.Reactor(dryRun))
	if w.controller != nil {
		f.Dyn.PrependReactor("create", "clusterregistrationtokens", func(a k8stesting.Action) (bool, runtime.Object, error) {
			ca := a.(k8stesting.CreateActionImpl)
			if len(ca.CreateOptions.DryRun) > 0 {
				return false, nil, nil
			}
			u := ca.GetObject().(*unstructured.Unstructured)
			u.SetCreationTimestamp(metav1.NewTime(testNow))
			_ = unstructured.SetNestedField(u.Object, u.GetName(), "status", "secretName")
			if err := f.Core.Tracker().Add(valuesSecret(u.GetName(), w.controller(u.GetName()))); err != nil {
				t.Fatal(err)
			}
			return false, nil, nil
		})
	}
	return f
}

// inTempDir runs the test in a fresh directory: the commands write
// values.yaml and CA files relative to it.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func run(t *testing.T, f *clitest.Factory, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, NewRoot, f, "", args...)
}

// apiRequests are the requests f recorded, without the access reviews
// (tests of those look at them on their own).
func apiRequests(f *clitest.Factory) []string {
	return slices.DeleteFunc(f.Requests(), func(r string) bool { return strings.Contains(r, "selfsubjectaccessreviews") })
}

func wantRequests(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

// wantRequestsInAnyOrder is wantRequests for requests a command sends at
// once, whose order on the wire is not its to choose.
func wantRequestsInAnyOrder(t *testing.T, got []string, want ...string) {
	t.Helper()
	wantRequests(t, slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// helmArgv finds the printed helm install line in out and returns the
// argv a real bash hands helm.
func helmArgv(t *testing.T, out string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "helm ") && strings.Contains(line, " install ") {
			return shelltest.Argv(t, "", line, "helm")
		}
	}
	t.Fatalf("no helm install line in:\n%s", out)
	return nil
}

// flagValues are the values of every occurrence of flag in argv.
func flagValues(argv []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == flag {
			out = append(out, argv[i+1])
		}
	}
	return out
}

func tokensOf(objs ...*unstructured.Unstructured) []*unstructured.Unstructured { return objs }
