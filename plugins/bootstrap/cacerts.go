package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	certutil "k8s.io/client-go/util/cert"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// CACertsURL turns --cacerts-url into the URL to fetch: https only, and a
// bare server URL gets k3s's /cacerts path.
func CACertsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--cacerts-url %q is not a URL: pass https://SERVER:PORT/cacerts (port 6443 for k3s, 9345 for rke2)", raw)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("--cacerts-url %q is not https: the CA bundle must come over TLS so it can be checked against the server; pass https://SERVER:PORT/cacerts", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/cacerts"
	}
	return u, nil
}

// maxCABundle bounds what we read from /cacerts.
const maxCABundle = 1 << 20

// cacertsTimeout bounds the /cacerts request.
const cacertsTimeout = 15 * time.Second

// FetchCACerts gets the CA bundle of --cacerts-url (FetchServedCA); a
// failure says to check that flag or pass --ca-file instead.
func FetchCACerts(ctx context.Context, raw string) (kubeconfig.CABundle, error) {
	u, err := CACertsURL(raw)
	if err != nil {
		return kubeconfig.CABundle{}, err
	}
	b, err := FetchServedCA(ctx, u)
	if err != nil {
		return b, fmt.Errorf("%w; check --cacerts-url (k3s: port 6443, rke2: 9345) or pass --ca-file", err)
	}
	return b, nil
}

// FetchServedCA gets the CA bundle a k3s or rke2 supervisor serves at u
// (/cacerts, unauthenticated, so the TLS handshake cannot verify yet) and
// trusts it only if it validates the very certificate that server
// presented on that connection; otherwise anyone in the path could hand
// us their own CA and the K10 hash would pin it. Its errors give the
// cause only: the flag to fix is the caller's.
func FetchServedCA(ctx context.Context, u *url.URL) (kubeconfig.CABundle, error) {
	ctx, cancel := context.WithTimeout(ctx, cacertsTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// Verified below against the bundle the server itself serves.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return kubeconfig.CABundle{}, fmt.Errorf("cannot fetch %s: %v", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return kubeconfig.CABundle{}, fmt.Errorf("cannot fetch %s: timed out after %s", u, cacertsTimeout)
		}
		return kubeconfig.CABundle{}, fmt.Errorf("cannot fetch %s: %s", u, apierror.LastPart(err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return kubeconfig.CABundle{}, fmt.Errorf("cannot fetch %s: %s (not a k3s or rke2 supervisor?)", u, printer.EscapeText(resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCABundle+1))
	if err != nil {
		return kubeconfig.CABundle{}, fmt.Errorf("cannot fetch %s: %s", u, apierror.LastPart(err))
	}
	if len(body) > maxCABundle {
		return kubeconfig.CABundle{}, fmt.Errorf("%s served more than %d bytes, not a CA bundle", u, maxCABundle)
	}
	if err := VerifyServedBundle(body, resp.TLS, u.Hostname()); err != nil {
		return kubeconfig.CABundle{}, fmt.Errorf("refusing the CA bundle from %s: %v", u, err)
	}
	return kubeconfig.CABundle{PEM: body, From: u.String()}, nil
}

// VerifyServedBundle checks that bundle (PEM) is a CA that validates the
// leaf certificate presented in state for host.
func VerifyServedBundle(bundle []byte, state *tls.ConnectionState, host string) error {
	certs, err := certutil.ParseCertsPEM(bundle)
	if err != nil {
		return fmt.Errorf("the response holds no PEM certificate")
	}
	if state == nil || len(state.PeerCertificates) == 0 {
		return errors.New("the server presented no certificate")
	}
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c)
	}
	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err = state.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: intermediates,
	})
	if err != nil {
		return fmt.Errorf("it does not validate the server's own certificate (%s)", apierror.OneLine(err.Error()))
	}
	return nil
}
