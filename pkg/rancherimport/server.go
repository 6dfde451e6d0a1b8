package rancherimport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// Server is Rancher's address for the import route and the CA to trust
// there (nil: the system's roots).
type Server struct {
	URL string
	CA  []byte
	// CASource says where CA came from, for messages.
	CASource string
}

// ParseURL checks a --rancher-url: Rancher's https address, nothing
// after the host but an optional path prefix.
func ParseURL(raw, flag string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("invalid %s %q: give Rancher's https address, e.g. https://rancher.example.com", flag, raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// CAPool parses PEM certificates; from names them in the error.
func CAPool(pem []byte, from string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate: give Rancher's CA in PEM (-----BEGIN CERTIFICATE-----)", from)
	}
	return pool, nil
}

// setting is a setting's effective value (value, else default).
func (r *Rancher) setting(ctx context.Context, name string) (string, error) {
	u, err := r.Dyn.Resource(SettingsGVR).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return "", nil
	}
	if err != nil {
		return "", apierror.Wrap(err, apierror.Op{Verb: "get", Resource: SettingsGVR.GroupResource(), Kind: "Rancher setting", Name: name,
			NotServed: "Rancher is not installed in this cluster (the current context must be Rancher's local cluster)"})
	}
	v, _, _ := unstructured.NestedString(u.Object, "value")
	if v == "" {
		v, _, _ = unstructured.NestedString(u.Object, "default")
	}
	return strings.TrimSpace(v), nil
}

// Server settles the import route's address and CA: urlOverride
// (--rancher-url), else the server-url setting; caOverride (a CA file),
// else the cacerts setting, else the system's roots (a publicly trusted
// certificate leaves cacerts empty).
func (r *Rancher) Server(ctx context.Context, urlOverride string, caOverride []byte, caFrom string) (Server, error) {
	s := Server{URL: urlOverride, CA: caOverride, CASource: caFrom}
	// The two settings are read at once: one round trip on the way to the
	// first create, not two.
	var urlSetting, caSetting string
	var urlErr, caErr error
	var g errgroup.Group
	if s.URL == "" {
		g.Go(func() error { urlSetting, urlErr = r.setting(ctx, "server-url"); return nil })
	}
	if s.CA == nil {
		g.Go(func() error { caSetting, caErr = r.setting(ctx, "cacerts"); return nil })
	}
	_ = g.Wait() // the errors are kept apart, to say the server-url's first
	if s.URL == "" {
		if urlErr != nil {
			return s, urlErr
		}
		if urlSetting == "" {
			return s, errors.New("the server-url setting is empty, so Rancher's agents would not know where to connect: set it in Rancher, or pass --rancher-url https://<rancher>")
		}
		var err error
		if s.URL, err = ParseURL(urlSetting, "server-url setting"); err != nil {
			return s, err
		}
	}
	if s.CA == nil {
		if caErr != nil {
			return s, caErr
		}
		if caSetting != "" {
			s.CA, s.CASource = []byte(caSetting), "the cacerts setting"
		} else {
			s.CASource = "the system's roots"
		}
	}
	if s.CA != nil {
		if _, err := CAPool(s.CA, s.CASource); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Client is an HTTPS client trusting s.CA (else the system's roots), with
// the environment's proxy settings.
func (s Server) Client() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CA != nil {
		pool, err := CAPool(s.CA, s.CASource)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// host is the URL without path: what messages may show.
func (s Server) host() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return "Rancher"
	}
	return u.Scheme + "://" + u.Host
}

// ImportURL is the manifest's URL: a credential.
func (s Server) ImportURL(t *Token) string {
	return fmt.Sprintf("%s/v3/import/%s_%s.yaml", s.URL, t.Reveal(), t.ClusterID)
}

// ErrTokenRefused is Rancher's 400 "cluster not found or invalid token".
var ErrTokenRefused = errors.New("cluster not found or invalid token")

// maxManifest bounds the manifest read (Rancher's is some 10 KiB).
const maxManifest = 4 << 20

// Fetch GETs the manifest for t. Its errors never hold the URL or the
// token: each of Rancher's answers becomes one line.
func (s Server) Fetch(ctx context.Context, c *http.Client, t *Token) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.ImportURL(t), nil)
	if err != nil {
		return nil, fmt.Errorf("the import URL of cluster %s on %s is invalid: check --rancher-url or the server-url setting", t.ClusterID, s.host())
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL, so the token
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot fetch the import manifest from %s: %s; check --rancher-url (or the server-url setting) and that %s is Rancher's CA", s.host(), apierror.OneLine(err.Error()), s.CASource)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("reading the import manifest from %s: %w", s.host(), err)
	}
	answer := apierror.OneLine(strings.TrimSpace(string(body)))
	if len(answer) > 200 {
		answer = answer[:200] + "…"
	}
	answer = strings.ReplaceAll(answer, t.Reveal(), "<redacted>")
	switch {
	case resp.StatusCode == http.StatusOK && len(body) > maxManifest:
		return nil, fmt.Errorf("the import manifest from %s is larger than %d MiB: is %s Rancher?", s.host(), maxManifest>>20, s.host())
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(answer, "invalid filename"):
		return nil, fmt.Errorf("%s refused the manifest's name (400 invalid filename): the token or cluster ID %s is not of the form Rancher expects; report it with your Rancher version", s.host(), t.ClusterID)
	case resp.StatusCode == http.StatusBadRequest:
		return nil, fmt.Errorf("%s refused the import token of cluster %s (400 %s): the token was rotated after its grace period, or the cluster is being deleted; run the import again: %w", s.host(), t.ClusterID, answer, ErrTokenRefused)
	case resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s answered 403 Forbidden to the import route /v3/import: something in front of Rancher (a proxy, WAF or ingress rule) blocks it; allow /v3/import, or pass --rancher-url with an address that reaches Rancher", s.host())
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s has no import route (404 on /v3/import): it is not Rancher, or a proxy hides the route; pass --rancher-url with Rancher's address", s.host())
	}
	return nil, fmt.Errorf("%s answered %s to the import manifest request: %s", s.host(), resp.Status, answer)
}
