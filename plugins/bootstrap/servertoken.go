package bootstrap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// Server-token rotation as `k3s token rotate` does it, on the wire
// described in docs/bootstrap-tokens.md §9: trust the supervisor's
// /cacerts only once it is pinned (by the old token's K10 hash or the
// kubeconfig CA), then PUT /v1-<program>/token with Basic
// server:<old password> and {"newToken": <new>}.

// serverTokenUser is the passwd entry whose password is the server token.
const serverTokenUser = "server"

// ServerToken is an old server token: its password and, when it was
// given in full K10 form, the CA hash it pins.
type ServerToken struct {
	CAHash   string
	Password string
}

var bootstrapTokenShape = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// ParseServerToken reads a server token in full form
// (K10<64 hex>::server:<password>) or as the bare password.
func ParseServerToken(s, from string) (ServerToken, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return ServerToken{}, fmt.Errorf("%s is empty: pass the cluster's server token (K10…::server:PASSWORD, or the password alone)", from)
	case bootstrapTokenShape.MatchString(s):
		return ServerToken{}, fmt.Errorf("%s is a bootstrap (agent join) token, not the server token: pass the token in the servers' config (token: in /etc/rancher/<k3s|rke2>/config.yaml) or <data-dir>/server/token", from)
	case !strings.HasPrefix(s, k10Prefix):
		return ServerToken{Password: s}, nil
	}
	hash, creds, ok := strings.Cut(strings.TrimPrefix(s, k10Prefix), "::")
	if !ok || (hash != "" && !isLowerHex(hash, 64)) {
		return ServerToken{}, fmt.Errorf("%s starts with K10 but is not K10<64 hex characters>::server:PASSWORD: pass it as written in <data-dir>/server/token", from)
	}
	user, password, ok := strings.Cut(creds, ":")
	switch {
	case !ok && bootstrapTokenShape.MatchString(creds):
		return ServerToken{}, fmt.Errorf("%s is a secure bootstrap (agent join) token, not the server token: pass the server token (K10…::server:PASSWORD)", from)
	case !ok:
		return ServerToken{}, fmt.Errorf("%s has no user: the full form is K10<hash>::server:PASSWORD", from)
	case user != serverTokenUser:
		return ServerToken{}, fmt.Errorf("%s is the %q token, not the server token: only the server token can rotate it (K10…::server:PASSWORD)", from, user)
	case password == "":
		return ServerToken{}, fmt.Errorf("%s has an empty password", from)
	}
	return ServerToken{CAHash: hash, Password: password}, nil
}

// MinServerTokenLength is the shortest new server token rotate accepts:
// the server token is the cluster's root secret (it joins servers and
// decrypts the bootstrap data), and the servers themselves accept any
// length. 16 characters of hex are 64 bits; the generated ones have 32.
const MinServerTokenLength = 16

// CheckNewServerToken refuses values that k3s and rke2 misread: shaped like
// a bootstrap token, or with the K10 prefix of a full token (both degraded
// clusters), or that a config file line cannot carry; and values that
// are no rotation: the current password old, or one short enough to
// guess.
func CheckNewServerToken(s, old string) error {
	switch {
	case s == "":
		return fmt.Errorf("--new-server-token is empty: leave it out to have one generated")
	case bootstrapTokenShape.MatchString(s):
		return fmt.Errorf("--new-server-token is shaped like a bootstrap token (xxxxxx.yyyyyyyyyyyyyyyy): servers would take it for one; choose another value or leave the flag out")
	case strings.HasPrefix(s, k10Prefix):
		return fmt.Errorf("--new-server-token starts with K10, the prefix of a full token: servers would misread it; pass the password alone or leave the flag out")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("--new-server-token holds white space or a control character, which the config files cannot carry: choose another value or leave the flag out")
	case s == old:
		return fmt.Errorf("--new-server-token is the current server token: rotating to it changes nothing; choose another value or leave the flag out")
	case utf8.RuneCountInString(s) < MinServerTokenLength:
		return fmt.Errorf("--new-server-token has %d characters, fewer than the %d rotate accepts for the cluster's root secret: choose a longer value or leave the flag out (32 random hex characters are generated)", utf8.RuneCountInString(s), MinServerTokenLength)
	}
	return nil
}

// GenerateServerToken is a new password as the server generates one: 32
// hex characters from a cryptographic source.
func GenerateServerToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate a server token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Rotation is what rotate did, for people and for -o.
type Rotation struct {
	Flavor   Flavor `json:"flavor"`
	Server   string `json:"server"`
	CAHash   string `json:"caHash"`
	Token    string `json:"token,omitempty"` // the new token in full K10 form
	DryRun   bool   `json:"dryRun,omitempty"`
	TrustVia string `json:"-"`
}

