// Package virtualclusters is a bench-only HTTPS server standing in for
// many downstream Kubernetes clusters at once: each virtual cluster is a
// URL path prefix (https://127.0.0.1:PORT/clusters/N), so a kubeconfig
// can name a thousand of them with one listener. It answers only the few
// requests enroll --mode manager sends downstream (pkg/fleet/managed.go
// and downstreamcred.go: the kube-system namespace, SelfSubjectAccess
// Reviews, the ServiceAccount, its ClusterRoleBinding and a TokenRequest)
// the way kube-apiserver does: JSON objects, 201 on create, a Status with
// reason AlreadyExists (409) or NotFound (404), 401 without the cluster's
// bearer token. Anything else is a 404 and counted as unexpected, so a
// bench sees when the plugin starts sending something new.
package virtualclusters

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// Server is n virtual clusters behind one TLS listener.
type Server struct {
	// URL is the listener's base URL; ClusterURL(i) is cluster i's server.
	URL string
	// CAPEM is the self-signed CA the serving certificate chains to.
	CAPEM []byte

	srv      *httptest.Server
	clusters []*cluster
	seed     string

	mu       sync.Mutex
	requests map[string]int // "VERB route" → count, across clusters
}

// cluster is one virtual cluster's state: what enroll created there.
type cluster struct {
	mu      sync.Mutex
	uid     string
	objects map[string]map[string]any // "serviceaccounts/NAME", "clusterrolebindings/NAME"
	tokens  int
}

