package regtoken

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func TestCreateWritesValuesAndPrintsHelm(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	res := run(t, f, "create", "edge-1", "--ttl", "1d12h", "--label", "env=prod")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "create", res.String())
	wantRequests(t, f.Requests(),
		"create selfsubjectaccessreviews.authorization.k8s.io",
		"create selfsubjectaccessreviews.authorization.k8s.io",
		"create clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1",
		"get secrets fleet-default/edge-1",
		"get deployments.apps cattle-fleet-system/fleet-controller")
	got, err := f.Dyn.Resource(fleet.TokenGVR).Namespace(testNS).Get(t.Context(), "edge-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, _, _ := unstructured.NestedString(got.Object, "spec", "ttl"); ttl != "36h" {
		t.Errorf("spec.ttl %q, want 36h (1d12h in hours, the units Fleet accepts)", ttl)
	}
	if v := readFile(t, "values.yaml"); !strings.Contains(v, agentCredToken) {
		t.Errorf("values.yaml lacks the controller's values:\n%s", v)
	}
	if fi, _ := os.Stat("values.yaml"); fi.Mode().Perm() != 0o600 {
		t.Errorf("values.yaml mode %v", fi.Mode().Perm())
	}
}

func TestCreateHelpSaysWhatTTLZeroMeans(t *testing.T) {
	res := run(t, world{}.factory(t), "create", "--help")
	golden(t, "create-help", res.Stdout)
	if !strings.Contains(res.Stdout, "0 also means never") {
		t.Error("create --help does not say what --ttl 0 means")
	}
}

func TestCreateTTLNeverSendsNoTTL(t *testing.T) {
	for _, in := range []string{"never", "0", ""} {
		inTempDir(t)
		f := world{controller: fleetValues}.factory(t)
		args := []string{"create", "forever"}
		if in != "" {
			args = append(args, "--ttl", in)
		}
		res := run(t, f, args...)
		if res.Exit != 0 || !strings.Contains(res.Stdout, "never expires") {
			t.Fatalf("--ttl %q: %s", in, res)
		}
		got, _ := f.Dyn.Resource(fleet.TokenGVR).Namespace(testNS).Get(t.Context(), "forever", metav1.GetOptions{})
		if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "ttl"); found {
			t.Errorf("--ttl %q sent a spec.ttl", in)
		}
	}
}

func TestCreateRefusesBadInputBeforeAnyRequest(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"create"}, "no token name"},
		{"import prefix", []string{"create", "import-token-x"}, "import-token-"},
		{"bad ttl", []string{"create", "x", "--ttl", "7y"}, `--ttl "7y" is not a duration`},
		{"ttl without unit", []string{"create", "x", "--ttl", "12"}, "has no unit"},
		{"bad label", []string{"create", "x", "--label", "novalue"}, "no '='"},
		{"client id with a quote", []string{"create", "x", "--client-id", `a"b`}, "without escaping"},
		{"client id with a backslash", []string{"create", "x", "--client-id", `a\b`}, "without escaping"},
		{"client id with a newline", []string{"create", "x", "--client-id", "a\nb"}, "without escaping"},
		{"reuse generated", []string{"create", "--generate-name", "ci-", "--reuse"}, "--reuse needs a NAME"},
		{"bad url", []string{"create", "x", "--api-server-url", "fleet:6443"}, "is not an https URL"},
		{"stdout twice", []string{"create", "x", "--values-file", "-", "-o", "json"}, "both write to stdout"},
		{"wide", []string{"create", "x", "-o", "wide"}, "-o wide is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inTempDir(t)
			f := world{controller: fleetValues}.factory(t)
			res := run(t, f, c.args...)
			if res.Exit != 1 || !strings.Contains(res.Stderr, c.want) || strings.Count(res.Stderr, "\n") != 1 {
				t.Errorf("want one error line with %q, got %s", c.want, res)
			}
			wantRequests(t, f.Requests())
		})
	}
}

