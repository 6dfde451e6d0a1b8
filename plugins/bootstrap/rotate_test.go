package bootstrap

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/supervisor"
)

// startSupervisor serves an emulated supervisor over TLS; its CA is the
// test server's self-signed certificate, served verbatim at /cacerts.
func startSupervisor(t *testing.T, program, serverToken, nodeToken string) (*supervisor.Supervisor, *httptest.Server, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := servingCAPEM(srv)
	sup := supervisor.New(program, ca, serverToken, nodeToken)
	srv.Config.Handler = sup.Handler()
	return sup, srv, ca
}

func caHashOf(pem []byte) string {
	sum := sha256.Sum256(pem)
	return hex.EncodeToString(sum[:])
}

var generatedToken = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRotateK3sWithAFullFormTokenFromTheEnvironment(t *testing.T) {
	sup, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	t.Setenv("K3S_TOKEN", "K10"+caHashOf(ca)+"::server:oldpass")
	f := clitest.NewFactory(clitest.Options{})
	res := clitest.Run(t, NewRoot, f, "", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL)
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	newPass := sup.Password("server")
	if !generatedToken.MatchString(newPass) || newPass == "oldpass" {
		t.Fatalf("server password %q, want 32 new hex characters", newPass)
	}
	if want := sup.TokenFile() + "\n"; res.Stdout != want {
		t.Errorf("stdout %q, want the server's new token file %q", res.Stdout, want)
	}
	if sup.Password("node") != newPass {
		t.Errorf("node password %q: without a separate agent token it follows the server token", sup.Password("node"))
	}
	reqs := sup.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	r := reqs[0]
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("server:oldpass"))
	if r.Method != http.MethodPut || r.Path != "/v1-k3s/token" || r.Authorization != wantAuth || r.ContentType != "application/json" || string(r.Body) != `{"newToken":"`+newPass+`"}` {
		t.Errorf("request %+v", r)
	}
	report := strings.ReplaceAll(res.Stderr, srv.URL, "https://SUPERVISOR")
	clitest.Golden(t, "rotate-report", report)
	if len(f.Requests()) != 0 {
		t.Errorf("with --flavor, rotate asked the cluster: %q", f.Requests())
	}
}

func TestRotateRKE2WithABarePasswordPinnedByTheKubeconfigCA(t *testing.T) {
	sup, srv, ca := startSupervisor(t, "rke2", "oldpass", "agentpass")
	f := clitest.NewFactory(clitest.Options{Cluster: kubeconfig.Cluster{Context: "rke2", Server: "https://10.0.0.1:6443", CAData: ca}})
	res := clitest.Run(t, NewRoot, f, "", "rotate", "--flavor", "rke2", "--supervisor-url", srv.URL, "--server-token", "oldpass", "--new-server-token", "chosen-new-server-token", "-o", "json")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	var out Rotation
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("-o json: %v\n%s", err, res.Stdout)
	}
	if out.Token != sup.TokenFile() || out.CAHash != caHashOf(ca) || out.Flavor != FlavorRKE2 || out.Server != srv.URL {
		t.Errorf("got %+v, token file %q", out, sup.TokenFile())
	}
	if sup.Password("server") != "chosen-new-server-token" || sup.Password("node") != "agentpass" {
		t.Errorf("server %q node %q: a separate agent token stays", sup.Password("server"), sup.Password("node"))
	}
	if p := sup.Requests()[0].Path; p != "/v1-rke2/token" {
		t.Errorf("path %s", p)
	}
}

