package rancher

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

const importPrefix = "/v3/import/"

var (
	tokenPart   = regexp.MustCompile(`^[a-z0-9]+$`)
	clusterPart = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// serveHTTP routes Rancher's unauthenticated HTTPS paths the import uses.
func (im *Importer) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	rec := ImportRequest{Method: r.Method, Path: redactImportPath(r.URL.Path)}
	defer func() {
		rec.Code = w.code
		im.mu.Lock()
		im.requests = append(im.requests, rec)
		im.mu.Unlock()
	}()
	switch {
	case strings.HasPrefix(r.URL.Path, importPrefix) && r.Method == http.MethodGet:
		im.serveImport(w, r)
	case r.URL.Path == webhookPath && r.Method == http.MethodPost:
		im.serveWebhook(w, r)
	case r.URL.Path == "/v3/connect" && r.Method == http.MethodGet:
		im.serveTunnel(w, r)
	default:
		http.NotFound(w, r)
	}
}

// redactImportPath cuts the token out of /v3/import/<token>_<id>.yaml:
// the URL is a credential, and Rancher redacts it in its audit log too.
func redactImportPath(p string) string {
	file, ok := strings.CutPrefix(p, importPrefix)
	if !ok {
		return p
	}
	if _, id, found := strings.Cut(file, "_"); found {
		return importPrefix + "<redacted>_" + id
	}
	return importPrefix + "<redacted>"
}

// serveImport renders the manifest of /v3/import/<token>_<id>.yaml. A
// name without "_" or ".yaml" does not match Rancher's route (404); a
// token or ID of the wrong shape is an invalid filename (400); an unknown
// cluster, or from 2.12.12 a token that is not the cluster's (its current
// one, or on 2.15 the previous one within the grace period), is 400
// cluster not found or invalid token. 2.12.11 renders any token.
func (im *Importer) serveImport(w http.ResponseWriter, r *http.Request) {
	im.mu.Lock()
	answer := im.answer
	im.mu.Unlock()
	if answer != 0 {
		http.Error(w, http.StatusText(answer), answer)
		return
	}
	file := strings.TrimPrefix(r.URL.Path, importPrefix)
	base, isYAML := strings.CutSuffix(file, ".yaml")
	token, id, found := strings.Cut(base, "_")
	if !isYAML || !found || strings.Contains(file, "/") {
		http.NotFound(w, r)
		return
	}
	if !tokenPart.MatchString(token) || !clusterPart.MatchString(id) {
		http.Error(w, "invalid filename", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if _, err := im.dyn.Resource(ClustersGVR).Get(ctx, id, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			http.Error(w, invalidTokenAnswer, http.StatusBadRequest)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if im.opts.BeforeImport != nil {
		im.opts.BeforeImport(id)
	}
	if im.opts.Release.checksImportToken() {
		t, found, err := im.readTokens(ctx, id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if !found || !t.valid(token, im.now()) {
			http.Error(w, invalidTokenAnswer, http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(im.manifest(token))
}

// serveTunnel is the agent's connection: the token in
// X-API-Tunnel-Token names the cluster. A token no cluster accepts is
// 401. An accepted one holds the connection open (the tunnel): the
// management cluster turns AgentDeployed, then Ready after Delay, and
// when the connection ends, Ready=False (Disconnected) unless a newer
// tunnel of that cluster took over.
func (im *Importer) serveTunnel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := im.clusterOfToken(ctx, r.Header.Get(TunnelTokenHeader))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if id == "" {
		http.Error(w, "cluster not found or invalid token", http.StatusUnauthorized)
		return
	}
	im.mu.Lock()
	im.session++
	session := im.session
	im.sessions[id] = session
	im.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, "connected %s\n", id)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	im.logf("agent of %s connected", id)
	bg := context.Background()
	if err := im.setConditions(bg, id, "AgentDeployed", "True", ""); err != nil {
		im.logf("marking %s AgentDeployed: %v", id, err)
	}
	if sleepCtx(ctx, im.opts.Delay) {
		if err := im.setConditions(bg, id, "Ready", "True", ""); err != nil {
			im.logf("marking %s Ready: %v", id, err)
		}
	}
	<-ctx.Done()
	im.mu.Lock()
	current := im.sessions[id] == session
	if current {
		delete(im.sessions, id)
	}
	im.mu.Unlock()
	if current {
		im.logf("agent of %s disconnected", id)
		_ = im.setConditions(bg, id, "Ready", "False", "Disconnected")
	}
}

// setConditions sets one condition of the management cluster and mirrors
// agentDeployed/ready into the provisioning cluster's status.
func (im *Importer) setConditions(ctx context.Context, id, typ, status, reason string) error {
	clusters := im.dyn.Resource(ClustersGVR)
	u, err := clusters.Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	now := time.Now().UTC().Format(time.RFC3339)
	cond := map[string]any{"type": typ, "status": status, "lastUpdateTime": now, "reason": reason}
	replaced := false
	for i, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ {
			conds[i], replaced = cond, true
		}
	}
	if !replaced {
		conds = append(conds, cond)
	}
	if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
		return err
	}
	if _, err := clusters.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		return err
	}
	field := map[string]string{"AgentDeployed": "agentDeployed", "Ready": "ready"}[typ]
	ws, _, _ := unstructured.NestedString(u.Object, "spec", "fleetWorkspaceName")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "displayName")
	patch := fmt.Sprintf(`{"status":{%q:%t}}`, field, status == "True")
	_, err = im.dyn.Resource(ProvisioningClustersGVR).Namespace(ws).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
}