// A dry run writes nothing, so an existing values.yaml is no reason to
// refuse it.
func TestCreateDryRunIgnoresAnExistingValuesFileAndWritesNothing(t *testing.T) {
	for _, mode := range []string{"client", "server"} {
		t.Run(mode, func(t *testing.T) {
			inTempDir(t)
			if err := os.WriteFile("values.yaml", []byte("mine\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			f := world{controller: fleetValues}.factory(t)
			res := run(t, f, "create", "edge-1", "--ttl", "2h", "--dry-run="+mode)
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			suffix := map[string]string{"client": " (dry run)", "server": " (server dry run)"}[mode]
			if want := "clusterregistrationtoken.fleet.cattle.io/edge-1 created in namespace fleet-default" + suffix + "\n"; res.Stdout != want {
				t.Errorf("stdout %q, want %q", res.Stdout, want)
			}
			if readFile(t, "values.yaml") != "mine\n" {
				t.Error("the dry run changed values.yaml")
			}
			if entries, _ := os.ReadDir("."); len(entries) != 1 {
				t.Errorf("the dry run wrote files: %v", entries)
			}
			if mode == "client" {
				wantRequests(t, f.Requests())
			} else {
				wantRequests(t, f.Requests(), "create clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1")
			}
		})
	}
}

func TestCreateRefusesAnExistingValuesFileBeforeCreating(t *testing.T) {
	inTempDir(t)
	if err := os.WriteFile("values.yaml", []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := world{controller: fleetValues}.factory(t)
	res := run(t, f, "create", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "values.yaml") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, f.Requests())
}

func TestCreateRefusesAnUnusableKubeconfigCABeforeCreating(t *testing.T) {
	inTempDir(t)
	broken := testCluster
	broken.CAData = []byte("not a certificate")
	f := world{controller: fleetValues, cluster: &broken}.factory(t)
	res := run(t, f, "create", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "--api-server-ca-file") || strings.Contains(res.Stderr, "--ca-file ") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, f.Requests())
}

// denySecrets makes the access review for verb on resource answer no.
func denyAccess(f *clitest.Factory, verb, resource string) {
	f.Dyn.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.CreateActionImpl).Object.(*unstructured.Unstructured).DeepCopy()
		v, _, _ := unstructured.NestedString(u.Object, "spec", "resourceAttributes", "verb")
		r, _, _ := unstructured.NestedString(u.Object, "spec", "resourceAttributes", "resource")
		_ = unstructured.SetNestedField(u.Object, !(v == verb && r == resource), "status", "allowed")
		return true, u, nil
	})
}

func TestCreateRefusesBeforeCreatingWhenTheValuesSecretCannotBeRead(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	denyAccess(f, "get", "secrets")
	res := run(t, f, "create", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "you may not get secrets") || !strings.Contains(res.Stderr, "nothing was created") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, apiRequests(f))
}

func TestCreateRefusesBeforeCreatingWhenTokensCannotBeCreated(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	denyAccess(f, "create", "clusterregistrationtokens")
	res := run(t, f, "create", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "you may not create clusterregistrationtokens.fleet.cattle.io") {
		t.Fatalf("%s", res)
	}
	wantRequests(t, apiRequests(f))
}

// When the values cannot be read after the token exists, the error says
// the token is left and how to delete it, on the user's context.
func TestCreateFailureAfterTheTokenExistsSaysHowToDeleteIt(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	f.Core.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "edge-1", nil)
	})
	res := run(t, f, "create", "edge-1", "--context", "upstream")
	want := "ClusterRegistrationToken \"edge-1\" was created in namespace \"fleet-default\" and is left: delete it with kubectl regtoken delete edge-1 -n fleet-default --context=upstream"
	if res.Exit != 1 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("want %q in %s", want, res)
	}
}

func TestCreateCleanupOnFailureDeletesTheToken(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	f.Core.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "edge-1", nil)
	})
	res := run(t, f, "create", "edge-1", "--cleanup-on-failure")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "the token was deleted (--cleanup-on-failure)") {
		t.Fatalf("%s", res)
	}
	if r := apiRequests(f); r[len(r)-1] != "delete clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1" {
		t.Errorf("requests %q", r)
	}
}

// Logs and pipes get one line before a wait, not minutes of silence.
func TestCreateWaitWithoutATerminalSaysSoUpFront(t *testing.T) {
	inTempDir(t)
	f := world{}.factory(t) // no controller: the wait times out
	res := run(t, f, "create", "edge-1", "--timeout", "300ms")
	lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
	if res.Exit != 1 || len(lines) != 2 || lines[0] != "Waiting up to 300ms for the Fleet controller to write the values of edge-1 ..." || !strings.Contains(lines[1], "timed out after 300ms") {
		t.Fatalf("%s", res)
	}
	if !strings.Contains(lines[1], "kubectl regtoken delete edge-1 -n fleet-default") {
		t.Errorf("the timeout does not say how to delete the token: %s", lines[1])
	}
}

