//go:build e2e

package regtoken

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

// kubeconfigServer is the server the admin kubeconfig names.
func kubeconfigServer(t *testing.T) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].Server
}

// A controller installed without apiServerURL/CA writes them empty; the
// helm command gets them from the kubeconfig, the CA as a 0600 PEM file
// beside values.yaml.
func TestEmptyAPIServerFilledFromKubeconfig(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "emptyurl")
	opts := emulatorOpts(ns)
	opts.APIServerURL, opts.APIServerCA = "", ""
	opts.SystemNamespace = "fe-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)

	res := kubectl(r, "create", "e1", "-n", ns, "--ttl", "1h")
	mustSucceed(t, res, "create")
	server := kubeconfigServer(t)
	for _, want := range []string{"note: values.yaml has an empty apiServerURL", server, "note: values.yaml has an empty apiServerCA", "e1-ca.pem"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.Stderr)
		}
	}
	caPath := filepath.Join(r.Dir, "e1-ca.pem")
	if m := fileMode(t, caPath); m != 0o600 {
		t.Errorf("CA file mode %o, want 600", m)
	}
	if got, _ := os.ReadFile(caPath); string(got) != caPEM {
		t.Errorf("CA file is not the kubeconfig's CA:\n%s", got)
	}
	want := []string{"helm", "-n", opts.SystemNamespace, "install", "--create-namespace", "--wait",
		"--set-string", "apiServerURL=" + server,
		"--set-file", "apiServerCA=e1-ca.pem",
		"--values", "values.yaml",
		"fleet-agent", "fleet/fleet-agent"}
	if argv := bashArgv(t, helmInstallLine(t, res.Stdout)); !slices.Equal(argv, want) {
		t.Errorf("helm argv:\n got %q\nwant %q", argv, want)
	}
	// values.yaml stays as the controller wrote it, internal.systemNamespace
	// included (the controller runs outside cattle-fleet-system).
	var values struct {
		APIServerURL string `json:"apiServerURL"`
		APIServerCA  string `json:"apiServerCA"`
		Internal     struct {
			SystemNamespace string `json:"systemNamespace"`
		} `json:"internal"`
		SystemRegistrationNamespace string `json:"systemRegistrationNamespace"`
	}
	raw, _ := os.ReadFile(filepath.Join(r.Dir, "values.yaml"))
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	if values.APIServerURL != "" || values.APIServerCA != "" || values.Internal.SystemNamespace != opts.SystemNamespace || values.SystemRegistrationNamespace != "fe-"+ns+"-clusters-system" {
		t.Errorf("values.yaml: %+v", values)
	}

	// Flags win over the kubeconfig; the CA file is used where it is.
	caFile := filepath.Join(t.TempDir(), "manager-ca.pem")
	if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	res = kubectl(r, "create", "e2", "-n", ns, "--ttl", "1h", "--values-file", "e2.yaml",
		"--api-server-url", "https://fleet.example.com", "--api-server-ca-file", caFile)
	mustSucceed(t, res, "create with --api-server-url/--api-server-ca-file")
	want = []string{"helm", "-n", opts.SystemNamespace, "install", "--create-namespace", "--wait",
		"--set-string", "apiServerURL=https://fleet.example.com",
		"--set-file", "apiServerCA=" + caFile,
		"--values", "e2.yaml",
		"fleet-agent", "fleet/fleet-agent"}
	if argv := bashArgv(t, helmInstallLine(t, res.Stdout)); !slices.Equal(argv, want) {
		t.Errorf("helm argv with flags:\n got %q\nwant %q", argv, want)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "e2-ca.pem")); err == nil {
		t.Error("a CA file was written although --api-server-ca-file was given")
	}
}

// A ≤v0.15 controller: no tokenName, said on stderr; its -creds objects.
func TestLegacyControllerWithoutTokenName(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "legacy")
	opts := emulatorOpts(ns)
	opts.Legacy = true
	opts.SystemNamespace = "lg-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "old", "-n", ns, "--ttl", "1h")
	mustSucceed(t, res, "create against a legacy controller")
	if !strings.Contains(res.Stderr, "note: values.yaml has no tokenName") || !strings.Contains(res.Stdout, "--set-string tokenName=old") {
		t.Errorf("no note about the missing tokenName:\n%s", res.Stderr)
	}
	raw, _ := os.ReadFile(filepath.Join(r.Dir, "values.yaml"))
	if bytes.Contains(raw, []byte("tokenName")) {
		t.Error("legacy values.yaml has tokenName")
	}
	roles, err := kube.RbacV1().Roles("lg-"+ns+"-clusters-system").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(roles.Items) != 1 || !strings.HasSuffix(roles.Items[0].Name, "-creds") {
		t.Errorf("legacy -creds Role: %v %v", roles, err)
	}
}

// result is the -o json object, read by a pipeline.
type result struct {
	Kind, APIVersion string
	Name             string   `json:"name"`
	Namespace        string   `json:"namespace"`
	Expires          string   `json:"expires"`
	SecretName       string   `json:"secretName"`
	ValuesFile       string   `json:"valuesFile"`
	HelmRepoAdd      []string `json:"helmRepoAdd"`
	Helm             []string `json:"helm"`
	Warnings         []string `json:"warnings"`
	Notes            []string `json:"notes"`
}