// rotateTimeout bounds the PUT: rotation re-encrypts the bootstrap data.
const rotateTimeout = 30 * time.Second

// RotateServerToken rotates old into newToken on the supervisor at
// endpoint (https://host:port, as JoinAddress returns it).
// kubeconfigCA (may be empty) pins the supervisor when old carries no
// hash. With dryRun everything is checked and nothing is sent.
func RotateServerToken(ctx context.Context, endpoint string, f Flavor, old ServerToken, kubeconfigCA kubeconfig.CABundle, newToken string, dryRun bool) (Rotation, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return Rotation{}, fmt.Errorf("supervisor address %q: %w", endpoint, err)
	}
	served, err := FetchServedCA(ctx, u.JoinPath("cacerts"))
	if err != nil {
		return Rotation{}, fmt.Errorf("%w; check --supervisor-url (k3s: port 6443, rke2: 9345); nothing was sent", err)
	}
	hash, err := K10CAHash(served.PEM)
	if err != nil {
		return Rotation{}, fmt.Errorf("the CA from %s: %w", served.From, err)
	}
	r := Rotation{Flavor: f, Server: u.String(), CAHash: hash, Token: SecureToken(hash, serverTokenUser+":"+newToken), DryRun: dryRun}
	switch {
	case old.CAHash != "" && old.CAHash != hash:
		return Rotation{}, fmt.Errorf("the CA that %s serves has hash %s, not the old token's %s: refusing to send the token to a server the token does not pin; check --supervisor-url", u, hash, old.CAHash)
	case old.CAHash != "":
		r.TrustVia = "the CA hash in the old token"
	case len(kubeconfigCA.PEM) > 0:
		if !shareCertificate(served.PEM, kubeconfigCA.PEM) {
			return Rotation{}, fmt.Errorf("the CA that %s serves is not the CA of %s: refusing to send the token; pass the old token in full form (K10…::server:PASSWORD) or check --supervisor-url", u, kubeconfigCA.From)
		}
		r.TrustVia = kubeconfigCA.From
	default:
		return Rotation{}, fmt.Errorf("cannot check %s's CA: the old token is the bare password and the kubeconfig has no CA; pass the old token in full form (K10…::server:PASSWORD from <data-dir>/server/token)", u)
	}
	if dryRun {
		r.Token = "" // nothing was rotated: there is no new token to hand out
		return r, nil
	}
	return r, putServerToken(ctx, u, f, served.PEM, old.Password, newToken)
}

// shareCertificate tells whether two PEM bundles hold a certificate in
// common.
func shareCertificate(a, b []byte) bool {
	ca, errA := certutil.ParseCertsPEM(a)
	cb, errB := certutil.ParseCertsPEM(b)
	if errA != nil || errB != nil {
		return false
	}
	for _, x := range ca {
		for _, y := range cb {
			if x.Equal(y) {
				return true
			}
		}
	}
	return false
}

func putServerToken(ctx context.Context, u *url.URL, f Flavor, caPEM []byte, password, newToken string) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}}
	body, err := json.Marshal(map[string]string{"newToken": newToken})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, rotateTimeout)
	defer cancel()
	endpoint := u.String() + "/v1-" + string(f) + "/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(serverTokenUser, password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %s; check --supervisor-url (k3s: port 6443, rke2: 9345)", endpoint, apierror.LastPart(err))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var st metav1.Status
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	// The supervisor's text goes to a terminal: escaped, as describe does.
	msg = printer.EscapeText(apierror.OneLine(msg))
	status := printer.EscapeText(resp.Status)
	program := string(f)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s refused the old server token (401 %s): pass the current server token (--server-token, --server-token-file or $%s_TOKEN); nothing was changed", endpoint, msg, strings.ToUpper(program))
	case http.StatusForbidden:
		return fmt.Errorf("%s answered 403 %s: only the server token can rotate it, not an agent token, a bootstrap token or kubeconfig credentials; nothing was changed", endpoint, msg)
	case http.StatusMethodNotAllowed, http.StatusNotFound:
		return fmt.Errorf("%s answered %s: this %s server cannot rotate tokens (too old, or not a %s supervisor, or a proxy in between); pass --supervisor-url https://SERVER:PORT of one server", endpoint, status, program, program)
	case http.StatusBadRequest:
		return fmt.Errorf("%s refused the request as malformed (400 %s); nothing was changed", endpoint, msg)
	case http.StatusInternalServerError:
		return fmt.Errorf("%s failed to rotate (500 %s): the cause is only in that server's log (journalctl -u %s | grep %q); the token may or may not have changed: try the old token again", endpoint, msg, program, msg)
	default:
		return fmt.Errorf("%s answered %s: %s", endpoint, status, msg)
	}
}
