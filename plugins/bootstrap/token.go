package bootstrap

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
)

// Token is one bootstrap token as kubeadm models it (bootstraptoken/v1
// BootstrapToken): the fields its Secret carries.
type Token struct {
	ID          string
	Secret      string
	Description string
	// Expires is when the token stops working; nil means never.
	Expires *time.Time
	// Usages are sorted, e.g. [authentication signing].
	Usages []string
	// Groups are the extra groups, in the order given.
	Groups []string
}

// String is the short form id.secret.
func (t *Token) String() string { return bootstraputil.TokenFromIDAndSecret(t.ID, t.Secret) }

// Has reports whether the token carries usage u.
func (t *Token) Has(u string) bool { return slices.Contains(t.Usages, u) }

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool { return t.Expires != nil && !t.Expires.After(now) }

// Usage names as kubeadm and k3s accept them.
const (
	UsageAuthentication = "authentication"
	UsageSigning        = "signing"
)

// DefaultUsages are kubeadm's (and k3s's) defaults.
var DefaultUsages = []string{UsageSigning, UsageAuthentication}

// k10Prefix starts a k3s secure token: K10<ca hash>::<credentials>.
const k10Prefix = "K10"

// ParsedToken is a token as a user typed it: short (id.secret), secure
// (K10<hash>::id.secret) or only an ID (when allowed).
type ParsedToken struct {
	ID     string
	Secret string // "" when only an ID was given
	// CAHash is the lowercase hex sha256 of a secure token; "" otherwise.
	CAHash string
	Secure bool
}

// Short is id.secret ("" without a secret).
func (p ParsedToken) Short() string {
	if p.Secret == "" {
		return ""
	}
	return bootstraputil.TokenFromIDAndSecret(p.ID, p.Secret)
}

// TokenForms says which inputs ParseToken accepts.
type TokenForms bool

const (
	tokenOnly TokenForms = false // a short or secure token
	tokenOrID TokenForms = true  // ... or only a token ID
)

// errTokenForm never contains the token: a malformed token may still be
// a real one with a typo, and error lines end up in logs and tickets.
func errTokenForm(what string, forms TokenForms) error {
	accepted := `a token of the form "[a-z0-9]{6}.[a-z0-9]{16}" or a secure token "K10<sha256 hex>::<id>.<secret>"`
	if forms == tokenOrID {
		accepted = `a token ID "[a-z0-9]{6}", ` + accepted
	}
	return fmt.Errorf("%s is not a bootstrap token: pass %s (kubectl bootstrap generate makes one)", what, accepted)
}

// ParseToken reads a short or secure token, or only an ID with tokenOrID.
// what names the input in errors (e.g. "the argument"); the value itself
// is never echoed.
func ParseToken(s, what string, forms TokenForms) (ParsedToken, error) {
	var p ParsedToken
	if strings.HasPrefix(s, k10Prefix) {
		rest := s[len(k10Prefix):]
		hash, creds, ok := strings.Cut(rest, "::")
		if !ok {
			return p, errTokenForm(what, forms)
		}
		if hash != "" && !isLowerHex(hash, 64) {
			return p, fmt.Errorf("%s has an invalid CA hash: a secure token is K10 followed by 64 lowercase hex digits (or none), \"::\" and id.secret", what)
		}
		if !bootstraputil.IsValidBootstrapToken(creds) {
			if strings.Contains(creds, ":") {
				return p, fmt.Errorf("%s is a k3s server token (user:password), not a bootstrap token: create one with kubectl bootstrap create", what)
			}
			return p, errTokenForm(what, forms)
		}
		p.ID, p.Secret, _ = strings.Cut(creds, ".")
		p.CAHash, p.Secure = hash, true
		return p, nil
	}
	if forms == tokenOrID && bootstraputil.IsValidBootstrapTokenID(s) {
		p.ID = s
		return p, nil
	}
	if !bootstraputil.IsValidBootstrapToken(s) {
		return p, errTokenForm(what, forms)
	}
	p.ID, p.Secret, _ = strings.Cut(s, ".")
	return p, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SecretsEqual compares two token secrets in constant time.
func SecretsEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ValidateUsagesAndGroups applies kubeadm's rules: known usages only, every
// group matching the bootstrap group pattern, and groups only with the
// authentication usage (the authenticator is the only consumer of groups).
func ValidateUsagesAndGroups(usages, groups []string) error {
	if err := bootstraputil.ValidateUsages(usages); err != nil {
		return fmt.Errorf("%w: fix --usages", err)
	}
	for _, g := range groups {
		if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
			return fmt.Errorf("%w: fix --groups (e.g. system:bootstrappers:worker)", err)
		}
	}
	if len(groups) > 0 && !slices.Contains(usages, UsageAuthentication) {
		return errors.New(`token groups cannot be specified unless --usages includes "authentication": add it to --usages or drop --groups`)
	}
	return nil
}

// SecretName is the Secret holding token id.
func SecretName(id string) string { return bootstraputil.BootstrapTokenSecretName(id) }

// Namespace holds every bootstrap token Secret.
const Namespace = "kube-system"

// TokenSecretType is the Secret type the authenticator and kubeadm look for.
const TokenSecretType = bootstrapapi.SecretTypeBootstrapToken
