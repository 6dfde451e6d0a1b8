//go:build e2e

// Package regtoken runs kubectl regtoken through the real kubectl against
// a real kube-apiserver with the Fleet CRD, and the Fleet controller
// emulator in-process. Each test gets its own namespace and its own
// emulator limited to it, so tests in different controller modes run side
// by side on one control plane.
package regtoken

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// minRequestTimeout makes the apiserver close watches after 4–8 s, so a
// controller delay of 10 s spans more than one watch window.
const minRequestTimeout = 4

var (
	env    *testenv.Env
	runner *plugintest.Runner
	kube   kubernetes.Interface
	dyn    dynamic.Interface
	caPEM  string // the control plane's CA, as the kubeconfig holds it
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		CRDDirs:       []string{"test/emulators/fleet/crds"},
		APIServerArgs: map[string][]string{"min-request-timeout": {fmt.Sprint(minRequestTimeout)}},
	}, setup)
}

// setup keeps the control plane and its clients; the downstream control
// planes the enroll tests start on first use stop before it.
func setup(e *testenv.Env) (err error) {
	env = e
	env.OnStop(stopDownstreams)
	kube = env.Clientset()
	dyn = dynamic.NewForConfigOrDie(env.Config)
	caPEM = string(env.Config.CAData)
	runner, err = plugintest.NewRunner()
	return err
}

var nsCounter atomic.Int64

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%s", prefix, nsCounter.Add(1), rand.String(4))
	_, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// emulatorOpts are the defaults: a controller configured with a URL and
// the control plane's CA, answering after 2 s (one Fleet poll).
func emulatorOpts(ns string) fleet.Options {
	return fleet.Options{
		Delay:        2 * time.Second,
		APIServerURL: "https://fleet.example.com:6443",
		APIServerCA:  caPEM,
		Namespace:    ns,
		Log:          testLog{},
	}
}

type testLog struct{}

func (testLog) Write(p []byte) (int, error) {
	if os.Getenv("FLEET_EMULATOR_LOG") != "" {
		return os.Stderr.Write(p)
	}
	return len(p), nil
}

// startEmulator runs a Fleet controller emulator for the test.
func startEmulator(t *testing.T, opts fleet.Options) *fleet.Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	em, err := fleet.Start(ctx, env.Config, opts)
	if err != nil {
		t.Fatalf("starting the Fleet emulator: %v", err)
	}
	t.Cleanup(em.Stop)
	return em
}

// newRunner is the shared runner working in a fresh directory.
func newRunner(t *testing.T) *plugintest.Runner {
	t.Helper()
	r := *runner
	r.Dir = t.TempDir()
	return &r
}

// kubectl runs `kubectl regtoken ARGS --kubeconfig admin`.
func kubectl(r *plugintest.Runner, args ...string) plugintest.Result {
	return r.Kubectl(append([]string{"regtoken", "--kubeconfig", env.Kubeconfig}, args...)...)
}

// mustSucceed fails the test unless the command exited 0.
func mustSucceed(t *testing.T, res plugintest.Result, what string) {
	t.Helper()
	if res.Code != 0 {
		t.Fatalf("%s: %s", what, res)
	}
}

// valuesSecret reads the values Secret as the emulator wrote it.
func valuesSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the values Secret %s/%s: %v", ns, name, err)
	}
	return s
}

// helmInstallLine cuts the printed helm install command from create's or
// values' stdout: from its start to the end (it is printed last, and a
// quoted value may span lines).
func helmInstallLine(t *testing.T, stdout string) string {
	t.Helper()
	i := strings.Index(stdout, "\n  helm -n ")
	if i < 0 {
		t.Fatalf("no helm install command in stdout:\n%s", stdout)
	}
	return strings.TrimSpace(stdout[i+1:])
}

// bashArgv evaluates a printed command line with a real bash, helm being a
// stub on PATH that dumps its argv NUL-separated, and returns that argv
// (with "helm" first).
func bashArgv(t *testing.T, line string) []string {
	t.Helper()
	return bashArgvIn(t, t.TempDir(), line)
}

// bashArgvIn is bashArgv with bash working in dir.
func bashArgvIn(t *testing.T, dir, line string) []string {
	t.Helper()
	bin := t.TempDir()
	stub := "#!/bin/sh\nprintf 'helm\\0'\nprintf '%s\\0' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "helm"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + cmd.Dir}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash could not run the printed command %q: %v", line, err)
	}
	argv := strings.Split(string(out), "\x00")
	return argv[:len(argv)-1]
}

// fileMode is the permission bits of path.
func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Mode().Perm()
}
