package bootstrap

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// testNow is the clock of every in-process command test, so TTLs and
// expirations in golden files stay put.
var testNow = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)

func fixClock(t *testing.T) {
	t.Helper()
	prev := now
	now = func() time.Time { return testNow }
	t.Cleanup(func() { now = prev })
}

// cmdCase is one row of a command's table: what is on the fake cluster,
// what the user types, and everything that must come out.
type cmdCase struct {
	name    string
	args    []string
	stdin   string
	objects []runtime.Object
	// version is the server's gitVersion for create's flavor detection
	// ("" gives the command no REST config at all).
	version string
	// server is the kubeconfig's server (default https://10.0.0.1:6443).
	server string
	// noKubeconfig leaves the kubeconfig cluster empty.
	noKubeconfig bool

	exit     int
	stdout   string // exact, unless golden is set
	golden   string // stdout compared with testdata/<golden>.golden
	stderr   string // exact
	requests []string
}

// run runs c on fakes and checks every expectation; it returns the
// factory for checks of the cluster's state afterwards.
func (c cmdCase) run(t *testing.T) *clitest.Factory {
	t.Helper()
	fixClock(t)
	opts := clitest.Options{Core: c.objects}
	if !c.noKubeconfig {
		server := c.server
		if server == "" {
			server = "https://10.0.0.1:6443"
		}
		opts.Cluster = kubeconfig.Cluster{Context: "test", Server: server, CAData: readTestdata(t, "root.pem")}
	}
	if c.version != "" {
		opts.REST = apiServer(t, c.version, nil)
	}
	f := clitest.NewFactory(opts)
	res := clitest.Run(t, NewRoot, f, c.stdin, c.args...)
	if res.Exit != c.exit {
		t.Errorf("exit %d, want %d\n%s", res.Exit, c.exit, res)
	}
	if c.golden != "" {
		clitest.Golden(t, c.golden, res.Stdout)
	} else if res.Stdout != c.stdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.Stdout, c.stdout)
	}
	if res.Stderr != c.stderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", res.Stderr, c.stderr)
	}
	if got := f.Requests(); !slices.Equal(got, c.requests) {
		t.Errorf("requests:\n%q\nwant:\n%q", got, c.requests)
	}
	return f
}

func runTable(t *testing.T, cases []cmdCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

// apiServer is an API server for what the fakes cannot answer: /version
// (create's flavor detection) and SelfSubjectReviews (verify), which
// answer for the bearer tokens in users and 401 for any other.
func apiServer(t *testing.T, gitVersion string, users map[string]authenticationv1.UserInfo) *rest.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/version":
			_ = json.NewEncoder(w).Encode(map[string]string{"major": "1", "gitVersion": gitVersion})
		case r.Method == http.MethodPost && r.URL.Path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
			u, ok := users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonUnauthorized, Code: 401, Message: "Unauthorized"})
				return
			}
			_ = json.NewEncoder(w).Encode(authenticationv1.SelfSubjectReview{
				TypeMeta: metav1.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"},
				Status:   authenticationv1.SelfSubjectReviewStatus{UserInfo: u},
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

// rawSecret is a bootstrap-type Secret with exactly data, as no tool
// would write it.
func rawSecret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, UID: types.UID("uid-" + name)},
		Type:       TokenSecretType,
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// storedSecret reads a Secret back from the fake cluster.
func storedSecret(t *testing.T, f *clitest.Factory, id string) (*corev1.Secret, bool) {
	t.Helper()
	s, err := f.Core.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), Namespace, SecretName(id))
	if err != nil {
		return nil, false
	}
	return s.(*corev1.Secret), true
}

// help runs every command's --help against its golden file.
// Every command of the tree has a golden help, so a new command cannot
// be forgotten.
func TestHelpTextsAreGolden(t *testing.T) {
	names := []string{""}
	for _, c := range NewRoot(genericiooptions.NewTestIOStreamsDiscard(), clitest.NewFactory(clitest.Options{})).Commands() {
		if c.Name() != "version" {
			names = append(names, c.Name())
		}
	}
	for _, c := range names {
		name := "help"
		args := []string{"--help"}
		if c != "" {
			name, args = c+"-help", []string{c, "--help"}
		}
		t.Run(name, func(t *testing.T) {
			res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", args...)
			if res.Exit != 0 || res.Stderr != "" {
				t.Fatalf("%s", res)
			}
			clitest.Golden(t, name, res.Stdout)
		})
	}
}

// runQuiet runs c and returns its stdout, checking nothing.
func runQuiet(t *testing.T, c cmdCase) string {
	t.Helper()
	fixClock(t)
	opts := clitest.Options{Core: c.objects, Cluster: kubeconfig.Cluster{Context: "test", Server: "https://10.0.0.1:6443", CAData: readTestdata(t, "root.pem")}}
	return clitest.Run(t, NewRoot, clitest.NewFactory(opts), c.stdin, c.args...).Stdout
}

func TestNamespaceCompletionOffersOnlyKubeSystem(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	for _, c := range []string{"create", "list", "delete", "inspect", "verify", "extend"} {
		f := clitest.NewFactory(clitest.Options{Core: []runtime.Object{ns}})
		res := clitest.Run(t, NewRoot, f, "", "__complete", c, "-n", "")
		if want := "kube-system\n:4\n"; res.Exit != 0 || res.Stdout != want {
			t.Errorf("%s -n <TAB>: %q, want %q", c, res.Stdout, want)
		}
		if r := f.Requests(); len(r) != 0 {
			t.Errorf("%s -n <TAB> asked the cluster: %q", c, r)
		}
	}
	// -n given to a command still reaches the check that refuses it.
	res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "list", "--namespace", "default")
	if res.Exit != 1 || res.Stderr != "error: bootstrap tokens live only in kube-system, where the API server reads them: drop -n default\n" {
		t.Errorf("list --namespace default: %s", res)
	}
}
