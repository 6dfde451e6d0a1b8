package exttoken

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func TestLegacyKind(t *testing.T) {
	cases := []struct {
		name, label string
		derived     bool
		want        string
	}{
		{"kubectl-shell-u-abc", "", true, "kubectl-shell"},
		{"agent-u-abc", "", true, "agent"},
		{"compose-token-xyz", "", true, "compose-token"},
		{"helm-token-xyz", "", true, "helm-token"},
		{"telemetry-u-1", "", true, "telemetry"},
		{"drain-node-c-1", "", true, "drain-node"},
		{"kubeconfig-u-1", "", true, "kubeconfig"},
		{"token-abcde", "", false, "session"},
		{"token-abcde", "", true, "derived"},
		{"agent-u-abc", "compose", true, "compose"}, // the label wins
		{"agentless", "", true, "derived"},
	}
	for _, c := range cases {
		if got := legacyKind(c.name, c.label, c.derived); got != c.want {
			t.Errorf("legacyKind(%q, %q, %v) = %q, want %q", c.name, c.label, c.derived, got, c.want)
		}
	}
}

func TestLegacyStripsSecrets(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata":     map[string]any{"name": "agent-u-1", "creationTimestamp": "2020-01-01T00:00:00Z"},
		"token":        "plaintext-secret",
		"providerInfo": map[string]any{"access_token": "oidc-secret"},
		"ttl":          int64(0),
		"userId":       "u-1",
		"isDerived":    true,
	}}
	scrubLegacy(u)
	lt := legacyFrom(u)
	var b bytes.Buffer
	_ = unstructured.UnstructuredJSONScheme.Encode(u, &b)
	if strings.Contains(b.String(), "secret") {
		t.Errorf("secrets left in %s", b.String())
	}
	now := time.Now()
	if !lt.never() || lt.expired(now) || lt.Kind != "agent" || lt.User != "u-1" {
		t.Errorf("legacy token %+v", lt)
	}
	f := clitest.NewFactory(clitest.Options{})
	prod := "prod"
	f.ConfigFlags.Context = &prod
	out := neverSummary([]legacyToken{lt, lt, {Name: "x", TTL: 5, Kind: "derived"}}, f)
	if !strings.Contains(out, "Never-expiring tokens (ttl 0): 2") || !strings.Contains(out, "agent            2") || !strings.Contains(out, "--dry-run --context=prod") {
		t.Errorf("summary:\n%s", out)
	}
}