func TestRotateRefusesBeforeSendingTheToken(t *testing.T) {
	_, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	otherHash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		cluster kubeconfig.Cluster
		args    []string
		want    string
	}{
		{"hash mismatch", kubeconfig.Cluster{}, []string{"--server-token", "K10" + otherHash + "::server:oldpass"}, "not the old token's " + otherHash + ": refusing to send the token"},
		{"bare password without a CA", kubeconfig.Cluster{}, []string{"--server-token", "oldpass"}, "cannot check " + srv.URL + "'s CA: the old token is the bare password"},
		{"kubeconfig CA of another cluster", kubeconfig.Cluster{Context: "x", CAData: readTestdata(t, "root.pem")}, []string{"--server-token", "oldpass"}, "is not the CA of the kubeconfig's context \"x\""},
		{"bootstrap token as old", kubeconfig.Cluster{}, []string{"--server-token", "abcdef.0123456789abcdef"}, "is a bootstrap (agent join) token, not the server token"},
		{"agent token as old", kubeconfig.Cluster{}, []string{"--server-token", "K10" + caHashOf(ca) + "::node:pw"}, `is the "node" token, not the server token`},
		{"new shaped like a bootstrap token", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--new-server-token", "abcdef.0123456789abcdef"}, "shaped like a bootstrap token"},
		{"new with K10", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--new-server-token", "K10abc"}, "starts with K10"},
		{"new empty", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--new-server-token", ""}, "--new-server-token is empty"},
		{"new equal to the old", kubeconfig.Cluster{}, []string{"--server-token", "K10" + caHashOf(ca) + "::server:old-password-of-length-24", "--new-server-token", "old-password-of-length-24"}, "--new-server-token is the current server token: rotating to it changes nothing"},
		{"new one character long", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--new-server-token", "x"}, "--new-server-token has 1 characters, fewer than the 16 rotate accepts"},
		{"new one short of the minimum", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--new-server-token", "0123456789abcde"}, "has 15 characters, fewer than the 16"},
		{"no old token", kubeconfig.Cluster{}, nil, "no server token given: pass --server-token-file FILE, --server-token or $K3S_TOKEN"},
		{"server dry run", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "--dry-run=server"}, "--dry-run=server is not possible"},
		{"unsupported output", kubeconfig.Cluster{}, []string{"--server-token", "oldpass", "-o", "name"}, `-o "name" is not supported by rotate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("K3S_TOKEN", "")
			sup := supervisor.New("k3s", ca, "oldpass", "oldpass")
			srv.Config.Handler = sup.Handler()
			args := append([]string{"rotate", "--flavor", "k3s", "--supervisor-url", srv.URL}, tc.args...)
			res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Cluster: tc.cluster}), "", args...)
			if res.Exit != 1 || res.Stdout != "" || !strings.Contains(res.Stderr, tc.want) || strings.Count(res.Stderr, "\n") != 1 {
				t.Errorf("%s\nwant one line with %q", res, tc.want)
			}
			if n := len(sup.Requests()); n != 0 {
				t.Errorf("%d token requests sent", n)
			}
			if strings.Contains(res.Stderr, "oldpass") {
				t.Errorf("the old password was printed: %s", res.Stderr)
			}
		})
	}
}

func TestRotateRefusesAProxyOrKubeadm(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--flavor", "k3s", "--supervisor-url", "https://rancher.example.com/k8s/clusters/c-1"}, "has a path (/k8s/clusters/c-1): it is a proxy"},
		{[]string{"--flavor", "k3s", "--supervisor-url", "http://10.0.0.1:6443"}, "is not a URL like https://HOST:6443"},
		{[]string{"--flavor", "kubeadm"}, "kubeadm clusters have no server token to rotate"},
	} {
		res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Cluster: kubeconfig.Cluster{Server: "https://10.0.0.1:6443"}}), "", append([]string{"rotate", "--server-token", "pw"}, tc.args...)...)
		if res.Exit != 1 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%q: %s\nwant %q", tc.args, res, tc.want)
		}
	}
}

// Every documented answer of the token route becomes one line, and the
// 500's error ID is kept: the cause is only in that server's log.
func TestRotateExplainsEveryServerAnswer(t *testing.T) {
	_, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	hash := caHashOf(ca)
	for _, tc := range []struct {
		code int
		msg  string
		want string
	}{
		{401, "not authorized", "refused the old server token (401 not authorized): pass the current server token"},
		{403, "forbidden", "answered 403 forbidden: only the server token can rotate it"},
		{405, "method not allowed", "answered 405 Method Not Allowed: this k3s server cannot rotate tokens"},
		{400, "bad request", "refused the request as malformed (400 bad request)"},
		{500, "token error ID 01234", `failed to rotate (500 token error ID 01234): the cause is only in that server's log (journalctl -u k3s | grep "token error ID 01234")`},
	} {
		mux := http.NewServeMux()
		mux.HandleFunc("/cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(ca) })
		mux.HandleFunc("/v1-k3s/token", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tc.code)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"` + tc.msg + `","code":` + strconv.Itoa(tc.code) + `}`))
		})
		srv.Config.Handler = mux
		res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL, "--server-token", "K10"+hash+"::server:oldpass")
		if res.Exit != 1 || !strings.Contains(res.Stderr, tc.want) || strings.Count(res.Stderr, "\n") != 1 {
			t.Errorf("%d: %s\nwant %q", tc.code, res, tc.want)
		}
	}
}

// The supervisor's text reaches a terminal: control characters in it are
// shown, not obeyed (a forged line, a bell, a colour).
func TestRotateEscapesTheSupervisorsErrorText(t *testing.T) {
	_, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	mux := http.NewServeMux()
	mux.HandleFunc("/cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(ca) })
	mux.HandleFunc("/v1-k3s/token", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("evil \x1b]0;owned\x07\x1b[2Jtext"))
	})
	srv.Config.Handler = mux
	res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL, "--server-token", "K10"+caHashOf(ca)+"::server:oldpass")
	if res.Exit != 1 || strings.ContainsAny(res.Stderr, "\x1b\x07") || !strings.Contains(res.Stderr, `evil ^[]0;owned\x07^[[2Jtext`) {
		t.Errorf("%s\nwant the server's text escaped", res)
	}
}

// rotate has --supervisor-url, not --ca-file: a supervisor that cannot be
// reached, or that serves no CA, is fixed with the flag rotate has.
func TestRotateErrorsNameTheFlagsRotateHas(t *testing.T) {
	down := httptest.NewTLSServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	_, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	noCA := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(noCA.Close)
	for _, tc := range []struct {
		name, url, want string
	}{
		{"connection refused", downURL, "connection refused; check --supervisor-url (k3s: port 6443, rke2: 9345); nothing was sent"},
		{"no /cacerts", noCA.URL, "404 Not Found (not a k3s or rke2 supervisor?); check --supervisor-url"},
	} {
		res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "rotate", "--flavor", "k3s", "--supervisor-url", tc.url, "--server-token", "K10"+caHashOf(ca)+"::server:oldpass")
		if res.Exit != 1 || !strings.Contains(res.Stderr, tc.want) || strings.Contains(res.Stderr, "--ca-file") {
			t.Errorf("%s: %s\nwant %q and no --ca-file", tc.name, res, tc.want)
		}
	}
	// The kubeconfig's unusable CA and server: rotate's own remedies.
	for _, tc := range []struct {
		name    string
		cluster kubeconfig.Cluster
		want    string
	}{
		{"kubeconfig CA not PEM", kubeconfig.Cluster{Context: "k3s", Server: srv.URL, CAData: []byte("junk")}, `the kubeconfig's context "k3s" has certificate-authority-data that holds no PEM certificate: fix the kubeconfig, or pass the old server token in full form`},
		{"kubeconfig server a proxy", kubeconfig.Cluster{Context: "k3s", Server: "https://rancher.example.com/k8s/clusters/c-1"}, "pass --supervisor-url https://HOST:PORT"},
	} {
		res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Cluster: tc.cluster}), "", "rotate", "--flavor", "k3s", "--server-token", "oldpass")
		if res.Exit != 1 || !strings.Contains(res.Stderr, tc.want) || strings.Contains(res.Stderr, "--ca-file") || strings.Contains(res.Stderr, "--join-server") {
			t.Errorf("%s: %s\nwant %q, and no flag rotate lacks", tc.name, res, tc.want)
		}
	}
}

func TestRotateServerErrorFromTheEmulatorKeepsTheOldToken(t *testing.T) {
	sup, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	sup.FailNext = true
	res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL, "--server-token", "K10"+caHashOf(ca)+"::server:oldpass")
	if res.Exit != 1 || !regexp.MustCompile(`\(500 token error ID \d{5}\)`).MatchString(res.Stderr) || res.Stdout != "" {
		t.Errorf("%s", res)
	}
	if sup.Password("server") != "oldpass" {
		t.Errorf("password changed to %q after a failure", sup.Password("server"))
	}
}

func TestRotateClientDryRunChecksTrustAndSendsNothing(t *testing.T) {
	sup, srv, ca := startSupervisor(t, "k3s", "oldpass", "oldpass")
	res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{}), "", "rotate", "--flavor", "k3s", "--supervisor-url", srv.URL, "--server-token", "K10"+caHashOf(ca)+"::server:oldpass", "--dry-run")
	if res.Exit != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "not rotated (dry run)") || len(sup.Requests()) != 0 {
		t.Errorf("%s", res)
	}
}

func TestRotateDefaultsToTheKubeconfigServerOrPort9345(t *testing.T) {
	for _, tc := range []struct {
		flavor Flavor
		server string
		want   string
	}{
		{FlavorK3s, "https://10.0.0.1:6443", "https://10.0.0.1:6443"},
		{FlavorRKE2, "https://10.0.0.1:6443", "https://10.0.0.1:9345"},
	} {
		o := &RotateOptions{f: clitest.NewFactory(clitest.Options{Cluster: kubeconfig.Cluster{Server: tc.server}}), Flavor: string(tc.flavor), ServerToken: "pw"}
		cmd := NewCmdRotate(o.f, o.IOStreams)
		if err := o.Complete(cmd, nil); err != nil || o.endpoint != tc.want {
			t.Errorf("%s: endpoint %q, %v; want %q", tc.flavor, o.endpoint, err, tc.want)
		}
	}
}
