package exttoken

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	certutil "k8s.io/client-go/util/cert"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

const (
	createReq   = "create tokens.ext.cattle.io"
	maxTTLReq   = "get settings.management.cattle.io auth-token-max-ttl-minutes"
	defTTLReq   = "get settings.management.cattle.io auth-token-default-ttl-minutes"
	undoReq     = "delete tokens.ext.cattle.io token-abcde"
	valueOnce   = "s3cr3tvalue"
	bearerValue = "ext/token-abcde:s3cr3tvalue"
)

func rancher(version string) func(*fakeRancher) {
	return func(f *fakeRancher) { f.rancherCreates(version) }
}

// tokenStored reports whether the created token still exists.
func tokenStored(t *testing.T, f *fakeRancher) bool {
	t.Helper()
	_, err := f.Dyn.Tracker().Get(tokensGVR, "", "token-abcde")
	return err == nil
}

func kept(want bool) func(*testing.T, *fakeRancher, clitest.Result) {
	return func(t *testing.T, f *fakeRancher, _ clitest.Result) {
		t.Helper()
		if got := tokenStored(t, f); got != want {
			t.Errorf("token stored = %v, want %v", got, want)
		}
	}
}

func TestCreate(t *testing.T) {
	maxTTL := []runtime.Object{settingObj("auth-token-max-ttl-minutes", "", "129600")}
	runCases(t, []cmdCase{
		{name: "prints the bearer token once and says when it expires", args: []string{"create", "--ttl", "30d", "--description", "CI"}, objs: maxTTL, setup: rancher("2.13"),
			golden: "create-bearer", requests: []string{maxTTLReq, defTTLReq, createReq}, check: kept(true)},
		{name: "rancher 2.12: the bearer token is assembled", args: []string{"create"}, setup: rancher("2.12"),
			stdout: []string{bearerValue + "\n"}, requests: []string{createReq}},
		{name: "-o value prints only the value", args: []string{"create", "-o", "value"}, setup: rancher("2.13"), stdout: []string{valueOnce + "\n"}},
		{name: "warns when the server will clamp the TTL", args: []string{"create", "--ttl", "never"}, objs: maxTTL, setup: rancher("2.13"),
			stderr: []string{"warning: the server caps tokens at 90d", "--ttl never will be stored as 90d"}},
		{name: "warns about a TTL under one minute", args: []string{"create", "--ttl", "30s"}, setup: rancher("2.13"),
			stderr: []string{"warning: a TTL of 30s is under one minute"}},
		{name: "--ttl 0 asks for the server default", args: []string{"create", "--ttl", "0", "--dry-run=client", "-o", "jsonpath={.spec.ttl}"},
			stdout: []string{"0"}, requests: none},
		{name: "scope dropped by rancher 2.12 fails and deletes the token", args: []string{"create", "--cluster-name", "c-m-abc12"}, setup: rancher("2.12"),
			exit: 1, golden: "create-scope-dropped", requests: []string{createReq, undoReq}, check: kept(false)},
		{name: "scope kept by rancher 2.13", args: []string{"create", "--cluster-name", "c-m-abc12"}, setup: rancher("2.13"),
			stdout: []string{bearerValue}, requests: []string{createReq}, check: kept(true)},
		{name: "scope dropped on a server dry run fails", args: []string{"create", "--cluster-name", "c-m-abc12", "--dry-run=server"}, setup: rancher("2.12"),
			exit: 1, stderr: []string{"dropped --cluster-name c-m-abc12"}, requests: []string{createReq}, check: kept(false)},
		{name: "-o name cannot carry the value and is refused before anything is sent", args: []string{"create", "-o", "name"},
			exit: 1, stderr: []string{"-o name cannot carry the token's value"}, requests: none},
		{name: "a template without the value deletes the token again", args: []string{"create", "-o", "jsonpath={.metadata.name}"}, setup: rancher("2.13"),
			exit: 1, golden: "create-template-without-value", requests: []string{createReq, undoReq}, check: kept(false)},
		{name: "a template with the value is honoured", args: []string{"create", "-o", "jsonpath={.status.value}"}, setup: rancher("2.13"),
			stdout: []string{valueOnce}, check: kept(true)},
		{name: "-o yaml carries the value", args: []string{"create", "-o", "yaml"}, setup: rancher("2.13"),
			stdout: []string{"value: " + valueOnce, "bearerToken: " + bearerValue}},
		{name: "client dry run sends nothing", args: []string{"create", "--dry-run"},
			golden: "create-dry-run-client", requests: none},
		{name: "client dry run honours -o name", args: []string{"create", "--dry-run=client", "-o", "name"},
			stdout: []string{"token.ext.cattle.io/"}, requests: none},
		{name: "client dry run honours go-template", args: []string{"create", "--dry-run=client", "--kind", "ci", "-o", "go-template={{.spec.kind}}"},
			stdout: []string{"ci"}, requests: none},
		{name: "server dry run prints the generated name, no value", args: []string{"create", "--dry-run=server"}, setup: rancher("2.13"),
			golden: "create-dry-run-server", requests: []string{createReq}, check: kept(false)},
		{name: "server dry run honours -o name", args: []string{"create", "--dry-run=server", "-o", "name"}, setup: rancher("2.13"),
			stdout: []string{"token.ext.cattle.io/token-abcde\n"}, check: kept(false)},
		{name: "server dry run -o yaml carries no value", args: []string{"create", "--dry-run=server", "-o", "yaml"}, setup: rancher("2.13"),
			check: func(t *testing.T, _ *fakeRancher, res clitest.Result) {
				t.Helper()
				if strings.Contains(res.Stdout, valueOnce) || !strings.Contains(res.Stdout, "name: token-abcde") {
					t.Errorf("server dry run yaml:\n%s", res.Stdout)
				}
			}},
		{name: "bad ttl", args: []string{"create", "--ttl", "90"}, exit: 1, stderr: []string{`--ttl "90" has no unit`}, requests: none},
		{name: "kubeconfig file without -o kubeconfig", args: []string{"create", "--kubeconfig-file", "x"}, exit: 1, stderr: []string{"needs -o kubeconfig"}, requests: none},
	})
}

