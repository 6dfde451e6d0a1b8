//go:build e2e

package regtoken

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

var helmChartGVR = schema.GroupVersionResource{Group: "helm.cattle.io", Version: "v1", Resource: "helmcharts"}

// Pull mode end to end on a real kube-apiserver: the manifest values
// writes is applied as k3s would (every object, server-side, strict
// field validation against the HelmChart schema of testdata), and the
// values k3s's helm controller would hand helm (the Secret's
// values.yaml, read back from the server) make the real helm render a
// working agent from the fleet-agent chart.
func TestK3sManifestIsAcceptedByTheAPIServerAndInstallsTheAgent(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "k3s")
	opts := emulatorOpts(ns)
	opts.Delay = 0
	opts.SystemNamespace = "k3s-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	mustSucceed(t, kubectl(r, "create", "edge-1", "-n", ns, "--ttl", "1h"), "create")
	// --chart-version: the controller's own version is pinned the same way
	// (in-process tests); the emulator runs without its Deployment here, as
	// a Deployment in the shared cattle-fleet-system would change what the
	// package's parallel tests see.

	res := kubectl(r, "values", "edge-1", "-n", ns, "--values-format", "k3s-manifest", "--label", "site=north", "--client-id", "device-7", "--chart-version", "0.16.1")
	mustSucceed(t, res, "values --values-format k3s-manifest")
	manifest := filepath.Join(r.Dir, "fleet-agent.yaml")
	if m := fileMode(t, manifest); m != 0o600 {
		t.Errorf("manifest mode %o, want 600", m)
	}
	token := valuesSecret(t, ns, "edge-1")
	if strings.Contains(res.Stdout+res.Stderr, tokenOf(t, token.Data["values"])) {
		t.Error("the agent's token shows in the output")
	}

	crd := filepath.Join("testdata", "helmchart-crd.yaml")
	abs, err := filepath.Abs(crd)
	if err != nil {
		t.Fatal(err)
	}
	apply := r.Kubectl("--kubeconfig", env.Kubeconfig, "apply", "--server-side", "-f", abs)
	mustSucceed(t, apply, "kubectl apply of the HelmChart CRD")
	mustSucceed(t, r.Kubectl("--kubeconfig", env.Kubeconfig, "wait", "--for=condition=Established", "crd/helmcharts.helm.cattle.io", "--timeout=60s"), "kubectl wait for the CRD")
	// What k3s's deploy controller does with a file of server/manifests.
	apply = r.Kubectl("--kubeconfig", env.Kubeconfig, "apply", "--server-side", "--field-manager", "k3s-deploy", "--validate=strict", "-f", manifest)
	mustSucceed(t, apply, "kubectl apply --server-side of the manifest")
	for _, want := range []string{"namespace/" + opts.SystemNamespace, "secret/fleet-agent-values", "helmchart.helm.cattle.io/fleet-agent"} {
		if !strings.Contains(apply.Stdout, want) {
			t.Errorf("apply did not create %s:\n%s", want, apply.Stdout)
		}
	}

	ctx := context.Background()
	hc, err := dyn.Resource(helmChartGVR).Namespace("kube-system").Get(ctx, "fleet-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"repo": "https://rancher.github.io/fleet-helm-charts/", "chart": "fleet-agent", "version": "0.16.1",
		"targetNamespace": opts.SystemNamespace, "failurePolicy": "reinstall",
		"valuesSecrets": []any{map[string]any{"name": "fleet-agent-values", "keys": []any{"values.yaml"}}},
	}
	if got := hc.Object["spec"]; !reflect.DeepEqual(got, want) {
		t.Errorf("HelmChart spec as the server keeps it:\n got %v\nwant %v", got, want)
	}
	s, err := kube.CoreV1().Secrets("kube-system").Get(ctx, "fleet-agent-values", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	values := s.Data["values.yaml"]
	if tokenOf(t, values) != tokenOf(t, token.Data["values"]) {
		t.Error("the manifest's values do not hold the controller's token")
	}

	// The helm controller's job: helm install of the chart with the
	// valuesSecrets as --values, into targetNamespace.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), values, 0o600); err != nil {
		t.Fatal(err)
	}
	got := runPrintedHelm(t, dir, "helm -n "+opts.SystemNamespace+" install --values values.yaml fleet-agent fleet/fleet-agent", nil)
	if got.namespace != opts.SystemNamespace || got.bootstrap["tokenName"] != "edge-1" || got.bootstrap["clusterNamespace"] != ns ||
		got.bootstrap["apiServerURL"] != "https://fleet.example.com:6443" || got.bootstrap["apiServerCA"] != caPEM {
		t.Errorf("the agent helm renders from the manifest's values: namespace %s, bootstrap %v", got.namespace, keysOnly(got.bootstrap))
	}
	if got.config["clientID"] != "device-7" || !reflect.DeepEqual(got.config["labels"], map[string]any{"site": "north"}) {
		t.Errorf("agent config clientID %v labels %v", got.config["clientID"], got.config["labels"])
	}
}

// tokenOf is the token of a values.yaml.
func tokenOf(t *testing.T, values []byte) string {
	t.Helper()
	var v struct {
		Token string `json:"token"`
	}
	if err := yaml.Unmarshal(values, &v); err != nil || v.Token == "" {
		t.Fatalf("values without a token: %v", err)
	}
	return v.Token
}

// keysOnly lists a Secret's keys, not its values, for a failure message.
func keysOnly(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
