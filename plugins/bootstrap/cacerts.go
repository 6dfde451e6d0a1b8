package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
)

// CABundle is PEM CA bytes exactly as found, and where they came from (for
// messages): the K10 hash of one certificate depends on every byte.
type CABundle struct {
	PEM  []byte
	From string
}

// ReadCAFile reads a PEM CA bundle given with a flag.
func ReadCAFile(path, flag string) (CABundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return CABundle{}, fmt.Errorf("cannot read %s %s: %v; pass the cluster CA certificate (PEM)", flag, path, err)
	}
	if _, err := certutil.ParseCertsPEM(b); err != nil {
		return CABundle{}, fmt.Errorf("%s %s holds no PEM certificate (%v); pass the cluster CA certificate, e.g. /etc/kubernetes/pki/ca.crt or server-ca.crt", flag, path, oneLine(err.Error()))
	}
	return CABundle{PEM: b, From: flag + " " + path}, nil
}

// ContextWhere names a kubeconfig context in messages.
func ContextWhere(contextName string) string {
	if contextName == "" {
		return "the kubeconfig"
	}
	return fmt.Sprintf("the kubeconfig's context %q", contextName)
}

// KubeconfigCA is the cluster CA a kubeconfig cluster names: its
// certificate-authority-data bytes, else the certificate-authority file;
// where names the cluster in messages (see ContextWhere).
func KubeconfigCA(where string, cluster *clientcmdapi.Cluster) (CABundle, error) {
	switch {
	case len(cluster.CertificateAuthorityData) > 0:
		if _, err := certutil.ParseCertsPEM(cluster.CertificateAuthorityData); err != nil {
			return CABundle{}, fmt.Errorf("%s has certificate-authority-data that holds no PEM certificate; fix the kubeconfig or pass --ca-file", where)
		}
		return CABundle{PEM: cluster.CertificateAuthorityData, From: where + " (certificate-authority-data)"}, nil
	case cluster.CertificateAuthority != "":
		b, err := ReadCAFile(cluster.CertificateAuthority, "certificate-authority")
		if err != nil {
			return CABundle{}, fmt.Errorf("%s: %w", where, err)
		}
		b.From = where + " (certificate-authority " + cluster.CertificateAuthority + ")"
		return b, nil
	default:
		return CABundle{}, fmt.Errorf("%s has no certificate-authority: pass --ca-file with the cluster CA or --cacerts-url https://SERVER:PORT/cacerts", where)
	}
}

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

// FetchCACerts gets the CA bundle a k3s or rke2 supervisor serves at
// /cacerts (unauthenticated, so the TLS handshake cannot verify yet) and
// trusts it only if it validates the very certificate that server
// presented on that connection; otherwise anyone in the path could hand
// us their own CA and the K10 hash would pin it.
func FetchCACerts(ctx context.Context, raw string) (CABundle, error) {
	u, err := CACertsURL(raw)
	if err != nil {
		return CABundle{}, err
	}
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
		return CABundle{}, fmt.Errorf("--cacerts-url %q: %v", raw, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return CABundle{}, fmt.Errorf("cannot fetch %s: timed out after %s; check the address (k3s: port 6443, rke2: 9345) or pass --ca-file", u, cacertsTimeout)
		}
		return CABundle{}, fmt.Errorf("cannot fetch %s: %s; check the address (k3s: port 6443, rke2: 9345) or pass --ca-file", u, lastErrPart(err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return CABundle{}, fmt.Errorf("cannot fetch %s: %s; is this a k3s or rke2 server? (k3s: port 6443, rke2: 9345) or pass --ca-file", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCABundle+1))
	if err != nil {
		return CABundle{}, fmt.Errorf("cannot fetch %s: %s; try again or pass --ca-file", u, lastErrPart(err))
	}
	if len(body) > maxCABundle {
		return CABundle{}, fmt.Errorf("%s served more than %d bytes, not a CA bundle; check the URL or pass --ca-file", u, maxCABundle)
	}
	if err := VerifyServedBundle(body, resp.TLS, u.Hostname()); err != nil {
		return CABundle{}, fmt.Errorf("refusing the CA bundle from %s: %v; pass --ca-file with the cluster's CA instead", u, err)
	}
	return CABundle{PEM: body, From: u.String()}, nil
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
		return fmt.Errorf("it does not validate the server's own certificate (%s)", oneLine(err.Error()))
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// lastErrPart keeps the cause of a wrapped network error
// ("connection refused"), dropping the repeated URL.
func lastErrPart(err error) string {
	s := oneLine(err.Error())
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}