// Start serves n virtual clusters on 127.0.0.1 until Close.
func Start(n int) (*Server, error) {
	if n < 1 {
		return nil, fmt.Errorf("virtualclusters: %d clusters: want at least 1", n)
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	var seed [4]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	s := &Server{CAPEM: caPEM, requests: map[string]int{}, seed: fmt.Sprintf("%x", seed)}
	s.clusters = make([]*cluster, n)
	s.Reset()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// kube-apiserver speaks HTTP/2, and client-go uses it when offered.
	s.srv.EnableHTTP2 = true
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the listener.
func (s *Server) Close() { s.srv.Close() }

// N is how many virtual clusters there are.
func (s *Server) N() int { return len(s.clusters) }

// Reset forgets what was created in every cluster and gives each a new
// kube-system UID, as if the clusters were new.
func (s *Server) Reset() {
	var gen [4]byte
	_, _ = rand.Read(gen[:])
	for i := range s.clusters {
		s.clusters[i] = &cluster{uid: fmt.Sprintf("%s-%x-4000-8000-%012d", s.seed, gen[:2], i), objects: map[string]map[string]any{}}
	}
	s.mu.Lock()
	s.requests = map[string]int{}
	s.mu.Unlock()
}

// ClusterURL is cluster i's API server URL.
func (s *Server) ClusterURL(i int) string { return fmt.Sprintf("%s/clusters/%d", s.URL, i) }

// Token is the bearer token cluster i accepts.
func Token(i int) string { return fmt.Sprintf("virtual-cluster-%d-admin", i) }

// UID is cluster i's kube-system UID.
func (s *Server) UID(i int) string { return s.clusters[i].uid }

// Has tells whether cluster i holds the object "resource/name"
// (serviceaccounts in kube-system, clusterrolebindings).
func (s *Server) Has(i int, key string) bool {
	c := s.clusters[i]
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.objects[key]
	return ok
}

// TokensIssued is how many TokenRequests cluster i answered.
func (s *Server) TokensIssued(i int) int {
	c := s.clusters[i]
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// Requests are the requests served since Start or Reset, by "VERB
// route" (route is the path with the cluster prefix and names replaced),
// sorted, e.g. "POST /api/v1/namespaces/kube-system/serviceaccounts 1000".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.requests))
	for k, v := range s.requests {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(out)
	return out
}

// Unexpected is how many requests got the catch-all 404.
func (s *Server) Unexpected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.requests {
		if strings.HasPrefix(k, "unexpected ") {
			n += v
		}
	}
	return n
}

func (s *Server) count(key string) {
	s.mu.Lock()
	s.requests[key]++
	s.mu.Unlock()
}

const (
	saPrefix  = "/api/v1/namespaces/kube-system/serviceaccounts"
	crbPrefix = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
	ssarPath  = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	nsPath    = "/api/v1/namespaces/kube-system"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/clusters/")
	idx, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	i, err := strconv.Atoi(idx)
	if !ok || err != nil || i < 0 || i >= len(s.clusters) {
		s.count("unexpected " + r.Method + " " + r.URL.Path)
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token(i) {
		s.count("unauthorized " + r.Method + " " + path)
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil)
		return
	}
	c := s.clusters[i]
	switch {
	case r.Method == http.MethodGet && path == "/version":
		s.count("GET /version")
		writeJSON(w, http.StatusOK, map[string]any{"major": "1", "minor": "36", "gitVersion": "v1.36.0-virtual", "platform": "linux/amd64"})
	case r.Method == http.MethodGet && path == nsPath:
		s.count("GET " + nsPath)
		writeJSON(w, http.StatusOK, map[string]any{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": "kube-system", "uid": c.uid, "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z"},
			"spec":     map[string]any{"finalizers": []string{"kubernetes"}}, "status": map[string]any{"phase": "Active"},
		})
	case r.Method == http.MethodPost && path == ssarPath:
		s.count("POST " + ssarPath)
		obj, ok := readObject(w, r)
		if !ok {
			return
		}
		// The virtual clusters' users are cluster-admin.
		obj["status"] = map[string]any{"allowed": true, "reason": "virtual cluster: every request is allowed"}
		writeJSON(w, http.StatusCreated, obj)
	case path == saPrefix && r.Method == http.MethodPost:
		s.count("POST " + saPrefix)
		s.create(w, r, c, "ServiceAccount", "serviceaccounts", "kube-system")
	case path == crbPrefix && r.Method == http.MethodPost:
		s.count("POST " + crbPrefix)
		s.create(w, r, c, "ClusterRoleBinding", "clusterrolebindings", "")
	case strings.HasPrefix(path, saPrefix+"/") && strings.HasSuffix(path, "/token") && r.Method == http.MethodPost:
		s.count("POST " + saPrefix + "/NAME/token")
		s.tokenRequest(w, r, c, strings.TrimSuffix(strings.TrimPrefix(path, saPrefix+"/"), "/token"))
	case strings.HasPrefix(path, saPrefix+"/") && r.Method == http.MethodGet:
		s.count("GET " + saPrefix + "/NAME")
		s.get(w, c, "serviceaccounts", strings.TrimPrefix(path, saPrefix+"/"))
	case strings.HasPrefix(path, crbPrefix+"/") && r.Method == http.MethodGet:
		s.count("GET " + crbPrefix + "/NAME")
		s.get(w, c, "clusterrolebindings", strings.TrimPrefix(path, crbPrefix+"/"))
	default:
		s.count("unexpected " + r.Method + " " + path)
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
}

// create stores a posted object, or answers 409 as kube-apiserver does.
func (s *Server) create(w http.ResponseWriter, r *http.Request, c *cluster, kind, resource, namespace string) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		writeStatus(w, http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("%s \"\" is invalid: metadata.name: Required value: name or generateName is required", kind), nil)
		return
	}
	key := resource + "/" + name
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.objects[key]; exists {
		writeStatus(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", resource, name), map[string]any{"name": name, "kind": resource})
		return
	}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	meta["uid"] = fmt.Sprintf("%s-%s", c.uid, name)
	meta["resourceVersion"] = "2"
	meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	c.objects[key] = obj
	writeJSON(w, http.StatusCreated, obj)
}

func (s *Server) get(w http.ResponseWriter, c *cluster, resource, name string) {
	c.mu.Lock()
	obj, ok := c.objects[resource+"/"+name]
	c.mu.Unlock()
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", resource, name), map[string]any{"name": name, "kind": resource})
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// tokenRequest issues a token for an existing ServiceAccount, living
// what was asked (at least 10 minutes, as kube-apiserver requires).
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request, c *cluster, sa string) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	c.mu.Lock()
	_, exists := c.objects["serviceaccounts/"+sa]
	c.mu.Unlock()
	if !exists {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("serviceaccounts %q not found", sa), map[string]any{"name": sa, "kind": "serviceaccounts"})
		return
	}
	spec, _ := obj["spec"].(map[string]any)
	secs := int64(3600)
	switch v := spec["expirationSeconds"].(type) {
	case float64: // from JSON
		secs = int64(v)
	case int64: // from protobuf
		secs = v
	}
	if secs < 600 {
		writeStatus(w, http.StatusUnprocessableEntity, "Invalid", "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: "+strconv.FormatInt(secs, 10)+": may not specify a duration less than 10 minutes", nil)
		return
	}
	c.mu.Lock()
	c.tokens++
	n := c.tokens
	c.mu.Unlock()
	obj["status"] = map[string]any{
		"token":               fmt.Sprintf("virtual.%s.%s.%d", c.uid, sa, n),
		"expirationTimestamp": time.Now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339),
	}
	writeJSON(w, http.StatusCreated, obj)
}

// readObject decodes a request body as kube-apiserver does: JSON, or
// protobuf (the plugin's core/v1 client sends protobuf) through the
// client-go scheme, into a JSON-shaped map.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
		return nil, false
	}
	var obj map[string]any
	if strings.HasPrefix(r.Header.Get("Content-Type"), runtime.ContentTypeProtobuf) {
		typed, gvk, derr := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
		if derr == nil {
			obj, err = runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
			if obj != nil {
				obj["apiVersion"], obj["kind"] = gvk.GroupVersion().String(), gvk.Kind
			}
		}
		if derr != nil || err != nil {
			obj = nil
		}
	} else if err := json.Unmarshal(body, &obj); err != nil {
		obj = nil
	}
	if obj == nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "the body of the request was in an unknown format", nil)
		return nil, false
	}
	if _, ok := obj["metadata"].(map[string]any); !ok {
		obj["metadata"] = map[string]any{}
	}
	return obj, true
}

func writeStatus(w http.ResponseWriter, code int, reason, message string, details map[string]any) {
	st := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure", "message": message, "reason": reason, "code": code}
	if details != nil {
		st["details"] = details
	}
	writeJSON(w, code, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// selfSigned makes a CA and a serving certificate for 127.0.0.1 signed
// by it.
func selfSigned() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "virtual-clusters-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "virtual-clusters"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
