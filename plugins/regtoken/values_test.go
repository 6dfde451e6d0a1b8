package regtoken

import (
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// ready is a world with token name finished by a controller that wrote
// values.
func ready(name, ttl string, values map[string]any) world {
	return world{tokens: []*unstructured.Unstructured{tokenObj(name, ttl, name)}, secrets: []*corev1.Secret{valuesSecret(name, values)}}
}

// A controller without URL and CA: values.yaml on a file, the helm
// command fills them in from the kubeconfig (the CA by file).
func TestValuesFillsServerAndCAFromTheKubeconfig(t *testing.T) {
	inTempDir(t)
	v := fleetValues("edge-1")
	v["apiServerURL"], v["apiServerCA"] = "", ""
	f := ready("edge-1", "", v).factory(t)
	res := run(t, f, "values", "edge-1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "values", res.String())
	wantRequests(t, f.Requests(), "get clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1", "get secrets fleet-default/edge-1", "get deployments.apps cattle-fleet-system/fleet-controller")
	argv := helmArgv(t, res.Stdout)
	if got := flagValues(argv, "--set-file"); !slices.Equal(got, []string{"apiServerCA=edge-1-ca.pem"}) {
		t.Errorf("--set-file %q", got)
	}
	if readFile(t, "edge-1-ca.pem") != string(testCA) {
		t.Error("edge-1-ca.pem is not the kubeconfig's CA")
	}
}

// The documented pipe (--values-file - | helm --values -) must install
// with the filled-in URL and CA: they go into the values on stdout.
func TestValuesOnStdoutCarryTheFilledInServerAndCA(t *testing.T) {
	inTempDir(t)
	v := fleetValues("edge-1")
	v["apiServerURL"], v["apiServerCA"] = "", ""
	f := ready("edge-1", "", v).factory(t)
	res := run(t, f, "values", "edge-1", "--values-file", "-")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("stdout is not values YAML: %v\n%s", err, res.Stdout)
	}
	if got["apiServerURL"] != testCluster.Server || got["apiServerCA"] != string(testCA) || got["token"] != agentCredToken || got["tokenName"] != "edge-1" {
		t.Errorf("values on stdout: %v", got)
	}
	argv := helmArgv(t, res.Stderr)
	if slices.ContainsFunc(argv, func(a string) bool { return strings.HasPrefix(a, "apiServer") }) {
		t.Errorf("the helm command still sets apiServer* itself: %q", argv)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("--values-file - wrote files: %v", entries)
	}
}

func TestValuesOfAnExpiredTokenAreRefused(t *testing.T) {
	inTempDir(t)
	f := ready("old", "2h", fleetValues("old")).factory(t)
	res := run(t, f, "values", "old", "--context", "upstream")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "expired at 2026-11-28T11:00:00Z (ttl 2h)") || !strings.Contains(res.Stderr, "kubectl regtoken delete old -n fleet-default --context=upstream") {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat("values.yaml"); err == nil {
		t.Error("values.yaml written for an expired token")
	}
}

func TestValuesOfAMissingTokenPointAtList(t *testing.T) {
	inTempDir(t)
	res := run(t, world{}.factory(t), "values", "nope", "--context", "upstream", "-n", "other")
	want := `error: ClusterRegistrationToken "nope" not found in namespace "other": list them with kubectl regtoken list -n other --context=upstream` + "\n"
	if res.Exit != 1 || res.Stderr != want {
		t.Fatalf("want %q, got %s", want, res)
	}
}

func TestValuesHelp(t *testing.T) {
	golden(t, "values-help", run(t, world{}.factory(t), "values", "--help").Stdout)
}

// manifestWorld is a v0.16.1 controller without URL and CA: the
// manifest's values get both from the kubeconfig, its HelmChart the
// controller's version.
func manifestWorld(name string) world {
	v := fleetValues(name)
	v["apiServerURL"], v["apiServerCA"] = "", ""
	w := ready(name, "", v)
	w.dynamic = []runtime.Object{fleetController("rancher/fleet:v0.16.1")}
	return w
}

// manifestObjects splits a manifest into its objects and decodes the
// values Secret's values.yaml.
func manifestObjects(t *testing.T, raw string) (objs []map[string]any, values map[string]any) {
	t.Helper()
	for _, doc := range strings.Split(raw, "\n---\n")[1:] {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("manifest document is not YAML: %v\n%s", err, doc)
		}
		objs = append(objs, o)
		if o["kind"] == "Secret" {
			b64, _ := o["data"].(map[string]any)[fleet.ManifestValuesKey].(string)
			plain, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(plain, &values); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(objs) != 3 || values == nil {
		t.Fatalf("want Namespace, Secret (with values.yaml), HelmChart; got %d objects:\n%s", len(objs), raw)
	}
	return objs, values
}

// redactedManifest is a manifest for a golden file: the values Secret's
// data decoded, with the token and the CA masked.
func redactedManifest(t *testing.T, raw string) string {
	t.Helper()
	_, values := manifestObjects(t, raw)
	values["token"] = "<token>"
	values["apiServerCA"] = "<CA PEM>"
	plain, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	b64 := regexp.MustCompile(`(?m)^(  ` + regexp.QuoteMeta(fleet.ManifestValuesKey) + `: ).*$`)
	return b64.ReplaceAllString(raw, "${1}<base64 of the values below>") + "--- values.yaml (decoded; token and CA masked)\n" + string(plain)
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestValuesK3sManifestHoldsNamespaceSecretAndHelmChartAtTheControllerVersion(t *testing.T) {
	inTempDir(t)
	f := manifestWorld("edge-1").factory(t)
	res := run(t, f, "values", "edge-1", "--values-format", "k3s-manifest", "--label", "env=edge")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "values-k3s-manifest", res.String())
	raw := readFile(t, fleet.DefaultManifestFile)
	golden(t, "values-k3s-manifest-file", redactedManifest(t, raw))
	if m := fileMode(t, fleet.DefaultManifestFile); m != 0o600 {
		t.Errorf("%s has mode %v, want 0600", fleet.DefaultManifestFile, m)
	}
	objs, values := manifestObjects(t, raw)
	if values["apiServerURL"] != testCluster.Server || values["apiServerCA"] != string(testCA) || values["token"] != agentCredToken {
		t.Errorf("values lack the kubeconfig's server and CA or the token: %v", values)
	}
	if labels, _ := values["labels"].(map[string]any); labels["env"] != "edge" {
		t.Errorf("values labels %v, want env=edge", values["labels"])
	}
	chart := objs[2]
	spec, _ := chart["spec"].(map[string]any)
	meta, _ := chart["metadata"].(map[string]any)
	if chart["apiVersion"] != "helm.cattle.io/v1" || meta["name"] != "fleet-agent" || meta["namespace"] != "kube-system" ||
		spec["version"] != "0.16.1" || spec["targetNamespace"] != "cattle-fleet-system" || spec["repo"] != fleet.HelmRepoURL {
		t.Errorf("HelmChart %v", chart)
	}
	secrets, _ := spec["valuesSecrets"].([]any)
	if len(secrets) != 1 || secrets[0].(map[string]any)["name"] != fleet.ManifestSecretName {
		t.Errorf("valuesSecrets %v, want the Secret %s", spec["valuesSecrets"], fleet.ManifestSecretName)
	}
	if strings.Contains(res.Stdout+res.Stderr, agentCredToken) {
		t.Error("the token was printed")
	}
}

func TestValuesK3sManifestWritesOneFilePerDeviceWithItsClientIDAndLabels(t *testing.T) {
	dir := inTempDir(t)
	inv := `# devices of wave 1
- name: edge-a
  clientID: site-a
  labels: {site: a, env: lab}
- name: edge-b
  labels: {site: b}
`
	if err := os.WriteFile("devices.yaml", []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("out", 0o700); err != nil {
		t.Fatal(err)
	}
	f := manifestWorld("wave-1").factory(t)
	res := run(t, f, "values", "wave-1", "--values-format", "k3s-manifest", "--devices", "devices.yaml", "--values-file", "out/", "--label", "env=edge", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "values-k3s-devices-json", res.String())
	want := map[string]struct {
		clientID string
		labels   map[string]any
	}{
		"edge-a": {"site-a", map[string]any{"site": "a", "env": "lab"}},
		"edge-b": {"", map[string]any{"site": "b", "env": "edge"}},
	}
	for name, w := range want {
		path := filepath.Join(dir, "out", name+".yaml")
		if m := fileMode(t, path); m != 0o600 {
			t.Errorf("%s has mode %v", path, m)
		}
		_, values := manifestObjects(t, readFile(t, path))
		id, hasID := values["clientID"]
		if (w.clientID == "" && hasID) || (w.clientID != "" && id != w.clientID) {
			t.Errorf("%s: clientID %v, want %q", name, id, w.clientID)
		}
		if got, _ := values["labels"].(map[string]any); !maps.Equal(got, w.labels) {
			t.Errorf("%s: labels %v, want %v", name, got, w.labels)
		}
	}
	if strings.Contains(res.Stdout+res.Stderr, agentCredToken) {
		t.Error("the token was printed")
	}
}

func TestValuesK3sManifestOnStdoutIsTheOnlyStdout(t *testing.T) {
	inTempDir(t)
	f := manifestWorld("edge-1").factory(t)
	res := run(t, f, "values", "edge-1", "--values-format", "k3s-manifest", "--values-file", "-")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	_, values := manifestObjects(t, res.Stdout)
	if values["token"] != agentCredToken {
		t.Errorf("the manifest on stdout lacks the token: %v", values)
	}
	if !strings.Contains(res.Stderr, "manifest written to stdout") || strings.Contains(res.Stderr, agentCredToken) {
		t.Errorf("stderr:\n%s", res.Stderr)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("--values-file - wrote files: %v", entries)
	}
}

func TestValuesK3sManifestIsNeverClobberedWithoutForce(t *testing.T) {
	inTempDir(t)
	if err := os.WriteFile(fleet.DefaultManifestFile, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := manifestWorld("edge-1").factory(t)
	res := run(t, f, "values", "edge-1", "--values-format", "k3s-manifest")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "refusing to overwrite fleet-agent.yaml") || readFile(t, fleet.DefaultManifestFile) != "keep" {
		t.Fatalf("%s", res)
	}
	res = run(t, manifestWorld("edge-1").factory(t), "values", "edge-1", "--values-format", "k3s-manifest", "--force")
	if res.Exit != 0 || readFile(t, fleet.DefaultManifestFile) == "keep" {
		t.Fatalf("--force did not replace the manifest: %s", res)
	}
}

// Every refusal comes before the first request: the output is local.
func TestValuesK3sManifestRefusesBadInputBeforeAnyRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		files map[string]string
		want  string
	}{
		{"an unknown format", []string{"--values-format", "k3s"}, nil,
			`error: --values-format "k3s" is not one of helm, k3s-manifest: pass e.g. --values-format k3s-manifest`},
		{"devices without the manifest format", []string{"--devices", "d.txt", "--values-file", "out"}, map[string]string{"d.txt": "a\n", "out/": ""},
			"error: --devices writes k3s manifests: add --values-format k3s-manifest"},
		{"devices without a directory", []string{"--values-format", "k3s-manifest", "--devices", "d.txt"}, map[string]string{"d.txt": "a\n"},
			"error: --devices writes one manifest per device into a directory: pass --values-file DIR/ (an existing directory)"},
		{"devices to stdout", []string{"--values-format", "k3s-manifest", "--devices", "d.txt", "--values-file", "-"}, map[string]string{"d.txt": "a\n"},
			"error: --devices writes one manifest per device and --values-file - is one stream: pass --values-file DIR/ (an existing directory)"},
		{"devices into a missing directory", []string{"--values-format", "k3s-manifest", "--devices", "d.txt", "--values-file", "nope/"}, map[string]string{"d.txt": "a\n"},
			"error: --values-file nope/ does not exist: with --devices it is the directory for the manifests; create it (mkdir -p nope/)"},
		{"one client ID for many devices", []string{"--values-format", "k3s-manifest", "--devices", "d.txt", "--values-file", "out", "--client-id", "x"}, map[string]string{"d.txt": "a\n", "out/": ""},
			"error: --client-id x would give every device of --devices the same Fleet cluster: put a clientID on each device in the inventory instead"},
		{"a device twice", []string{"--values-format", "k3s-manifest", "--devices", "d.txt", "--values-file", "out"}, map[string]string{"d.txt": "a\nb\na\n", "out/": ""},
			`error: --devices d.txt names device "a" twice (entries 1 and 3): name each device once`},
		{"a device name that is a path", []string{"--values-format", "k3s-manifest", "--devices", "d.yaml", "--values-file", "out"}, map[string]string{"d.yaml": "- name: ../etc\n", "out/": ""},
			`error: --devices d.yaml: device name "../etc" cannot name a file: use letters, digits, '.', '_' and '-' (starting with a letter or digit)`},
		{"a bad device label", []string{"--values-format", "k3s-manifest", "--devices", "d.yaml", "--values-file", "out"}, map[string]string{"d.yaml": "- name: a\n  labels: {'bad key': x}\n", "out/": ""},
			`error: --devices d.yaml, device a: --label key "bad key" is not a valid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'); fix the key`},
		{"two devices with one client ID", []string{"--values-format", "k3s-manifest", "--devices", "d.yaml", "--values-file", "out"}, map[string]string{"d.yaml": "- {name: a, clientID: x}\n- {name: b, clientID: x}\n", "out/": ""},
			`error: --devices d.yaml gives devices a and b the same clientID "x": Fleet would take them for one cluster; give each its own`},
		{"an unknown inventory key", []string{"--values-format", "k3s-manifest", "--devices", "d.yaml", "--values-file", "out"}, map[string]string{"d.yaml": "- {name: a, label: x}\n", "out/": ""},
			`error: --devices d.yaml: not an inventory (unknown field "label"): write a YAML list of {name, clientID, labels} or one context per line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			for name, content := range tc.files {
				if strings.HasSuffix(name, "/") {
					if err := os.Mkdir(name, 0o700); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := manifestWorld("edge-1").factory(t)
			res := run(t, f, append([]string{"values", "edge-1"}, tc.args...)...)
			if res.Exit != 1 || strings.TrimSpace(res.Stderr) != tc.want || res.Stdout != "" {
				t.Errorf("got exit %d\n%s\nwant stderr %q", res.Exit, res, tc.want)
			}
			if reqs := f.Requests(); len(reqs) != 0 {
				t.Errorf("requests before the refusal: %q", reqs)
			}
		})
	}
}
