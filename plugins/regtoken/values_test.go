package regtoken

import (
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
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
