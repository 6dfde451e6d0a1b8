//go:build e2e

package regtoken

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

// The headline flow: create with a TTL, labels and a client ID; the values
// file is the Secret's values, mode 0600, with Fleet's keys; the printed
// helm command is, for bash, exactly the argv the chart needs.
func TestCreateWithTTLLabelsAndClientID(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "headline")
	startEmulator(t, emulatorOpts(ns))
	r := newRunner(t)

	res := kubectl(r, "create", "edge-1", "-n", ns, "--ttl", "24h",
		"--label", "env=prod", "--label", "example.com/tier=gold", "--client-id", "edge-1-id")
	mustSucceed(t, res, "create")

	// The token as stored.
	u, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), "edge-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, _, _ := unstructured.NestedString(u.Object, "spec", "ttl"); ttl != "24h" {
		t.Errorf("spec.ttl = %q, want 24h", ttl)
	}
	if sn, _, _ := unstructured.NestedString(u.Object, "status", "secretName"); sn != "edge-1" {
		t.Errorf("status.secretName = %q, want edge-1", sn)
	}

	// values.yaml: the Secret's bytes, 0600, Fleet's keys.
	path := filepath.Join(r.Dir, "values.yaml")
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("values.yaml mode %o, want 600", m)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := valuesSecret(t, ns, "edge-1")
	if string(secret.Type) != fleet.ValuesSecretType {
		t.Errorf("values Secret type %q", secret.Type)
	}
	if string(got) != string(secret.Data["values"]) {
		t.Errorf("values.yaml differs from the Secret's values:\n%s\n---\n%s", got, secret.Data["values"])
	}
	var values map[string]any
	if err := yaml.Unmarshal(got, &values); err != nil {
		t.Fatalf("values.yaml is not YAML: %v", err)
	}
	for _, k := range []string{"apiServerCA", "apiServerURL", "clusterNamespace", "systemRegistrationNamespace", "token", "tokenName"} {
		if _, ok := values[k]; !ok {
			t.Errorf("values.yaml lacks %s", k)
		}
	}
	if values["clusterNamespace"] != ns || values["tokenName"] != "edge-1" || values["apiServerURL"] != "https://fleet.example.com:6443" || values["apiServerCA"] != caPEM {
		t.Errorf("values.yaml content is wrong: clusterNamespace=%v tokenName=%v apiServerURL=%v", values["clusterNamespace"], values["tokenName"], values["apiServerURL"])
	}
	if tok, _ := values["token"].(string); strings.Count(tok, ".") != 2 {
		t.Errorf("values.yaml token is not a JWT")
	}

	// The printed commands, as bash sees them.
	if !strings.Contains(res.Stdout, "\n  helm repo add fleet https://rancher.github.io/fleet-helm-charts/\n") {
		t.Errorf("no helm repo add line:\n%s", res.Stdout)
	}
	want := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait",
		"--set-string", "labels.env=prod",
		"--set-string", `labels.example\.com/tier=gold`,
		"--set-string", "clientID=edge-1-id",
		"--values", "values.yaml",
		"fleet-agent", "fleet/fleet-agent"}
	if argv := bashArgv(t, helmInstallLine(t, res.Stdout)); !slices.Equal(argv, want) {
		t.Errorf("helm argv:\n got %q\nwant %q", argv, want)
	}
	// Nothing about the token on stderr.
	if tok, _ := values["token"].(string); strings.Contains(res.Stderr+res.Stdout, tok) {
		t.Errorf("the token value was printed")
	}
}

func TestCreateWithoutTTLNeverExpires(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "nottl")
	startEmulator(t, emulatorOpts(ns))
	r := newRunner(t)
	res := kubectl(r, "create", "forever", "-n", ns)
	mustSucceed(t, res, "create without --ttl")
	if !strings.Contains(res.Stdout, "never expires") {
		t.Errorf("create does not say the token never expires:\n%s", res.Stdout)
	}
	u, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), "forever", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "ttl"); found {
		t.Errorf("spec.ttl is set without --ttl: %v", u.Object["spec"])
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "expires"); found {
		t.Errorf("status.expires is set for a token without ttl")
	}
	list := kubectl(r, "list", "-n", ns, "--no-headers")
	mustSucceed(t, list, "list")
	if f := strings.Fields(list.Stdout); len(f) < 4 || f[0] != "forever" || f[1] != "<none>" || f[2] != "never" || f[3] != "ready" {
		t.Errorf("list row for a token without ttl: %q", list.Stdout)
	}
}

// The controller answers after 10 s while the apiserver ends watches after
// 4–8 s: the wait resumes across at least one closed watch.
func TestWaitAcrossWatchWindows(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "slow")
	opts := emulatorOpts(ns)
	opts.Delay = 2*minRequestTimeout*time.Second + 2*time.Second
	em := startEmulator(t, opts)
	r := newRunner(t)
	start := time.Now()
	res := kubectl(r, "create", "slow", "-n", ns, "--ttl", "1h")
	mustSucceed(t, res, "create across watch windows")
	written, ok := em.SecretWrittenAt(ns, "slow")
	if !ok {
		t.Fatal("the emulator never wrote the values Secret")
	}
	if written.Sub(start) < 2*minRequestTimeout*time.Second {
		t.Fatalf("the controller answered within one watch window (%s): the test proves nothing", written.Sub(start))
	}
	got, err := os.ReadFile(filepath.Join(r.Dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(valuesSecret(t, ns, "slow").Data["values"]) {
		t.Error("values.yaml differs from the Secret")
	}
}
