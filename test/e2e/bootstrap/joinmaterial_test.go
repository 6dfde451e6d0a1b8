//go:build e2e

package bootstrap

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// create --print-join-command -o json is kubeadm's own join command as an
// argv, with the pins; create --reuse then hands out that same token
// instead of creating another.
func TestJoinMaterialIsKubeadmsCommandAndReuseHandsItOut(t *testing.T) {
	_, unique, _ := newToken(t) // only for a description no other token has
	desc := "e2e join material " + unique
	r := mustOK(t, bs("create", "--print-join-command", "-o", "json", "--description", desc), "create --print-join-command -o json")
	var m struct {
		Kind, Flavor, Endpoint, Token string
		CACertHashes                  []string
		Command                       []string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	id, _, _ := strings.Cut(m.Token, ".")
	t.Cleanup(func() { deleteSecret(id) })
	if _, found := getSecret(t, id); !found || m.Kind != "JoinMaterial" || m.Flavor != "kubeadm" {
		t.Fatalf("join material %+v", m)
	}

	k := mustOK(t, kadm("token", "create", "--print-join-command"), "kubeadm token create --print-join-command")
	kargv := shelltest.Argv(t, "", k.Stdout, "kubeadm")
	kid, _, _ := strings.Cut(flagValue(kargv, "--token"), ".")
	t.Cleanup(func() { deleteSecret(kid) })
	// kubeadm's argv with our token, less the trailing "/" of its endpoint.
	want := slices.Clone(kargv)
	want[2] = strings.TrimSuffix(want[2], "/")
	want[slices.Index(want, "--token")+1] = m.Token
	if !slices.Equal(m.Command, want) || m.Endpoint != want[2] || !slices.Equal(m.CACertHashes, flagValues(kargv, "--discovery-token-ca-cert-hash")) {
		t.Errorf("join material %+v\nkubeadm's argv %q", m, kargv)
	}

	before := tokenSecretNames(t)
	// It was created for 24h moments ago: it lives at least 23h more.
	reuse := mustOK(t, bs("create", "--reuse", "--ttl", "23h", "--description", desc), "create --reuse --ttl 23h")
	if strings.TrimSpace(reuse.Stdout) != m.Token || !strings.Contains(reuse.Stderr, `bootstrap token "`+id+`" reused`) {
		t.Errorf("--reuse: %s", reuse)
	}
	if after := tokenSecretNames(t); len(after) != len(before) {
		t.Errorf("--reuse created a token: %d -> %d Secrets", len(before), len(after))
	}
}
