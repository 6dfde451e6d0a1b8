package bootstrap

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
)

// ExpiresAfter is kubeadm's TTL rule: now+ttl when ttl > 0, else nil
// (no expiration key: the token never expires).
func ExpiresAfter(ttl time.Duration, now time.Time) *time.Time {
	if ttl <= 0 {
		return nil
	}
	t := now.Add(ttl).UTC().Truncate(time.Second)
	return &t
}

// ToSecret is kubeadm's BootstrapTokenToSecret: the Secret name and
// namespace, the bootstrap token type, and only the keys that carry a
// value (expiration as UTC RFC3339, one "true" key per usage, groups
// joined with commas).
func ToSecret(t *Token) *corev1.Secret {
	data := map[string][]byte{
		bootstrapapi.BootstrapTokenIDKey:     []byte(t.ID),
		bootstrapapi.BootstrapTokenSecretKey: []byte(t.Secret),
	}
	if t.Description != "" {
		data[bootstrapapi.BootstrapTokenDescriptionKey] = []byte(t.Description)
	}
	if t.Expires != nil {
		data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(t.Expires.UTC().Format(time.RFC3339))
	}
	for _, u := range t.Usages {
		data[bootstrapapi.BootstrapTokenUsagePrefix+u] = []byte("true")
	}
	if len(t.Groups) > 0 {
		data[bootstrapapi.BootstrapTokenExtraGroupsKey] = []byte(strings.Join(t.Groups, ","))
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: SecretName(t.ID), Namespace: Namespace},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		Data:       data,
	}
}

// FromSecret is kubeadm's BootstrapTokenFromSecret: the name must match
// the token-id, id and secret must be well formed, an expiration must be
// RFC3339; usages are the keys whose value is exactly "true", sorted;
// groups are split on commas (nil when empty). Its errors never contain
// the token secret, unlike kubeadm's.
func FromSecret(s *corev1.Secret) (*Token, error) {
	id := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenIDKey)
	if id == "" {
		return nil, fmt.Errorf("Secret %s has no %s", s.Name, bootstrapapi.BootstrapTokenIDKey)
	}
	if !bootstraputil.IsValidBootstrapTokenID(id) {
		return nil, fmt.Errorf("Secret %s has a malformed %s (must match [a-z0-9]{6})", s.Name, bootstrapapi.BootstrapTokenIDKey)
	}
	if s.Name != SecretName(id) {
		return nil, fmt.Errorf("Secret %s is not named %s after its %s", s.Name, SecretName(id), bootstrapapi.BootstrapTokenIDKey)
	}
	secret := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenSecretKey)
	if secret == "" {
		return nil, fmt.Errorf("Secret %s has no %s", s.Name, bootstrapapi.BootstrapTokenSecretKey)
	}
	if !bootstraputil.IsValidBootstrapToken(bootstraputil.TokenFromIDAndSecret(id, secret)) {
		return nil, fmt.Errorf("Secret %s has a malformed %s (must be 16 characters of [a-z0-9])", s.Name, bootstrapapi.BootstrapTokenSecretKey)
	}
	t := &Token{
		ID:          id,
		Secret:      secret,
		Description: bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenDescriptionKey),
	}
	if exp := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenExpirationKey); exp != "" {
		when, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return nil, fmt.Errorf("Secret %s has an %s %q that is not RFC3339 (e.g. 2006-01-02T15:04:05Z)", s.Name, bootstrapapi.BootstrapTokenExpirationKey, exp)
		}
		when = when.UTC()
		t.Expires = &when
	}
	for k, v := range s.Data {
		if strings.HasPrefix(k, bootstrapapi.BootstrapTokenUsagePrefix) && string(v) == "true" {
			t.Usages = append(t.Usages, strings.TrimPrefix(k, bootstrapapi.BootstrapTokenUsagePrefix))
		}
	}
	sort.Strings(t.Usages)
	if g := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenExtraGroupsKey); g != "" {
		t.Groups = strings.Split(g, ",")
	}
	return t, nil
}

// IDFromSecretName is the token ID a Secret's name claims ("" if none).
func IDFromSecretName(name string) string {
	id, _ := bootstrapsecretutil.ParseName(name)
	return id
}

// AuthProblems lists why the API server's bootstrap authenticator would
// refuse t at now (expired, no authentication usage, invalid groups), in
// the order it checks them. Empty means it authenticates.
func AuthProblems(s *corev1.Secret, t *Token, now time.Time) []string {
	var out []string
	if s.Type != bootstrapapi.SecretTypeBootstrapToken {
		out = append(out, fmt.Sprintf("the Secret's type is %q, not %q", s.Type, bootstrapapi.SecretTypeBootstrapToken))
	}
	if s.DeletionTimestamp != nil {
		out = append(out, "the Secret is being deleted")
	}
	if t.Expired(now) {
		out = append(out, "it expired at "+t.Expires.UTC().Format(time.RFC3339))
	}
	if !t.Has(UsageAuthentication) {
		out = append(out, `it lacks the "authentication" usage`)
	}
	for _, g := range t.Groups {
		if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}
