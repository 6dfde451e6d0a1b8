package rancher

import (
	"context"
	"crypto/sha3"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// The cluster proxy is Rancher's own address (server-url) as far as a
// kubeconfig is concerned: https://<rancher>/k8s/clusters/<id>/... with
// Authorization: Bearer ext/<name>:<value> (docs/rancher-tokens.md §6),
// and the bare address for a kubeconfig's default entry (the local
// cluster). It checks the token as Rancher does (value against the hash,
// enabled, not expired, the user enabled, a cluster-scoped token only for
// its cluster, the user allowed to get the cluster) and then forwards the
// request to the one real kube-apiserver, impersonating the token's user.
// That apiserver stands in for every downstream cluster; the extra
// ProxiedClusterExtra names the cluster the request was meant for, so a
// test (kubectl auth whoami) sees which entry of a kubeconfig it used.

// ProxiedClusterExtra is the user extra the cluster proxy adds.
const ProxiedClusterExtra = "rancher-emulator.cattle.io/cluster"

// clusterProxy is the second listener of an emulator.
type clusterProxy struct {
	srv  *http.Server
	ln   net.Listener
	url  string
	ca   []byte
	done chan struct{}
}

// ServerURL is the address the emulator answers as Rancher's server-url:
// kubeconfigs it generates point here unless the server-url setting says
// otherwise.
func (e *Emulator) ServerURL() string { return e.proxy.url }

func (e *Emulator) caPEM() []byte { return e.proxy.ca }

// startClusterProxy serves the cluster proxy on its own 127.0.0.1 port
// with the emulator's serving certificate.
func (e *Emulator) startClusterProxy(cert tls.Certificate, certPEM []byte) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p := &clusterProxy{ln: ln, ca: certPEM, done: make(chan struct{}),
		url: fmt.Sprintf("https://127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(e.serveClusterProxy),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	e.proxy = p
	go func() {
		defer close(p.done)
		_ = p.srv.ServeTLS(ln, "", "")
	}()
	return nil
}

func (e *Emulator) stopClusterProxy() {
	if e.proxy == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.proxy.srv.Shutdown(ctx)
	_ = e.proxy.srv.Close()
	<-e.proxy.done
}

func (e *Emulator) serveClusterProxy(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Verb: "proxy"}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		rec.Code = sw.code
		e.record(rec)
	}()
	// Rancher's bare address serves its own (local) cluster's API to any
	// Rancher user, RBAC applying there; /k8s/clusters/<id> needs access
	// to that cluster.
	cluster, path := "", r.URL.Path
	if rest, ok := strings.CutPrefix(r.URL.Path, "/k8s/clusters/"); ok {
		cluster, path, _ = strings.Cut(rest, "/")
		path = "/" + path
	}
	ctx := r.Context()
	tok, err := e.authenticateBearer(ctx, r.Header.Get("Authorization"))
	if err != nil {
		writeError(sw, err)
		return
	}
	rec.User = tok.Spec.UserID
	if err := e.mayProxy(ctx, tok, cluster); err != nil {
		writeError(sw, err)
		return
	}
	e.touchLastUsed(ctx, tok.Name)
	target := cluster
	if target == "" {
		target = "local"
	}
	cfg := rest.CopyConfig(e.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: tok.Spec.UserID,
		Groups:   []string{"system:authenticated"},
		Extra:    map[string][]string{ProxiedClusterExtra: {target}},
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		writeError(sw, apierrors.NewInternalError(err))
		return
	}
	apiserver, err := url.Parse(cfg.Host)
	if err != nil {
		writeError(sw, apierrors.NewInternalError(err))
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(apiserver)
			pr.Out.URL.Path, pr.Out.URL.RawPath = strings.TrimSuffix(apiserver.Path, "/")+path, ""
			// The caller's credential ends here; the proxy's own and
			// the impersonation headers replace it.
			pr.Out.Header.Del("Authorization")
			for h := range pr.Out.Header {
				if strings.HasPrefix(strings.ToLower(h), "impersonate-") {
					pr.Out.Header.Del(h)
				}
			}
		},
		Transport:     rt,
		FlushInterval: -1,
	}
	p.ServeHTTP(sw, r)
}

func unauthorized(msg string) error { return apierrors.NewUnauthorized(msg) }

// authenticateBearer finds the ext token of "Bearer ext/<name>:<value>"
// and checks it as Rancher's authenticator does.
func (e *Emulator) authenticateBearer(ctx context.Context, header string) (*Token, error) {
	bearer, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return nil, unauthorized("must authenticate")
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(bearer), "ext/")
	if !ok {
		return nil, unauthorized("the emulator's cluster proxy accepts only ext tokens (ext/<name>:<value>)")
	}
	name, value, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, unauthorized("invalid token")
	}
	tok, err := e.getToken(ctx, name)
	if err != nil {
		return nil, unauthorized("invalid token")
	}
	if !hashMatches(tok.Status.Hash, value) {
		return nil, unauthorized("invalid token")
	}
	switch {
	case !tok.enabled():
		return nil, unauthorized("token is disabled")
	case tok.Status.Expired:
		return nil, unauthorized("token is expired")
	}
	user, err := e.rancherUser(ctx, tok.Spec.UserID)
	if err != nil || user == nil {
		return nil, unauthorized("invalid token")
	}
	if enabled, found, _ := unstructured.NestedBool(user.Object, "enabled"); found && !enabled {
		return nil, unauthorized("user is disabled")
	}
	return tok, nil
}

// mayProxy: Rancher itself (cluster "") takes any unscoped token; a
// cluster must exist, a cluster-scoped token be for it, and the token's
// user may get it.
func (e *Emulator) mayProxy(ctx context.Context, tok *Token, cluster string) error {
	if tok.Spec.ClusterName != "" && tok.Spec.ClusterName != cluster {
		return unauthorized(fmt.Sprintf("token is not valid for cluster %s", cluster))
	}
	if cluster == "" {
		return nil
	}
	if _, err := e.dyn.Resource(ClustersGVR).Get(ctx, cluster, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(ClustersGVR.GroupResource(), cluster)
		}
		return apierrors.NewInternalError(err)
	}
	c := &caller{Name: tok.Spec.UserID, Groups: []string{"system:authenticated"}}
	ok, err := e.allowed(ctx, c, authorizationv1.ResourceAttributes{Verb: "get", Group: MgmtGroup, Resource: "clusters", Name: cluster})
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if !ok {
		return apierrors.NewForbidden(ClustersGVR.GroupResource(), cluster, fmt.Errorf("user %s may not access cluster %s", tok.Spec.UserID, cluster))
	}
	return nil
}

// touchLastUsed records the token's use, as Rancher does (best effort).
func (e *Emulator) touchLastUsed(ctx context.Context, name string) {
	s, err := e.secret(ctx, name)
	if err != nil {
		return
	}
	s.Data[keyLastUsedAt] = []byte(e.now().UTC().Format(time.RFC3339))
	_, _ = e.core.Secrets(TokenNamespace).Update(ctx, s, metav1.UpdateOptions{})
}

// hashMatches checks a value against a §2 hash ($3:1:<salt>:<sha3-512>).
func hashMatches(hash, value string) bool {
	parts := strings.Split(hash, ":")
	if len(parts) != 4 || parts[0] != "$3" || parts[1] != "1" {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err := errors.Join(err1, err2); err != nil {
		return false
	}
	sum := sha3.Sum512(append(salt, value...))
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}
