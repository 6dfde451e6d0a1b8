// Package rancher emulates Rancher's ext token API server
// (tokens.ext.cattle.io/v1) as an aggregated API server behind the real
// kube-apiserver, following docs/rancher-tokens.md §9: identity from the
// front proxy's X-Remote-* headers, tokens stored in Secrets of
// cattle-tokens, TTLs ingested from real settings.management.cattle.io
// objects, Rancher's exact error messages and its server-side Table.
//
// Rancher users are users.management.cattle.io objects (CRD in crds/).
// A request carries the Rancher token that authenticated it as the user
// extra "requesttokenid": tests give a Rancher user a kubeconfig whose
// credential impersonates that user with that extra (UserKubeconfig), and
// kube-apiserver forwards impersonated extras as X-Remote-Extra-*.
package rancher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/dynamic"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Options shape an emulator.
type Options struct {
	// Version selects release-specific behaviour; default Main.
	Version Version
	// ServiceNamespace and ServiceName name the ExternalName Service the
	// APIService points at; default cattle-system/imperative-api-extension
	// as in Rancher.
	ServiceNamespace, ServiceName string
	// NoRegister leaves the APIService out (Register can add it later).
	NoRegister bool
	// NoSeed skips creating the default settings, features, the local
	// cluster and the rancher-user ClusterRole.
	NoSeed bool
	// Log, when set, receives one line per request (never a body).
	Log io.Writer
	// Now overrides the clock (tests of expiry); default time.Now.
	Now func() time.Time
}

// Request is one request the emulator served, recorded without bodies so
// tests can check what a client sent (e.g. its label selectors).
type Request struct {
	User          string
	Groups        []string
	Extra         map[string][]string
	Method        string
	Path          string
	Verb          string
	LabelSelector string
	FieldSelector string
	Code          int
}

// Emulator is a running ext token API server.
type Emulator struct {
	// Port is the emulator's HTTPS port on 127.0.0.1.
	Port int

	opts    Options
	version atomic.Value // Version
	cfg     *rest.Config
	core    corev1client.CoreV1Interface
	authz   authorizationv1client.AuthorizationV1Interface
	dyn     dynamic.Interface
	fp      *testenv.FrontProxy
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
	proxy   *clusterProxy // Rancher's server-url: /k8s/clusters/<id>

	mu       sync.Mutex
	requests []Request
	// discovered is closed (and replaced on Register) once the
	// aggregator has fetched this group's discovery document.
	discovered chan struct{}
	discOnce   *sync.Once
}

// Start serves the ext token API on a random 127.0.0.1 port and, unless
// opts.NoRegister, registers APIService v1.ext.cattle.io and waits until
// kube-apiserver reports it Available and has read its discovery. cfg is
// an admin config of that apiserver; fp is its front proxy.
func Start(ctx context.Context, cfg *rest.Config, fp *testenv.FrontProxy, opts Options) (*Emulator, error) {
	if fp == nil {
		return nil, errors.New("rancher emulator: the control plane needs FrontProxy: true")
	}
	if opts.Version == "" {
		opts.Version = Main
	}
	if _, err := ParseVersion(string(opts.Version)); err != nil {
		return nil, err
	}
	if opts.ServiceNamespace == "" {
		opts.ServiceNamespace = "cattle-system"
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "imperative-api-extension"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Emulator{opts: opts, cfg: rest.CopyConfig(cfg), fp: fp, done: make(chan struct{})}
	// A server, not a client: a prune of 20,000 tokens must not queue
	// behind client-go's default of 5 requests per second.
	e.cfg.QPS, e.cfg.Burst = 5000, 5000
	e.version.Store(opts.Version)
	var err error
	if e.core, err = corev1client.NewForConfig(e.cfg); err != nil {
		return nil, err
	}
	if e.authz, err = authorizationv1client.NewForConfig(e.cfg); err != nil {
		return nil, err
	}
	if e.dyn, err = dynamic.NewForConfig(e.cfg); err != nil {
		return nil, err
	}
	e.resetDiscovered()

	certPEM, keyPEM, err := testenv.ServingCert()
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(fp.CAPEM) {
		return nil, errors.New("rancher emulator: front-proxy CA PEM holds no certificate")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.ln = ln
	e.Port = ln.Addr().(*net.TCPAddr).Port
	if err := e.startClusterProxy(cert, certPEM); err != nil {
		_ = ln.Close()
		return nil, err
	}
	e.srv = &http.Server{
		Handler: e,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			// Requests without a front-proxy certificate are answered
			// 401 by the handler rather than failing the handshake, so a
			// misconfiguration shows up as a readable status.
			ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs:  pool,
			MinVersion: tls.VersionTLS12,
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go func() {
		defer close(e.done)
		_ = e.srv.ServeTLS(ln, "", "")
	}()

	if !opts.NoSeed {
		if err := Seed(ctx, e.cfg, opts.Version); err != nil {
			e.shutdown()
			return nil, fmt.Errorf("rancher emulator: seeding defaults: %w", err)
		}
	}
	if !opts.NoRegister {
		if err := e.Register(ctx); err != nil {
			e.shutdown()
			return nil, err
		}
	}
	return e, nil
}

// Version is the release being emulated.
func (e *Emulator) Version() Version { return e.version.Load().(Version) }

// SetVersion switches the emulated release at run time (discovery then
// changes for 2.12's missing deletecollection only after the aggregator
// refreshes; requests follow at once).
func (e *Emulator) SetVersion(v Version) { e.version.Store(v) }

// Requests returns the requests served so far.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}

// ResetRequests forgets the recorded requests.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	e.requests = nil
	e.mu.Unlock()
}

func (e *Emulator) record(r Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r)
	e.mu.Unlock()
	if e.opts.Log != nil {
		fmt.Fprintf(e.opts.Log, "%s %s %s user=%q selector=%q -> %d\n", time.Now().Format(time.RFC3339), r.Method, r.Path, r.User, r.LabelSelector, r.Code)
	}
}

func (e *Emulator) now() time.Time { return e.opts.Now() }

// Stop removes the APIService and Service and stops serving.
func (e *Emulator) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.Unregister(ctx)
	e.shutdown()
	return err
}

func (e *Emulator) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	_ = e.srv.Close()
	<-e.done
	e.stopClusterProxy()
}

func (e *Emulator) resetDiscovered() {
	e.mu.Lock()
	e.discovered = make(chan struct{})
	e.discOnce = new(sync.Once)
	e.mu.Unlock()
}

func (e *Emulator) markDiscovered() {
	e.mu.Lock()
	ch, once := e.discovered, e.discOnce
	e.mu.Unlock()
	once.Do(func() { close(ch) })
}

func (e *Emulator) discoveredChan() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.discovered
}
