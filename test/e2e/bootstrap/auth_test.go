//go:build e2e

package bootstrap

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

type whoami struct {
	Status struct {
		UserInfo struct {
			Username string   `json:"username"`
			Groups   []string `json:"groups"`
		} `json:"userInfo"`
	} `json:"status"`
}

func parseWhoami(t *testing.T, out string) whoami {
	t.Helper()
	var w whoami
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatalf("not a SelfSubjectReview: %v\n%s", err, out)
	}
	return w
}

// A token we create authenticates against the real apiserver as
// system:bootstrap:<id> in system:bootstrappers plus its extra groups:
// seen by the real kubectl (auth whoami with only the token) and by verify.
func TestCreatedTokenAuthenticates(t *testing.T) {
	tok, id, secret := newToken(t)
	mustOK(t, bs("create", tok, "--groups", "system:bootstrappers:e2e,system:bootstrappers:rack:7"), "create")
	wantGroups := []string{"system:bootstrappers", "system:bootstrappers:e2e", "system:bootstrappers:rack:7", "system:authenticated"}

	real := mustOK(t, runner.Kubectl("auth", "whoami", "-o", "json", "--kubeconfig", tokenOnlyKubeconfig(t, tok)), "kubectl auth whoami")
	w := parseWhoami(t, real.Stdout)
	if w.Status.UserInfo.Username != "system:bootstrap:"+id || !sameSet(w.Status.UserInfo.Groups, wantGroups) {
		t.Errorf("kubectl auth whoami: %+v, want system:bootstrap:%s in %v", w.Status.UserInfo, id, wantGroups)
	}

	v := mustOK(t, bs("verify", tok, "-o", "json"), "verify -o json")
	vw := parseWhoami(t, v.Stdout)
	if vw.Status.UserInfo.Username != w.Status.UserInfo.Username || !sameSet(vw.Status.UserInfo.Groups, w.Status.UserInfo.Groups) {
		t.Errorf("verify sees %+v, kubectl %+v", vw.Status.UserInfo, w.Status.UserInfo)
	}
	text := mustOK(t, bsIn(tok+"\n", "verify", "-"), "verify - (stdin)")
	if !strings.Contains(text.Stdout, "Username:  system:bootstrap:"+id) || !strings.Contains(text.Stdout, "system:bootstrappers:rack:7") {
		t.Errorf("verify text:\n%s", text.Stdout)
	}
	if strings.Contains(text.Stdout+text.Stderr+v.Stdout+v.Stderr, secret) {
		t.Errorf("verify printed the token secret")
	}
	// The secure form authenticates the same way (its hash is not sent).
	sec := strings.TrimSpace(mustOK(t, bs("create", "-o", "secure"), "create -o secure").Stdout)
	t.Cleanup(func() { deleteSecret(sec[len(sec)-23 : len(sec)-17]) })
	mustOK(t, bs("verify", sec), "verify secure token")
}

// An expired token and one without the authentication usage are refused
// by the real apiserver, and verify says why.
func TestRefusedTokens(t *testing.T) {
	expTok, expID, expSecret := newToken(t)
	// Written directly (no tool writes an expired token): kubeadm's layout.
	writeRawSecret(t, "bootstrap-token-"+expID, map[string]string{
		"token-id": expID, "token-secret": expSecret,
		"expiration":                     time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
	})
	sigTok, sigID, _ := newToken(t)
	mustOK(t, bs("create", sigTok, "--usages", "signing"), "create signing-only")
	wrong := sigID + ".0000000000000000"
	unknownTok, _, _ := newToken(t)

	for _, tc := range []struct {
		name, token, why string
	}{
		{"expired", expTok, "expired at"},
		{"signing only", sigTok, `lacks the "authentication" usage`},
		{"wrong secret", wrong, "the secret half does not match the stored token \"" + sigID + "\""},
		{"unknown", unknownTok, "no such token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			real := runner.Kubectl("auth", "whoami", "--kubeconfig", tokenOnlyKubeconfig(t, tc.token))
			if real.Code == 0 || !strings.Contains(real.Stderr, "Unauthorized") {
				t.Errorf("the apiserver accepted the token: %s", real)
			}
			v := bs("verify", tc.token)
			if v.Code != 1 || !strings.Contains(v.Stderr, "refused bootstrap token") || !strings.Contains(v.Stderr, tc.why) {
				t.Errorf("verify: %s, want refusal saying %q", v, tc.why)
			}
			oneErrorLine(t, v)
			if _, secret, _ := strings.Cut(tc.token, "."); strings.Contains(v.Stdout+v.Stderr, secret) {
				t.Errorf("verify printed the secret: %s", v)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
