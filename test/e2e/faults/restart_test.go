//go:build e2e

// Package faults runs kubectl regtoken while the real kube-apiserver is
// stopped and started again. It has its own control plane: the restart
// would disturb any other test sharing one.
package faults

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env    *testenv.Env
	runner *plugintest.Runner
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{CRDDirs: []string{"test/emulators/fleet/crds"}}, func(e *testenv.Env) (err error) {
		env = e
		runner, err = plugintest.NewRunner()
		return err
	})
}

var tokensGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrationtokens"}

// The controller answers only after the apiserver went away and came back:
// the waiting command must ride through connection refused and a new
// apiserver, create nothing twice, and write the right values.yaml.
func TestCreateSurvivesAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	kube := env.Clientset()
	ns := "restart"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	emu, err := fleet.Start(ctx, env.Config, fleet.Options{Delay: 15 * time.Second, Namespace: ns, APIServerURL: env.Config.Host, APIServerCA: string(env.Config.CAData)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()

	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := runner.Command(cctx, "kubectl", "regtoken", "create", "survivor", "-n", ns, "--ttl", "1h",
		"--values-file", values, "--timeout", "2m", "--kubeconfig", env.Kubeconfig)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Wait (by watch) until the token exists, then take the apiserver away.
	w, err := dynamic.NewForConfigOrDie(env.Config).Resource(tokensGVR).Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=survivor"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.ResultChan():
	case err := <-done:
		t.Fatalf("the command ended before the restart: %v\n%s\n%s", err, stdout.String(), stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("the token never appeared")
	}
	w.Stop()
	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the command now meets connection refused
	if err := env.StartAPIServer(); err != nil {
		t.Fatal(err)
	}

	if err := <-done; err != nil {
		t.Fatalf("kubectl regtoken create failed across the restart: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "helm -n cattle-fleet-system install") {
		t.Errorf("no helm command printed:\n%s", stdout.String())
	}
	list, err := dynamic.NewForConfigOrDie(env.Config).Resource(tokensGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("want exactly one token after the restart, got %d", len(list.Items))
	}
	secret, err := kube.CoreV1().Secrets(ns).Get(ctx, "survivor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(values)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(secret.Data["values"]) {
		t.Errorf("values.yaml differs from the Secret's values:\n%s\n---\n%s", got, base64.StdEncoding.EncodeToString(secret.Data["values"]))
	}
	if st, _ := os.Stat(values); st.Mode().Perm() != 0o600 {
		t.Errorf("values.yaml mode %v", st.Mode().Perm())
	}
}