// TestCreateKubeconfigFile: -o kubeconfig with --kubeconfig-file writes
// a 0600 file whose user carries the bearer token, for the Rancher
// cluster URL of the current server, with the kubeconfig's CA.
func TestCreateKubeconfigFile(t *testing.T) {
	ca, _, err := certutil.GenerateSelfSignedCertKey("rancher.example.com", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newRancherOn(t, kubeconfig.Cluster{Context: "rancher", Server: "https://rancher.example.com/k8s/clusters/local", CAData: ca})
	f.rancherCreates("2.13")
	path := filepath.Join(t.TempDir(), "ci.kubeconfig")
	res := run(t, f, "create", "-o", "kubeconfig", "--cluster-name", "c-m-abc12", "--kubeconfig-file", path)
	if res.Exit != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "Wrote kubeconfig "+path+" (mode 0600) for https://rancher.example.com/k8s/clusters/c-m-abc12") {
		t.Fatalf("%s", res)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st, err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if kc.AuthInfos[ctx.AuthInfo].Token != bearerValue || kc.Clusters[ctx.Cluster].Server != "https://rancher.example.com/k8s/clusters/c-m-abc12" ||
		string(kc.Clusters[ctx.Cluster].CertificateAuthorityData) != string(ca) {
		t.Errorf("kubeconfig %+v", kc)
	}
	// A second run refuses before anything is created.
	f2 := newRancherOn(t, kubeconfig.Cluster{Server: "https://rancher.example.com/k8s/clusters/local"})
	if res := run(t, f2, "create", "-o", "kubeconfig", "--kubeconfig-file", path); res.Exit != 1 || len(f2.Requests()) != 0 {
		t.Errorf("existing file: %s, requests %q", res, f2.Requests())
	}
}
