//go:build e2e

package regtoken

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

// knownToken is the agent token planted in the broken values Secrets: no
// error may show it.
const knownToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiYWQtaW5wdXQifQ.bad-input-secret-token-value"

// plantValues creates a ready token and its values Secret as given.
func plantValues(t *testing.T, ns, name, typ string, data map[string]string) {
	t.Helper()
	putToken(t, ns, name, "", true)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: corev1.SecretType(typ), StringData: data}
	if _, err := kube.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Bad input of every kind: exit 1, one line naming the cause and the fix,
// nothing written, no token value, no stack trace. Nothing answers tokens
// in this namespace, so a case that got past its check would hang, not
// pass.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "bad")
	goodValues := "apiServerCA: \"\"\napiServerURL: \"\"\nclusterNamespace: " + ns + "\nsystemRegistrationNamespace: cattle-fleet-clusters-system\ntoken: " + knownToken + "\ntokenName: x\n"
	plantValues(t, ns, "novalues", fleet.ValuesSecretType, map[string]string{"other": goodValues})
	plantValues(t, ns, "badyaml", fleet.ValuesSecretType, map[string]string{"values": "token: " + knownToken + "\n  : : [\n"})
	plantValues(t, ns, "wrongtype", "Opaque", map[string]string{"values": goodValues})
	plantValues(t, ns, "missingkeys", fleet.ValuesSecretType, map[string]string{"values": "token: " + knownToken + "\n"})
	putToken(t, ns, "nosecret", "", true)
	putToken(t, ns, "pending", "", false)
	putToken(t, ns, "taken", "1h", false)

	garbage := filepath.Join(t.TempDir(), "garbage.kubeconfig")
	empty := filepath.Join(t.TempDir(), "empty.kubeconfig")
	if err := os.WriteFile(garbage, []byte("this: is: not: a kubeconfig\n\t["), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name       string
		args       []string
		kubeconfig string           // default: the admin kubeconfig
		setup      func(dir string) // files the case needs beforehand
		want       []string
	}
	cases := []tc{
		{name: "ttl years", args: []string{"create", "a", "--ttl", "1y"}, want: []string{`"1y"`, "not a duration", "1d12h"}},
		{name: "ttl negative", args: []string{"create", "a", "--ttl=-1h"}, want: []string{`"-1h"`, "negative"}},
		{name: "ttl empty", args: []string{"create", "a", "--ttl", ""}, want: []string{"empty", "never"}},
		{name: "ttl over Fleet's maximum", args: []string{"create", "a", "--ttl", "5000000h"}, want: []string{"too long"}},
		{name: "ttl days over the maximum", args: []string{"create", "a", "--ttl", "200000d"}, want: []string{"too long", "shorter"}},
		{name: "client id the chart cannot carry", args: []string{"create", "a", "--client-id", `a"b`}, want: []string{"--client-id", "without escaping"}},
		{name: "ttl unit", args: []string{"create", "a", "--ttl", "5x"}, want: []string{`"5x"`, "not a duration"}},
		{name: "name with Fleet's import prefix", args: []string{"create", "import-token-x"}, want: []string{"import-token-", "choose another name"}},
		{name: "name invalid", args: []string{"create", "Bad_Name"}, want: []string{`"Bad_Name"`, "lower-case"}},
		{name: "name longer than a label value", args: []string{"create", strings.Repeat("a", 64)}, want: []string{"63", "shorter name"}},
		{name: "generate-name with import prefix", args: []string{"create", "--generate-name", "import-token-"}, want: []string{"import-token-", "another prefix"}},
		{name: "name and generate-name", args: []string{"create", "a", "--generate-name", "b-"}, want: []string{"pass one"}},
		{name: "no name", args: []string{"create"}, want: []string{"NAME", "--generate-name"}},
		{name: "label without =", args: []string{"create", "a", "--label", "env"}, want: []string{`"env"`, "KEY=VALUE"}},
		{name: "label value with command substitution", args: []string{"create", "a", "--label", "env=$(touch /tmp/regtoken-pwned)"}, want: []string{"not a valid label value", "fix the value"}},
		{name: "label value with quote and newline", args: []string{"create", "a", "--label", "env=it's\nnew"}, want: []string{"not a valid label value"}},
		{name: "label key invalid", args: []string{"create", "a", "--label", "bad key=v"}, want: []string{"not a valid label key", "fix the key"}},
		{name: "label twice", args: []string{"create", "a", "--label", "k=1", "--label", "k=2"}, want: []string{"twice"}},
		{name: "values file exists", args: []string{"create", "a"}, setup: func(dir string) { _ = os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("keep me"), 0o600) }, want: []string{"refusing to overwrite values.yaml", "--force"}},
		{name: "values file unwritable", args: []string{"create", "a", "--values-file", "/sys/values.yaml"}, want: []string{"cannot write --values-file /sys/values.yaml", "permission denied", "choose another path"}},
		{name: "values file in a missing directory", args: []string{"create", "a", "--values-file", "nodir/values.yaml"}, want: []string{"no such file or directory", "create it"}},
		{name: "values file is a directory", args: []string{"create", "a", "--values-file", "sub"}, setup: func(dir string) { _ = os.Mkdir(filepath.Join(dir, "sub"), 0o700) }, want: []string{"is a directory"}},
		{name: "values file with a carriage return", args: []string{"create", "a", "--values-file", "a\rb.yaml"}, want: []string{"carriage return", "another path"}},
		{name: "CA file missing", args: []string{"create", "a", "--api-server-ca-file", "nope.pem"}, want: []string{"nope.pem", "no such file"}},
		{name: "CA file not PEM", args: []string{"create", "a", "--api-server-ca-file", "ca.pem"}, setup: func(dir string) { _ = os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("LS0tLS1CRUdJTg=="), 0o600) }, want: []string{"no PEM certificate", "base64 -d"}},
		{name: "API server URL not http", args: []string{"create", "a", "--api-server-url", "ftp://fleet.example.com"}, want: []string{"is not an https URL", "e.g. https://"}},
		{name: "chart version not UTF-8", args: []string{"create", "a", "--chart-version", "1.\xff"}, want: []string{"--chart-version", "UTF-8"}},
		{name: "timeout zero", args: []string{"create", "a", "--timeout", "0s"}, want: []string{"--timeout", "not positive"}},
		{name: "output name", args: []string{"create", "a", "-o", "name"}, want: []string{"-o name", "-o json"}},
		{name: "values and -o on stdout", args: []string{"create", "a", "--values-file", "-", "-o", "json"}, want: []string{"both write to stdout"}},
		{name: "dry-run value", args: []string{"create", "a", "--dry-run=maybe"}, want: []string{"--dry-run", `"client"`}},
		{name: "namespace missing", args: []string{"create", "a", "-n", "no-such-namespace-" + ns}, want: []string{`namespace "no-such-namespace-` + ns + `" not found`, "create it"}},
		{name: "token exists", args: []string{"create", "taken"}, want: []string{`"taken" already exists`, "--reuse"}},
		{name: "kubeconfig broken", args: []string{"list"}, kubeconfig: garbage, want: []string{"cannot load kubeconfig", "--kubeconfig"}},
		{name: "kubeconfig empty", args: []string{"list"}, kubeconfig: empty, want: []string{"empty or missing", "--kubeconfig"}},
		{name: "server unreachable", args: []string{"list", "--server", "https://127.0.0.1:1"}, want: []string{"cannot reach the API server https://127.0.0.1:1", "connection refused"}},
		{name: "values Secret without values", args: []string{"values", "novalues"}, want: []string{`no "values" key`, "kubectl regtoken delete novalues"}},
		{name: "values Secret with broken YAML", args: []string{"values", "badyaml"}, want: []string{"not valid YAML", "create a new one"}},
		{name: "values Secret of another type", args: []string{"values", "wrongtype"}, want: []string{`type "Opaque"`, "another token name"}},
		{name: "values Secret without Fleet's keys", args: []string{"values", "missingkeys"}, want: []string{"apiServerCA", "clusterNamespace", "create a new one"}},
		{name: "values Secret missing", args: []string{"values", "nosecret"}, want: []string{`Secret "nosecret"`, "does not exist"}},
		{name: "helm before the values exist", args: []string{"helm", "pending"}, want: []string{"no values yet", "kubectl regtoken values pending"}},
		{name: "values of a missing token", args: []string{"values", "nope"}, want: []string{`"nope"`, "not found"}},
		{name: "delete nothing", args: []string{"delete"}, want: []string{"nothing to delete"}},
		{name: "delete names and --expired", args: []string{"delete", "a", "--expired"}, want: []string{"either"}},
	}
	// The group returns once every parallel case has finished.
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := newRunner(t)
				if c.setup != nil {
					c.setup(r.Dir)
				}
				before := dirListing(t, r.Dir)
				kc := c.kubeconfig
				if kc == "" {
					kc = env.Kubeconfig
				}
				args := append([]string{"regtoken", "--kubeconfig", kc, "-n", ns}, c.args...)
				res := r.Kubectl(args...)
				oneLineError(t, res, []string{knownToken}, c.want...)
				if after := dirListing(t, r.Dir); !slices.Equal(before, after) {
					t.Errorf("files changed: %q → %q", before, after)
				}
				if _, err := os.Stat("/tmp/regtoken-pwned"); err == nil {
					t.Error("a label value was run as a command")
				}
			})
		}
	})
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	// Only the planted tokens exist: no case created one.
	list, err := dyn.Resource(fleet.GVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 7 {
		t.Errorf("tokens in the namespace after the bad input: %d (%v), want the 7 planted", len(list.Items), err)
	}
}
