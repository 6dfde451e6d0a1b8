//go:build e2e

package bootstrap

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/supervisor"
)

// startSupervisorLikeK3s serves the supervisor emulator with the test
// control plane's own serving certificate and key, as a k3s server's
// supervisor shares the API server's certificate chain: the CA it serves
// at /cacerts is the control plane's, the one in the admin kubeconfig,
// so the plugin's trust check runs its real path (kubeconfig CA or K10
// hash against /cacerts, then the server verified with it).
func startSupervisorLikeK3s(t *testing.T, program, serverToken string) (*supervisor.Supervisor, *httptest.Server) {
	t.Helper()
	dir := env.APIServer().CertDir
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
	if err != nil {
		t.Fatal(err)
	}
	sup := supervisor.New(program, env.Config.CAData, serverToken, serverToken)
	srv := httptest.NewUnstartedServer(sup.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return sup, srv
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// rotate, through the real kubectl, for k3s and rke2, with the old token
// in full form (pinned by its K10 hash) and bare (pinned by the
// kubeconfig CA): the one request on the wire is the documented one,
// and the new token printed is the server's.
func TestRotateAgainstTheSupervisorBehindTheClusterCA(t *testing.T) {
	sum := sha256.Sum256(env.Config.CAData)
	caHash := hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		program, old string
	}{
		{"k3s", "K10" + caHash + "::server:old-k3s-pass"},
		{"k3s", "old-k3s-pass"},
		{"rke2", "K10" + caHash + "::server:old-rke2-pass"},
		{"rke2", "old-rke2-pass"},
	} {
		password := tc.old[strings.LastIndex(tc.old, ":")+1:]
		t.Run(tc.program+" "+map[bool]string{true: "full form", false: "bare"}[strings.HasPrefix(tc.old, "K10")], func(t *testing.T) {
			sup, srv := startSupervisorLikeK3s(t, tc.program, password)
			r := mustOK(t, bsIn(tc.old+"\n", "rotate", "--flavor", tc.program, "--supervisor-url", srv.URL, "--server-token-file", "/dev/stdin", "-o", "json"), "rotate")
			var out struct{ Token, CAHash, Server, Flavor string }
			if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
				t.Fatalf("%v\n%s", err, r)
			}
			newPass := sup.Password("server")
			if !hex32.MatchString(newPass) || out.Token != sup.TokenFile() || out.Token != "K10"+caHash+"::server:"+newPass || out.CAHash != caHash {
				t.Errorf("printed %+v; server password %q, token file %q", out, newPass, sup.TokenFile())
			}
			reqs := sup.Requests()
			if len(reqs) != 1 {
				t.Fatalf("requests on the wire: %+v", reqs)
			}
			w := reqs[0]
			if w.Method != http.MethodPut || w.Path != "/v1-"+tc.program+"/token" ||
				w.Authorization != "Basic "+base64.StdEncoding.EncodeToString([]byte("server:"+password)) ||
				string(w.Body) != `{"newToken":"`+newPass+`"}` {
				t.Errorf("request %+v", w)
			}
		})
	}
}

// Trust is checked before the old token is sent: a K10 hash of another
// CA, or a kubeconfig whose CA is not the supervisor's, sends nothing.
func TestRotateSendsNothingToAnUntrustedSupervisor(t *testing.T) {
	sup, srv := startSupervisorLikeK3s(t, "k3s", "oldpass")
	wrongHash := bsIn("K10"+strings.Repeat("ab", 32)+"::server:oldpass\n", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL, "--server-token-file", "/dev/stdin")
	if wrongHash.Code != 1 || len(sup.Requests()) != 0 || sup.Password("server") != "oldpass" {
		t.Errorf("hash of another CA: %s; requests %+v", wrongHash, sup.Requests())
	}
	// The emulator served with a certificate the cluster CA did not sign.
	other := httptest.NewUnstartedServer(sup.Handler())
	other.StartTLS()
	t.Cleanup(other.Close)
	untrusted := bsIn("oldpass\n", "rotate", "--flavor", "k3s", "--supervisor-url", other.URL, "--server-token-file", "/dev/stdin")
	if untrusted.Code != 1 || len(sup.Requests()) != 0 || sup.Password("server") != "oldpass" {
		t.Errorf("certificate from another CA: %s; requests %+v", untrusted, sup.Requests())
	}
}