func decodeResult(t *testing.T, stdout string) result {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var r result
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("-o json is not the result object: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one object:\n%s", stdout)
	}
	return r
}

func TestCreateJSONResult(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "json")
	startEmulator(t, emulatorOpts(ns))
	r := newRunner(t)
	res := kubectl(r, "create", "--generate-name", "ci-", "-n", ns, "--ttl", "2h", "--values-file", "ci.yaml", "--label", "fleet.cattle.io/x=y", "-o", "json")
	mustSucceed(t, res, "create -o json")
	got := decodeResult(t, res.Stdout)
	if !strings.HasPrefix(got.Name, "ci-") || len(got.Name) != len("ci-")+5 || got.Namespace != ns || got.SecretName != got.Name || got.ValuesFile != "ci.yaml" {
		t.Errorf("result %+v", got)
	}
	u, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), got.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expires, err := time.Parse(time.RFC3339, got.Expires)
	if want := u.GetCreationTimestamp().Add(2 * time.Hour); err != nil || !expires.Equal(want) {
		t.Errorf("expires %q, want %s", got.Expires, want.UTC().Format(time.RFC3339))
	}
	wantHelm := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait",
		"--set-string", `labels.fleet\.cattle\.io/x=y`, "--values", "ci.yaml", "fleet-agent", "fleet/fleet-agent"}
	if !slices.Equal(got.Helm, wantHelm) {
		t.Errorf("helm %q, want %q", got.Helm, wantHelm)
	}
	if !slices.Equal(got.HelmRepoAdd, []string{"helm", "repo", "add", "fleet", "https://rancher.github.io/fleet-helm-charts/"}) {
		t.Errorf("helmRepoAdd %q", got.HelmRepoAdd)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "fleet.cattle.io/") {
		t.Errorf("warnings %q: want the dropped label prefix", got.Warnings)
	}
	written, _ := os.ReadFile(filepath.Join(r.Dir, "ci.yaml"))
	if string(written) != string(valuesSecret(t, ns, got.Name).Data["values"]) {
		t.Error("ci.yaml differs from the Secret")
	}
}

// values resumes a create that did not wait; helm prints the commands of
// an existing token; --values-file - prints the values (its job).
func TestValuesAndHelmRefetch(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "refetch")
	opts := emulatorOpts(ns)
	opts.Delay = 3 * time.Second
	startEmulator(t, opts)
	r := newRunner(t)

	res := kubectl(r, "create", "later", "-n", ns, "--ttl", "1h", "--no-wait")
	mustSucceed(t, res, "create --no-wait")
	if !strings.Contains(res.Stdout, "kubectl regtoken values later -n "+ns) {
		t.Errorf("--no-wait does not say how to go on:\n%s", res.Stdout)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "values.yaml")); err == nil {
		t.Error("--no-wait wrote values.yaml")
	}
	res = kubectl(r, "values", "later", "-n", ns, "--values-file", "later.yaml", "--label", "env=prod")
	mustSucceed(t, res, "values (waits for the controller)")
	secretValues := string(valuesSecret(t, ns, "later").Data["values"])
	if got, _ := os.ReadFile(filepath.Join(r.Dir, "later.yaml")); string(got) != secretValues {
		t.Error("later.yaml differs from the Secret")
	}
	if m := fileMode(t, filepath.Join(r.Dir, "later.yaml")); m != 0o600 {
		t.Errorf("mode %o", m)
	}
	// Existing file: refused without --force, replaced with it.
	res = kubectl(r, "values", "later", "-n", ns, "--values-file", "later.yaml")
	if res.Code != 1 || !strings.Contains(res.Stderr, "--force") {
		t.Errorf("values over an existing file: %s", res)
	}
	mustSucceed(t, kubectl(r, "values", "later", "-n", ns, "--values-file", "later.yaml", "--force"), "values --force")

	res = kubectl(r, "values", "later", "-n", ns, "--values-file", "-")
	mustSucceed(t, res, "values --values-file -")
	if res.Stdout != secretValues {
		t.Errorf("values --values-file - stdout is not exactly the values:\n%s", res.Stdout)
	}

	res = kubectl(r, "helm", "later", "-n", ns, "--values-file", "later.yaml", "--label", "env=prod", "--chart-version", "0.16.1")
	mustSucceed(t, res, "helm")
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("helm prints %d lines, want the two commands:\n%s", len(lines), res.Stdout)
	}
	want := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait",
		"--set-string", "labels.env=prod", "--values", "later.yaml", "--version", "0.16.1", "fleet-agent", "fleet/fleet-agent"}
	if argv := bashArgv(t, lines[1]); !slices.Equal(argv, want) {
		t.Errorf("helm argv:\n got %q\nwant %q", argv, want)
	}
	if argv := bashArgv(t, lines[0]); !slices.Equal(argv, []string{"helm", "repo", "add", "fleet", "https://rancher.github.io/fleet-helm-charts/"}) {
		t.Errorf("repo add argv %q", argv)
	}
	var v map[string]any
	_ = yaml.Unmarshal([]byte(secretValues), &v)
	if tok, _ := v["token"].(string); tok == "" || strings.Contains(res.Stdout+res.Stderr, tok) {
		t.Error("helm printed the token (or the values have none)")
	}
}
