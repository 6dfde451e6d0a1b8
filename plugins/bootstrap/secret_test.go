package bootstrap

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestToSecretMatchesKubeadmsLayout(t *testing.T) {
	// A non-UTC expiration must be written in UTC, as kubeadm does.
	plus2 := time.FixedZone("plus2", 2*3600)
	exp := time.Date(2026, 11, 23, 7, 4, 5, 0, plus2)
	s := ToSecret(&Token{
		ID: "abcdef", Secret: "0123456789abcdef", Description: "rack 7",
		Expires: &exp, Usages: []string{"authentication", "signing"},
		Groups: []string{"system:bootstrappers:a", "system:bootstrappers:b"},
	})
	if s.Name != "bootstrap-token-abcdef" || s.Namespace != "kube-system" || s.Type != "bootstrap.kubernetes.io/token" {
		t.Errorf("name/namespace/type = %s/%s/%s", s.Namespace, s.Name, s.Type)
	}
	want := map[string]string{
		"token-id":                       "abcdef",
		"token-secret":                   "0123456789abcdef",
		"description":                    "rack 7",
		"expiration":                     "2026-11-23T05:04:05Z",
		"usage-bootstrap-authentication": "true",
		"usage-bootstrap-signing":        "true",
		"auth-extra-groups":              "system:bootstrappers:a,system:bootstrappers:b",
	}
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	if !maps.Equal(got, want) {
		t.Errorf("data = %v\nwant   %v", got, want)
	}
	if len(s.StringData) != 0 || len(s.Labels) != 0 || len(s.Annotations) != 0 {
		t.Errorf("unexpected extra fields: %+v", s.ObjectMeta)
	}
}

func TestToSecretWritesNoEmptyKeys(t *testing.T) {
	s := ToSecret(&Token{ID: "abcdef", Secret: "0123456789abcdef"})
	keys := slices.Sorted(maps.Keys(s.Data))
	if !slices.Equal(keys, []string{"token-id", "token-secret"}) {
		t.Errorf("keys = %v, want only token-id and token-secret", keys)
	}
}

func TestExpiresAfterIsKubeadmsTTLRule(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 500, time.UTC)
	if e := ExpiresAfter(0, now); e != nil {
		t.Errorf("ttl 0: %v, want nil (never expires)", e)
	}
	if e := ExpiresAfter(-time.Hour, now); e != nil {
		t.Errorf("ttl -1h: %v, want nil", e)
	}
	e := ExpiresAfter(24*time.Hour, now)
	if e == nil || e.Format(time.RFC3339) != "2026-11-23T05:00:00Z" {
		t.Errorf("ttl 24h: %v", e)
	}
}

func secretWith(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}, Type: TokenSecretType, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestFromSecretReadsWhatToSecretWrote(t *testing.T) {
	in := &Token{ID: "abcdef", Secret: "0123456789abcdef", Description: "d", Expires: at("2026-11-23T05:04:05Z"),
		Usages: []string{"authentication", "signing"}, Groups: []string{"system:bootstrappers:x"}}
	out, err := FromSecret(ToSecret(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Secret != in.Secret || out.Description != in.Description || !out.Expires.Equal(*in.Expires) ||
		!slices.Equal(out.Usages, in.Usages) || !slices.Equal(out.Groups, in.Groups) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}

func TestFromSecretFollowsKubeadmsReader(t *testing.T) {
	s := secretWith("bootstrap-token-abcdef", map[string]string{
		"token-id": "abcdef", "token-secret": "0123456789abcdef",
		"usage-bootstrap-signing":        "true",
		"usage-bootstrap-authentication": "true",
		"usage-bootstrap-other":          "yes", // not "true": off
		"usage-bootstrap-extra":          "true",
	})
	tok, err := FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	// Usages are the keys whose value is exactly "true", sorted.
	if want := []string{"authentication", "extra", "signing"}; !slices.Equal(tok.Usages, want) {
		t.Errorf("usages = %v, want %v", tok.Usages, want)
	}
	if tok.Groups != nil || tok.Expires != nil {
		t.Errorf("groups %v expires %v, want nil", tok.Groups, tok.Expires)
	}
}

func TestFromSecretRefusesMalformedSecretsWithoutLeaking(t *testing.T) {
	const secret = "0123456789abcdef"
	for _, tc := range []struct {
		name string
		s    *corev1.Secret
		want string
	}{
		{"no id", secretWith("bootstrap-token-abcdef", map[string]string{"token-secret": secret}), "has no token-id"},
		{"bad id", secretWith("bootstrap-token-abcdef", map[string]string{"token-id": "ABCDEF", "token-secret": secret}), "malformed token-id"},
		{"name mismatch", secretWith("bootstrap-token-zzzzzz", map[string]string{"token-id": "abcdef", "token-secret": secret}), "not named bootstrap-token-abcdef"},
		{"no secret", secretWith("bootstrap-token-abcdef", map[string]string{"token-id": "abcdef"}), "has no token-secret"},
		{"short secret", secretWith("bootstrap-token-abcdef", map[string]string{"token-id": "abcdef", "token-secret": secret[:15]}), "malformed token-secret"},
		{"upper secret", secretWith("bootstrap-token-abcdef", map[string]string{"token-id": "abcdef", "token-secret": strings.ToUpper(secret)}), "malformed token-secret"},
		{"bad expiration", secretWith("bootstrap-token-abcdef", map[string]string{"token-id": "abcdef", "token-secret": secret, "expiration": "tomorrow"}), `expiration "tomorrow" that is not RFC3339`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromSecret(tc.s)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(strings.ToLower(err.Error()), secret[:15]) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestAuthProblemsMirrorTheAuthenticator(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	ok := &Token{ID: "abcdef", Secret: "0123456789abcdef", Usages: []string{"authentication"}, Groups: []string{"system:bootstrappers:x"}}
	s := ToSecret(ok)
	if p := AuthProblems(s, ok, now); len(p) != 0 {
		t.Errorf("valid token: %v", p)
	}
	expired := *ok
	expired.Expires = at("2026-11-22T04:59:59Z")
	signing := *ok
	signing.Usages, signing.Groups = []string{"signing"}, nil
	badGroup := *ok
	badGroup.Groups = []string{"system:masters"}
	for name, tc := range map[string]struct {
		tok  *Token
		want string
	}{
		"expired":    {&expired, "expired at 2026-11-22T04:59:59Z"},
		"no auth":    {&signing, `lacks the "authentication" usage`},
		"bad groups": {&badGroup, `bootstrap group "system:masters" is invalid`},
	} {
		p := AuthProblems(ToSecret(tc.tok), tc.tok, now)
		if len(p) != 1 || !strings.Contains(p[0], tc.want) {
			t.Errorf("%s: %v, want one saying %q", name, p, tc.want)
		}
	}
	wrongType := ToSecret(ok)
	wrongType.Type = corev1.SecretTypeOpaque
	if p := AuthProblems(wrongType, ok, now); len(p) != 1 || !strings.Contains(p[0], "type") {
		t.Errorf("wrong type: %v", p)
	}
}
