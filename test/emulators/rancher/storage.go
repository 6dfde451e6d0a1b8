package rancher

import (
	"crypto/rand"
	"crypto/sha3"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Token values use the same alphabet and length as Rancher's random
// tokens (consonants and digits that cannot be confused), so clients see
// realistic strings.
const (
	valueAlphabet = "bcdfghjklmnpqrstvwxz2456789"
	valueLength   = 54
)

func newValue() (string, error) {
	b := make([]byte, valueLength)
	max := big.NewInt(int64(len(valueAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = valueAlphabet[n.Int64()]
	}
	return string(b), nil
}

// hashValue renders the stored hash in the §2 format
// `$3:1:<salt>:<sha3-512>`, both parts base64 without padding.
func hashValue(value string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha3.Sum512(append(salt, value...))
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$3:1:%s:%s", enc.EncodeToString(salt), enc.EncodeToString(sum[:])), nil
}

// toSecret stores a token as §2 prescribes: same name, namespace
// cattle-tokens, forced labels, every data key present.
func toSecret(t *Token) (*corev1.Secret, error) {
	principal, err := json.Marshal(t.Spec.UserPrincipal)
	if err != nil {
		return nil, err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       TokenNamespace,
			Name:            t.Name,
			ResourceVersion: t.ResourceVersion,
			Annotations:     copyMap(t.Annotations),
			Labels:          copyMap(t.Labels),
			Finalizers:      append([]string(nil), t.Finalizers...),
			OwnerReferences: append([]metav1.OwnerReference(nil), t.OwnerReferences...),
		},
		Data: map[string][]byte{},
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[LabelSecretKind] = SecretKindValue
	s.Labels[LabelUserID] = t.Spec.UserID
	s.Labels[LabelKind] = t.Spec.Kind
	lastUsed := ""
	if t.Status.LastUsedAt != nil {
		lastUsed = t.Status.LastUsedAt.UTC().Format(time.RFC3339)
	}
	lastActivity := ""
	if t.Status.LastActivitySeen != nil {
		lastActivity = t.Status.LastActivitySeen.UTC().Format(time.RFC3339)
	}
	for k, v := range map[string]string{
		keyCluster:          t.Spec.ClusterName,
		keyDescription:      t.Spec.Description,
		keyEnabled:          strconv.FormatBool(t.enabled()),
		keyHash:             t.Status.Hash,
		keyKind:             t.Spec.Kind,
		keyLastActivitySeen: lastActivity,
		keyLastUpdateTime:   t.Status.LastUpdateTime,
		keyLastUsedAt:       lastUsed,
		keyPrincipal:        string(principal),
		keyTTL:              strconv.FormatInt(t.Spec.TTL, 10),
		keyUID:              string(t.UID),
		keyUserID:           t.Spec.UserID,
	} {
		s.Data[k] = []byte(v)
	}
	return s, nil
}

// errNotAToken marks Secrets in cattle-tokens that do not hold a token.
var errNotAToken = errors.New("not a token secret")

// fromSecret reads a token back. Expiry is computed here, at read time,
// from the creation time and the TTL (§2: expired, expiresAt).
func fromSecret(s *corev1.Secret, now time.Time) (*Token, error) {
	if s.Labels[LabelSecretKind] != SecretKindValue {
		return nil, errNotAToken
	}
	t := &Token{ObjectMeta: *s.ObjectMeta.DeepCopy()}
	t.setTypeMeta()
	t.Namespace = ""
	t.ManagedFields = nil
	delete(t.Labels, LabelSecretKind)
	d := s.Data
	if t.UID = types.UID(d[keyUID]); t.UID == "" {
		return nil, errors.New("kube uid missing")
	}
	if t.Spec.UserID = string(d[keyUserID]); t.Spec.UserID == "" {
		return nil, errors.New("user id missing")
	}
	if err := json.Unmarshal(d[keyPrincipal], &t.Spec.UserPrincipal); err != nil {
		return nil, fmt.Errorf("principal: %w", err)
	}
	if t.Spec.UserPrincipal.Name == "" || t.Spec.UserPrincipal.Provider == "" {
		return nil, errors.New("principal incomplete")
	}
	t.Spec.ClusterName = string(d[keyCluster])
	t.Spec.Description = string(d[keyDescription])
	t.Spec.Kind = string(d[keyKind])
	enabled, err := strconv.ParseBool(string(d[keyEnabled]))
	if err != nil {
		return nil, fmt.Errorf("enabled: %w", err)
	}
	t.Spec.Enabled = &enabled
	if t.Spec.TTL, err = strconv.ParseInt(string(d[keyTTL]), 10, 64); err != nil {
		return nil, fmt.Errorf("ttl: %w", err)
	}
	if t.Status.Hash = string(d[keyHash]); t.Status.Hash == "" {
		return nil, errors.New("hash missing")
	}
	if t.Status.LastUpdateTime = string(d[keyLastUpdateTime]); t.Status.LastUpdateTime == "" {
		return nil, errors.New("last update time missing")
	}
	if t.Status.LastUsedAt, err = parseTime(d[keyLastUsedAt]); err != nil {
		return nil, err
	}
	if t.Status.LastActivitySeen, err = parseTime(d[keyLastActivitySeen]); err != nil {
		return nil, err
	}
	setExpiry(t, now)
	return t, nil
}

func setExpiry(t *Token, now time.Time) {
	if t.Spec.TTL < 0 {
		t.Status.Expired, t.Status.ExpiresAt = false, ""
		return
	}
	at := t.CreationTimestamp.Add(time.Duration(t.Spec.TTL) * time.Millisecond)
	t.Status.Expired = now.After(at)
	t.Status.ExpiresAt = at.UTC().Format(time.RFC3339)
}

func parseTime(b []byte) (*metav1.Time, error) {
	if len(b) == 0 {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return nil, err
	}
	mt := metav1.NewTime(t)
	return &mt, nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
