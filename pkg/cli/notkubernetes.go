package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// notKubernetes explains a "resource not served" answer that came from a
// server that is no Kubernetes API server at all (a web server, a proxy
// path): every API looks missing there, and "install Fleet" would send
// the user the wrong way. Asked only after such an answer: one GET of
// /version, which every Kubernetes API server serves to anyone. It returns
// "" when the server is, or may be, a Kubernetes API server.
func notKubernetes(cfg *rest.Config, contextName string) string {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.TrimSuffix(cfg.Host, "/") + strings.TrimSuffix(cfg.APIPath, "/api") + "/version"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "" // a locked-down /version: may well be Kubernetes
	case resp.StatusCode == http.StatusOK && json.Unmarshal(body, &v) == nil && v.GitVersion != "":
		return ""
	}
	ctx2 := ""
	if contextName != "" {
		ctx2 = fmt.Sprintf(" (context %q)", contextName)
	}
	return fmt.Sprintf("%s%s is not a Kubernetes API server (GET /version answered %s): check --server/--context, or the kubeconfig's server URL (a path in it points at something else)", cfg.Host, ctx2, resp.Status)
}
