package bootstrap

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// servingCAPEM is the PEM of the certificate httptest's TLS server
// presents (self-signed, so it is its own CA).
func servingCAPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestFetchCACertsTrustsABundleThatValidatesTheServer(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cacerts" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(servingCAPEM(srv))
	}))
	defer srv.Close()
	for _, u := range []string{srv.URL, srv.URL + "/", srv.URL + "/cacerts"} {
		b, err := FetchCACerts(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if string(b.PEM) != string(servingCAPEM(srv)) || !strings.HasSuffix(b.From, "/cacerts") {
			t.Errorf("%s: got %q from %s", u, b.PEM, b.From)
		}
	}
}

func TestFetchCACertsRefusesABundleThatDoesNotValidateTheServer(t *testing.T) {
	other := readTestdata(t, "root.pem")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(other) }))
	defer srv.Close()
	_, err := FetchCACerts(context.Background(), srv.URL+"/cacerts")
	if err == nil || !strings.Contains(err.Error(), "does not validate the server's own certificate") || !strings.Contains(err.Error(), "--ca-file") {
		t.Fatalf("got %v, want a refusal naming --ca-file", err)
	}
}

func TestFetchCACertsErrors(t *testing.T) {
	notPEM := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }))
	defer notPEM.Close()
	missing := httptest.NewTLSServer(http.NotFoundHandler())
	defer missing.Close()
	for _, tc := range []struct{ url, want string }{
		{"http://example.com/cacerts", "is not https"},
		{"not a url", "is not a URL"},
		{notPEM.URL, "holds no PEM certificate"},
		{missing.URL, "404 Not Found"},
		{"https://127.0.0.1:1/cacerts", "connection refused"},
	} {
		_, err := FetchCACerts(context.Background(), tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.url, err, tc.want)
		}
	}
}

func TestKubeconfigCAReadsDataThenFile(t *testing.T) {
	pemBytes := readTestdata(t, "root-no-newline.pem")
	c := kubeconfig.Cluster{Context: "admin", CAData: pemBytes}
	b, err := c.CA()
	if err != nil || string(b.PEM) != string(pemBytes) {
		t.Fatalf("data: %v", err)
	}
	// Exact bytes: the K10 hash of one certificate depends on them.
	if h, _ := K10CAHash(b.PEM); h != hashRootNoNewline {
		t.Errorf("hash %s, want %s", h, hashRootNoNewline)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(file, readTestdata(t, "root.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	c = kubeconfig.Cluster{Context: "admin", CAFile: file}
	if b, err = c.CA(); err != nil || !strings.Contains(b.From, file) {
		t.Fatalf("file: %v %s", err, b.From)
	}
	// The shared leaf gives the cause; the flag to pass is each command's.
	var caErr *kubeconfig.CAError
	if _, err := (kubeconfig.Cluster{Context: "admin"}).CA(); !errors.As(err, &caErr) || !caErr.Missing || strings.Contains(err.Error(), "--") {
		t.Errorf("no CA: %v, want a *kubeconfig.CAError naming no flag", err)
	}
	c.CAFile = filepath.Join(dir, "missing.crt")
	if _, err := c.CA(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadCAFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("junk"), 0o600)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "nope.pem"), "no such file or directory"},
		{junk, "holds no PEM certificate"},
		{dir, "is a directory"},
	} {
		_, err := kubeconfig.ReadCAFile(tc.path, "--ca-file")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
	}
}
