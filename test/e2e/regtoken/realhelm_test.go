//go:build e2e

package regtoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// The helm commands kubectl regtoken prints, run by a real helm (v3.22,
// built by hack/tools.sh helm) against test/charts/fleet-agent, which
// implements the chart contract of docs/fleet-registration.md §6: the
// validate rules, the bootstrap Secret and the agent's config JSON. helm
// renders (helm template) instead of installing: the chart's checks and
// output are the same, and nothing has to run downstream.

// realHelm is $HELM, else bin/tools/helm (make helm builds it).
func realHelm(t *testing.T) (helm, chart string) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	helm = os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(root, "bin", "tools", "helm")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("no helm at %s: run make helm (or set HELM)", helm)
	}
	return helm, filepath.Join(root, "test", "charts", "fleet-agent")
}

// rendered is what helm made of the printed command.
type rendered struct {
	bootstrap map[string]string // fleet-agent-bootstrap, decoded
	config    map[string]any    // the fleet-agent ConfigMap's config JSON
	namespace string
}

// runPrintedHelm runs the printed install line in bash, in dir, with
// stdin, where helm is the real helm with install turned into template
// and fleet/fleet-agent into the test chart.
func runPrintedHelm(t *testing.T, dir, line string, stdin []byte) rendered {
	t.Helper()
	helm, chart := realHelm(t)
	script := `helm() {
	local args=()
	for a in "$@"; do
		case "$a" in
		install) args+=(template) ;;
		fleet/fleet-agent) args+=("$CHART") ;;
		*) args+=("$a") ;;
		esac
	done
	"$REAL_HELM" "${args[@]}"
}
` + line
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	home := t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "REAL_HELM=" + helm, "CHART=" + chart,
		"HELM_CACHE_HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_DATA_HOME=" + home}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("real helm refused the printed command %q: %v\n%s", line, err, stderr.String())
	}
	var r rendered
	for _, doc := range strings.Split(string(out), "\n---") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("helm output is not YAML: %v\n%s", err, doc)
		}
		switch {
		case obj.Kind == "Secret" && obj.Metadata.Name == "fleet-agent-bootstrap":
			r.namespace = obj.Metadata.Namespace
			r.bootstrap = map[string]string{}
			for k, v := range obj.Data {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Fatalf("bootstrap Secret key %s: %v", k, err)
				}
				r.bootstrap[k] = string(b)
			}
		case obj.Kind == "ConfigMap" && obj.Metadata.Name == "fleet-agent":
			if err := json.Unmarshal([]byte(obj.Data["config"]), &r.config); err != nil {
				t.Fatalf("the agent's config is not JSON (the agent could not start): %v\n%s", err, obj.Data["config"])
			}
		}
	}
	if r.bootstrap == nil || r.config == nil {
		t.Fatalf("helm rendered no bootstrap Secret or config:\n%s", out)
	}
	return r
}

// A v0.16 controller in its default namespace: labels and an unusual
// (but JSON-safe) client ID reach the agent as given.
func TestRealHelmInstallsWhatCreatePrints(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "rh")
	opts := emulatorOpts(ns)
	opts.SystemNamespace = "rh-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "edge-1", "-n", ns, "--ttl", "1h", "--label", "env=prod", "--label", "example.com/tier=gold", "--client-id", "it's {mine}, 1")
	mustSucceed(t, res, "create")
	got := runPrintedHelm(t, r.Dir, helmInstallLine(t, res.Stdout), nil)
	if got.namespace != opts.SystemNamespace {
		t.Errorf("installed into %s, want the controller's namespace %s", got.namespace, opts.SystemNamespace)
	}
	want := map[string]string{"tokenName": "edge-1", "clusterNamespace": ns, "apiServerURL": "https://fleet.example.com:6443", "apiServerCA": caPEM}
	for k, v := range want {
		if got.bootstrap[k] != v {
			t.Errorf("bootstrap %s = %q, want %q", k, got.bootstrap[k], v)
		}
	}
	if got.bootstrap["token"] == "" {
		t.Error("bootstrap token is empty")
	}
	if got.config["clientID"] != "it's {mine}, 1" {
		t.Errorf("clientID %v", got.config["clientID"])
	}
	if labels, _ := got.config["labels"].(map[string]any); labels["env"] != "prod" || labels["example.com/tier"] != "gold" {
		t.Errorf("labels %v", got.config["labels"])
	}
}

// A ≤v0.15 controller writes no tokenName, which the chart requires: the
// printed command sets it.
func TestRealHelmAcceptsTheCommandForAnOldController(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "rhold")
	opts := emulatorOpts(ns)
	opts.Legacy = true
	opts.SystemNamespace = "rhold-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "old-agent", "-n", ns, "--ttl", "1h")
	mustSucceed(t, res, "create")
	got := runPrintedHelm(t, r.Dir, helmInstallLine(t, res.Stdout), nil)
	if got.bootstrap["tokenName"] != "old-agent" {
		t.Errorf("bootstrap tokenName %q, want old-agent", got.bootstrap["tokenName"])
	}
}

// The documented pipe with a controller that has no URL or CA: the values
// on stdout carry the kubeconfig's, so helm installs a working agent.
func TestRealHelmPipeGetsTheFilledInServerAndCA(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "rhpipe")
	opts := emulatorOpts(ns)
	opts.APIServerURL, opts.APIServerCA = "", ""
	opts.SystemNamespace = "rhpipe-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "piped", "-n", ns, "--ttl", "1h", "--values-file", "-")
	mustSucceed(t, res, "create --values-file -")
	line, _, _ := strings.Cut(helmInstallLine(t, res.Stderr), "\n\n(")
	got := runPrintedHelm(t, r.Dir, line, []byte(res.Stdout))
	if got.bootstrap["apiServerURL"] != env.Config.Host || got.bootstrap["apiServerCA"] != caPEM {
		t.Errorf("bootstrap apiServerURL %q (want %q), CA filled in: %v", got.bootstrap["apiServerURL"], env.Config.Host, got.bootstrap["apiServerCA"] == caPEM)
	}
	if entries, _ := os.ReadDir(r.Dir); len(entries) != 0 {
		t.Errorf("the pipe wrote files: %v", entries)
	}
}

// packagedChart is test/charts/fleet-agent as helm package makes it, a
// .tgz in a fresh directory: the form an air-gapped install passes to
// --chart.
func packagedChart(t *testing.T) string {
	t.Helper()
	helm, chart := realHelm(t)
	dir, home := t.TempDir(), t.TempDir()
	cmd := exec.Command(helm, "package", chart, "-d", dir)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "HELM_CACHE_HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_DATA_HOME=" + home}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm package %s: %v\n%s", chart, err, out)
	}
	tgz := filepath.Join(dir, "fleet-agent-0.16.1.tgz")
	if !strings.Contains(string(out), tgz) {
		t.Fatalf("helm package did not write %s:\n%s", tgz, out)
	}
	return tgz
}
