package rancher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	apiPrefix  = "/apis/" + Group + "/" + APIVersion
	maxBodyLen = 3 << 20
)

// statusWriter remembers the response code for the request log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP routes the aggregated API's paths.
func (e *Emulator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	rec := Request{Method: r.Method, Path: r.URL.Path, LabelSelector: r.URL.Query().Get("labelSelector"), FieldSelector: r.URL.Query().Get("fieldSelector")}
	defer func() {
		rec.Code = w.code
		e.record(rec)
	}()
	switch r.URL.Path {
	case "/healthz", "/livez", "/readyz":
		_, _ = io.WriteString(w, "ok")
		return
	}
	c, err := e.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	rec.User, rec.Groups, rec.Extra = c.Name, c.Groups, c.Extra
	ctx := r.Context()

	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/apis":
		// No aggregated discovery: kube-apiserver falls back to the
		// group-version document below, as for older servers.
		writeError(w, notFoundPath())
		return
	case "/apis/" + Group:
		e.serveGroup(w)
		return
	case apiPrefix:
		rec.Verb = "discovery"
		e.serveResources(w)
		if c.Name == "system:kube-aggregator" && !contains(c.Groups, "system:masters") {
			// The discovery manager's fetch (the availability probe
			// carries system:masters).
			e.markDiscovered()
		}
		return
	}
	rest, ok := strings.CutPrefix(path, apiPrefix+"/")
	if !ok {
		writeError(w, notFoundPath())
		return
	}
	watchPath := false
	if after, ok := strings.CutPrefix(rest, "watch/"); ok {
		watchPath, rest = true, after
	}
	parts := strings.Split(rest, "/")
	if parts[0] == KubeconfigResource && len(parts) <= 2 && !isWatch(watchPath, r) {
		e.serveKubeconfigs(w, r, c, strings.Join(parts[1:], ""), &rec)
		return
	}
	if parts[0] != Resource || len(parts) > 2 {
		writeError(w, notFoundPath())
		return
	}
	name := ""
	if len(parts) == 2 {
		name = parts[1]
	}
	q := r.URL.Query()
	isWatch := watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"

	switch {
	case r.Method == http.MethodGet && isWatch:
		rec.Verb = "watch"
		e.watch(ctx, w, r, c, name)
	case r.Method == http.MethodGet && name != "":
		rec.Verb = "get"
		e.serveGet(ctx, w, r, c, name)
	case r.Method == http.MethodGet:
		rec.Verb = "list"
		e.serveList(ctx, w, r, c)
	case r.Method == http.MethodPost && name == "":
		rec.Verb = "create"
		e.serveCreate(ctx, w, r, c)
	case r.Method == http.MethodPut && name != "":
		rec.Verb = "update"
		e.serveUpdate(ctx, w, r, c, name)
	case r.Method == http.MethodPatch && name != "":
		rec.Verb = "patch"
		e.servePatch(ctx, w, r, c, name)
	case r.Method == http.MethodDelete && name != "":
		rec.Verb = "delete"
		e.serveDelete(ctx, w, r, c, name)
	case r.Method == http.MethodDelete && e.Version().deleteCollection():
		rec.Verb = "deletecollection"
		e.serveDeleteCollection(ctx, w, r, c)
	default:
		writeError(w, apierrors.NewMethodNotSupported(GroupResource, strings.ToLower(r.Method)))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func notFoundPath() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
	}}
}

func (e *Emulator) serveGroup(w http.ResponseWriter) {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: GroupVersion.String(), Version: APIVersion}
	g := metav1.APIGroup{Name: Group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
	g.APIVersion, g.Kind = "v1", "APIGroup"
	writeJSON(w, http.StatusOK, "application/json", g)
}

func (e *Emulator) serveResources(w http.ResponseWriter) {
	verbs := metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	if !e.Version().deleteCollection() {
		verbs = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}
	}
	l := metav1.APIResourceList{
		GroupVersion: GroupVersion.String(),
		APIResources: []metav1.APIResource{{
			Name: Resource, SingularName: Singular, Namespaced: false, Kind: Kind, Verbs: verbs,
		}, kubeconfigAPIResource},
	}
	l.APIVersion, l.Kind = "v1", "APIResourceList"
	writeJSON(w, http.StatusOK, "application/json", l)
}

func writeJSON(w http.ResponseWriter, code int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers with a metav1.Status, as every Kubernetes API does.
func writeError(w http.ResponseWriter, err error) {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		st = apierrors.NewInternalError(err)
	}
	s := st.Status()
	s.APIVersion, s.Kind = "v1", "Status"
	if s.Status == "" {
		s.Status = metav1.StatusFailure
	}
	code := int(s.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, "application/json", s)
}

// respond writes a token or token list as JSON, or as a Table when the
// request asked for one.
func (e *Emulator) respond(w http.ResponseWriter, r *http.Request, code int, obj any) {
	if wantsTable(r) {
		var tokens []Token
		var lm metav1.ListMeta
		switch o := obj.(type) {
		case *Token:
			tokens = []Token{*o}
		case *TokenList:
			tokens, lm = o.Items, o.ListMeta
		}
		t, err := tokenTable(tokens, lm, r.URL.Query().Get("includeObject"), e.now(), true)
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		writeJSON(w, code, tableContentType, t)
		return
	}
	writeJSON(w, code, "application/json", obj)
}

// readBody decodes a JSON or YAML request body into v.
func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyLen))
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/yaml" {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return apierrors.NewBadRequest(err.Error())
		}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return apierrors.NewBadRequest("the request body is empty")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the body of the request was in an unknown format: %v", err))
	}
	return nil
}

func decodeToken(r *http.Request) (*Token, error) {
	t := &Token{}
	if err := readBody(r, t); err != nil {
		return nil, err
	}
	if t.Kind != "" && t.Kind != Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected kind %s, got %s", Kind, t.Kind))
	}
	if t.APIVersion != "" && t.APIVersion != GroupVersion.String() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected apiVersion %s, got %s", GroupVersion, t.APIVersion))
	}
	return t, nil
}

func dryRunAll(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == metav1.DryRunAll {
			return true
		}
	}
	return false
}

// withoutSecrets applies what get/list/watch/update return: never the
// value, and the hash only up to v2.15.0.
func (e *Emulator) withoutSecrets(t *Token, requestToken string) {
	t.Status.Value, t.Status.BearerToken = "", ""
	if !e.Version().returnsHash() {
		t.Status.Hash = ""
	}
	t.Status.Current = t.Name == requestToken
}
