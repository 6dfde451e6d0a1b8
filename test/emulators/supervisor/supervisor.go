// Package supervisor emulates the part of a k3s or rke2 server's
// supervisor API that server-token rotation uses, written from
// docs/bootstrap-tokens.md §9 (not from the client): GET /cacerts
// (unauthenticated, the server CA verbatim), GET /ping, and
// PUT /v1-<program>/token with its passwd store, role check, responses and
// effects on the server's own state.
package supervisor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Request is what the emulator saw of one token request, for tests that
// assert the wire.
type Request struct {
	Method, Path, Authorization, ContentType string
	Body                                     []byte
	ServerName                               string // TLS SNI
}

// entry is one passwd line: password and role group.
type entry struct {
	password, group string
}

// Supervisor is one server's supervisor state.
type Supervisor struct {
	Program string // "k3s" or "rke2"
	CAPEM   []byte // served at /cacerts verbatim

	mu         sync.Mutex
	passwd     map[string]entry
	agentToken bool   // a separate agent token is configured
	tokenFile  string // <data-dir>/server/token
	requests   []Request
	// FailNext makes the next authorised rotation fail as the server
	// does on an internal error (500 with an error ID).
	FailNext bool
}

// New is a supervisor whose server token is serverToken; nodeToken is the
// agents' "node" password (equal to serverToken when no separate agent
// token is configured).
func New(program string, caPEM []byte, serverToken, nodeToken string) *Supervisor {
	s := &Supervisor{
		Program: program,
		CAPEM:   caPEM,
		passwd: map[string]entry{
			"server": {serverToken, program + ":server"},
			"node":   {nodeToken, program + ":agent"},
		},
		agentToken: nodeToken != serverToken,
	}
	s.tokenFile = s.fullToken(serverToken)
	return s
}

// fullToken is the K10 form written to <data-dir>/server/token: the CA
// hash (sha256 of the one CA certificate's PEM bytes) and server:<pw>.
func (s *Supervisor) fullToken(password string) string {
	sum := sha256.Sum256(s.CAPEM)
	return "K10" + hex.EncodeToString(sum[:]) + "::server:" + password
}

// Password is the current password of a passwd user.
func (s *Supervisor) Password(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passwd[user].password
}

// TokenFile is the content of <data-dir>/server/token.
func (s *Supervisor) TokenFile() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFile
}

// Requests are the token requests seen, in order.
func (s *Supervisor) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Handler serves the supervisor routes.
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/cacerts", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(s.CAPEM)
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("pong"))
	})
	mux.HandleFunc("/v1-"+s.Program+"/token", s.token)
	return mux
}

func (s *Supervisor) token(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body}
	if r.TLS != nil {
		req.ServerName = r.TLS.ServerName
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)

	// The route's authorisation comes first: only the server role.
	user, password, ok := r.BasicAuth()
	if !ok {
		status(w, http.StatusForbidden, "forbidden")
		return
	}
	e, known := s.passwd[user]
	if !known || e.password != password {
		status(w, http.StatusUnauthorized, "not authorized")
		return
	}
	if e.group != s.Program+":server" {
		status(w, http.StatusForbidden, "forbidden")
		return
	}
	if r.Method != http.MethodPut {
		status(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var in struct {
		NewToken *string `json:"newToken"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.NewToken == nil {
		status(w, http.StatusBadRequest, "bad request")
		return
	}
	if s.FailNext {
		s.FailNext = false
		id, _ := rand.Int(rand.Reader, big.NewInt(100000))
		status(w, http.StatusInternalServerError, fmt.Sprintf("token error ID %05d", id.Int64()))
		return
	}
	newToken := *in.NewToken
	if newToken == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		newToken = hex.EncodeToString(b)
	}
	old := s.passwd["server"].password
	s.passwd["server"] = entry{newToken, s.Program + ":server"}
	if node := s.passwd["node"]; !s.agentToken && node.password == old {
		s.passwd["node"] = entry{newToken, node.group}
	}
	s.tokenFile = s.fullToken(newToken)
	w.WriteHeader(http.StatusOK)
}

func status(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Code: int32(code),
		Reason: metav1.StatusReason(http.StatusText(code)),
	})
}