func TestCreateReuseOfAnExpiredTokenIsRefused(t *testing.T) {
	inTempDir(t)
	f := world{tokens: []*unstructured.Unstructured{tokenObj("old", "1h", "old")}, secrets: []*corev1.Secret{valuesSecret("old", fleetValues("old"))}}.factory(t)
	res := run(t, f, "create", "old", "--reuse")
	if res.Exit != 1 || !strings.Contains(res.Stderr, `"old" in namespace "fleet-default" expired at 2026-11-28T10:00:00Z (ttl 1h)`) || !strings.Contains(res.Stderr, "kubectl regtoken create NEW-NAME") {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat("values.yaml"); err == nil {
		t.Error("values.yaml written for an expired token")
	}
}

func TestCreateExistingTokenWithoutReuseIsRefused(t *testing.T) {
	inTempDir(t)
	f := world{tokens: []*unstructured.Unstructured{tokenObj("edge-1", "", "edge-1")}}.factory(t)
	res := run(t, f, "create", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "already exists") || !strings.Contains(res.Stderr, "kubectl regtoken values edge-1 -n fleet-default") {
		t.Fatalf("%s", res)
	}
}

func TestCreateReuseTakesTheExistingValues(t *testing.T) {
	inTempDir(t)
	f := world{tokens: []*unstructured.Unstructured{tokenObj("edge-1", "24h", "edge-1")}, secrets: []*corev1.Secret{valuesSecret("edge-1", fleetValues("edge-1"))}}.factory(t)
	res := run(t, f, "create", "edge-1", "--reuse", "--ttl", "2h")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "exists in namespace fleet-default and is reused (expires 2026-11-29T09:00:00Z)") || !strings.Contains(res.Stderr, "warning: --ttl 2h is ignored") {
		t.Fatalf("%s", res)
	}
}

func TestCreateNoWaitPrintsHowToFetchLater(t *testing.T) {
	inTempDir(t)
	f := world{}.factory(t)
	res := run(t, f, "create", "edge-1", "--no-wait", "--context", "upstream")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "kubectl regtoken values edge-1 -n fleet-default --context=upstream") {
		t.Fatalf("%s", res)
	}
	// Without --ttl the controller's Deployment is read first: a controller
	// that requires a TTL would delete the token at once.
	wantRequests(t, f.Requests(), "create selfsubjectaccessreviews.authorization.k8s.io", "get deployments.apps cattle-fleet-system/fleet-controller", "create clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1")
}

func TestCreateWithoutTTLIsRefusedBeforeCreatingWhenTheControllerRequiresOne(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues, dynamic: []runtime.Object{fleetController("rancher/fleet:v0.16.1", fleet.TtlRequiredEnv+"=true")}}.factory(t)
	res := run(t, f, "create", "edge-1")
	want := "error: the Fleet controller requires a TTL (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true on Deployment cattle-fleet-system/fleet-controller) and deletes a token without one at once: pass --ttl, e.g. --ttl 24h; nothing was created\n"
	if res.Exit != 1 || res.Stderr != want || res.Stdout != "" {
		t.Fatalf("want %q, got %s", want, res)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "create clusterregistrationtokens") {
			t.Errorf("a token was created: %q", f.Requests())
		}
	}
}

func TestCreateJSONIsOneResultObject(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	res := run(t, f, "create", "edge-1", "--ttl", "2h", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "create-json", res.Stdout)
	if strings.Contains(res.Stdout, agentCredToken) {
		t.Error("the result object carries the token")
	}
}

func TestCreateHelmArgvRoundTripsThroughBash(t *testing.T) {
	inTempDir(t)
	f := world{controller: fleetValues}.factory(t)
	res := run(t, f, "create", "edge-1", "--label", "example.com/tier=gold", "--client-id", "it's mine")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	argv := helmArgv(t, res.Stdout)
	if got := flagValues(argv, "--set-string"); !slices.Equal(got, []string{`labels.example\.com/tier=gold`, "clientID=it's mine"}) {
		t.Errorf("--set-string %q", got)
	}
}
