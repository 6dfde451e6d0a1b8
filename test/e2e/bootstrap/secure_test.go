//go:build e2e

package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// sha256hex is the k3s rule for a single CA certificate: sha256 of the
// exact bytes.
func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The secure token's hash is sha256 of the kubeconfig's CA bytes (one
// certificate), and inspect agrees; a wrong hash is detected.
func TestSecureTokenFromKubeconfigCA(t *testing.T) {
	tok, id, secret := newToken(t)
	out := strings.TrimSpace(mustOK(t, bs("create", tok, "-o", "secure"), "create -o secure").Stdout)
	want := "K10" + sha256hex(env.Config.CAData) + "::" + tok
	if out != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	in := mustOK(t, bs("inspect", out), "inspect secure token")
	if !strings.Contains(in.Stdout, "CA hash:        matches the kubeconfig") {
		t.Errorf("inspect:\n%s", in.Stdout)
	}
	if strings.Contains(in.Stdout+in.Stderr, secret) {
		t.Errorf("inspect printed the secret")
	}

	wrongHash := "K10" + strings.Repeat("0", 64) + "::" + tok
	bad := bs("inspect", wrongHash)
	if bad.Code != 1 || !strings.Contains(bad.Stderr, "the token's CA hash "+strings.Repeat("0", 64)+" does not match this cluster's CA") {
		t.Errorf("wrong hash: %s", bad)
	}
	oneErrorLine(t, bad)
	if !strings.Contains(bad.Stdout, "DOES NOT MATCH") || strings.Contains(bad.Stdout+bad.Stderr, secret) {
		t.Errorf("wrong hash report:\n%s", bad.Stdout)
	}
	// Against another CA file the (right) hash does not match either.
	other := filepath.Join(env.Root, "plugins", "bootstrap", "testdata", "root.pem")
	if r := bs("inspect", out, "--ca-file", other); r.Code != 1 || !strings.Contains(r.Stderr, "does not match") {
		t.Errorf("--ca-file other CA: %s", r)
	}
	// An ID-only inspect reports the token without checking hashes.
	idOnly := mustOK(t, bs("inspect", id, "-o", "json"), "inspect ID -o json")
	if !strings.Contains(idOnly.Stdout, `"exists": true`) || !strings.Contains(idOnly.Stdout, `"form": "id"`) {
		t.Errorf("inspect ID:\n%s", idOnly.Stdout)
	}
}

// k3s and rke2 join material: the K10 token with the kubeconfig CA's hash,
// the flavor's default group, k3s on the API server's port, rke2 on 9345.
func TestK3sAndRKE2JoinCommands(t *testing.T) {
	hash := sha256hex(env.Config.CAData)
	host := strings.TrimPrefix(strings.TrimSuffix(env.Config.Host, "/"), "https://")
	hostname := host[:strings.LastIndex(host, ":")]

	k3s := mustOK(t, bs("create", "--flavor", "k3s", "--print-join-command"), "k3s join")
	// Run the printed line in bash with curl and sh replaced.
	line := strings.TrimSpace(k3s.Stdout)
	argv := shelltest.Argv(t, "", strings.SplitN(line, " | ", 2)[0], "curl")[1:]
	if !slices.Equal(argv, []string{"-sfL", "https://get.k3s.io"}) {
		t.Errorf("curl argv %q", argv)
	}
	envv := shelltest.Argv(t, "", "sh() { printf '%s\\0' \"$K3S_URL\" \"$K3S_TOKEN\" \"$@\"; }; "+strings.SplitN(line, " | ", 2)[1], "sh")
	if envv[0] != "https://"+host || envv[2] != "-" || !strings.HasPrefix(envv[1], "K10"+hash+"::") {
		t.Fatalf("k3s line %q gives K3S_URL/K3S_TOKEN/argv %q", line, envv)
	}
	id := envv[1][len("K10"+hash+"::"):][:6]
	t.Cleanup(func() { deleteSecret(id) })
	if s, ok := getSecret(t, id); !ok || string(s.Data["auth-extra-groups"]) != "system:bootstrappers:k3s:default-node-token" {
		t.Errorf("k3s token Secret: %v", s)
	}
	mustOK(t, bs("verify", envv[1]), "verify the k3s token")

	rke2 := mustOK(t, bs("create", "--flavor", "rke2", "--print-join-command"), "rke2 join")
	var cfg struct{ Server, Token string }
	if err := yaml.UnmarshalStrict([]byte(rke2.Stdout), &cfg); err != nil {
		t.Fatalf("rke2 config: %v\n%s", err, rke2.Stdout)
	}
	if cfg.Server != "https://"+hostname+":9345" || !strings.HasPrefix(cfg.Token, "K10"+hash+"::") {
		t.Errorf("rke2 config %+v", cfg)
	}
	rid := cfg.Token[len("K10"+hash+"::"):][:6]
	t.Cleanup(func() { deleteSecret(rid) })
	if s, ok := getSecret(t, rid); !ok || string(s.Data["auth-extra-groups"]) != "system:bootstrappers:rke2:default-node-token" {
		t.Errorf("rke2 token Secret: %v", s)
	}
	// The loopback join address is called out, by the address printed.
	if !strings.Contains(rke2.Stderr, "warning: the join address "+cfg.Server+" is a loopback address") {
		t.Errorf("no loopback warning: %q", rke2.Stderr)
	}
	// --join-server is used as given.
	js := mustOK(t, bs("create", "--flavor", "rke2", "--print-join-command", "--join-server", "https://rke2.example.com:9345"), "rke2 --join-server")
	_ = yaml.Unmarshal([]byte(js.Stdout), &cfg)
	t.Cleanup(func() { deleteSecret(cfg.Token[len("K10"+hash+"::"):][:6]) })
	if cfg.Server != "https://rke2.example.com:9345" || strings.Contains(js.Stderr, "loopback") {
		t.Errorf("--join-server: %+v %q", cfg, js.Stderr)
	}
}

// --cacerts-url: the served bundle is hashed only if it validates the
// server that served it; otherwise nothing is created.
func TestCACertsURL(t *testing.T) {
	var good *httptest.Server
	good = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.Certificate().Raw}))
	}))
	defer good.Close()
	wrongCA, err := os.ReadFile(filepath.Join(env.Root, "plugins", "bootstrap", "testdata", "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(wrongCA) }))
	defer evil.Close()

	tok, _, _ := newToken(t)
	out := strings.TrimSpace(mustOK(t, bs("create", tok, "-o", "secure", "--cacerts-url", good.URL+"/cacerts"), "create --cacerts-url").Stdout)
	served := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.Certificate().Raw})
	if out != "K10"+sha256hex(served)+"::"+tok {
		t.Errorf("got %s, want the hash of the served bytes", out)
	}
	if r := mustOK(t, bs("inspect", out, "--cacerts-url", good.URL), "inspect --cacerts-url"); !strings.Contains(r.Stdout, "matches "+good.URL+"/cacerts") {
		t.Errorf("inspect:\n%s", r.Stdout)
	}

	tok2, id2, secret2 := newToken(t)
	before := tokenSecretNames(t)
	r := bs("create", tok2, "-o", "secure", "--cacerts-url", evil.URL+"/cacerts")
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not validate the server's own certificate") {
		t.Errorf("untrusted bundle accepted: %s", r)
	}
	oneErrorLine(t, r)
	if _, found := getSecret(t, id2); found || len(tokenSecretNames(t)) != len(before) || strings.Contains(r.Stdout+r.Stderr, secret2) {
		t.Errorf("a refused CA left a token behind or leaked it: %s", r)
	}
}
