package bootstrap

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// OutputAPIVersion and OutputKind are those of kubeadm's machine-readable
// token output (`kubeadm token list -o json|yaml`).
const (
	OutputAPIVersion = "output.kubeadm.k8s.io/v1alpha3"
	OutputKind       = "BootstrapToken"
)

// Redacted replaces the secret half of a token in list output unless
// --show-secrets is given: "abcdef.****************" keeps the public ID
// where scripts expect it and the token's shape, cannot be mistaken for
// (or used as) a token, and needs no escaping in JSON or YAML.
const Redacted = "****************"

// OutputToken is kubeadm's output.kubeadm.k8s.io/v1alpha3 BootstrapToken,
// field for field (kind, apiVersion, token, description, ttl, expires,
// usages, groups; empty ones omitted), so tools reading kubeadm's output
// read ours, plus the token's id (kubeadm's readers ignore a field they do
// not know), which a script can use without cutting "token" apart.
type OutputToken struct {
	metav1.TypeMeta `json:",inline"`
	ID              string           `json:"id"`
	Token           string           `json:"token"`
	Description     string           `json:"description,omitempty"`
	TTL             *metav1.Duration `json:"ttl,omitempty"`
	Expires         *metav1.Time     `json:"expires,omitempty"`
	Usages          []string         `json:"usages,omitempty"`
	Groups          []string         `json:"groups,omitempty"`
}

// DeepCopyObject makes OutputToken a runtime.Object for the printers.
func (o *OutputToken) DeepCopyObject() runtime.Object {
	c := *o
	if o.TTL != nil {
		d := *o.TTL
		c.TTL = &d
	}
	if o.Expires != nil {
		c.Expires = o.Expires.DeepCopy()
	}
	c.Usages = slices.Clone(o.Usages)
	c.Groups = slices.Clone(o.Groups)
	return &c
}

// SecretView says whether output shows a token's secret half.
type SecretView bool

const (
	redactSecret SecretView = false // id.****************
	showSecret   SecretView = true  // id.secret
)

// NewOutputToken is t as kubeadm prints it; the secret half is replaced
// by Redacted unless view is showSecret.
func NewOutputToken(t *Token, view SecretView) *OutputToken {
	o := &OutputToken{
		TypeMeta:    metav1.TypeMeta{APIVersion: OutputAPIVersion, Kind: OutputKind},
		ID:          t.ID,
		Token:       t.ID + "." + Redacted,
		Description: t.Description,
		Usages:      t.Usages,
		Groups:      t.Groups,
	}
	if view == showSecret {
		o.Token = t.String()
	}
	if t.Expires != nil {
		o.Expires = &metav1.Time{Time: *t.Expires}
	}
	return o
}

// TTLString is the TTL column: the time left, floored, in
// ShortHumanDuration units (23h right after a 24h create), "<invalid>"
// once it is more than a second past, as kubeadm prints it; and for a
// token without an expiration the plugins' one word, never (kubeadm's
// <forever>).
func TTLString(t *Token, now time.Time) string {
	if t.Expires == nil {
		return ttl.Never
	}
	return duration.ShortHumanDuration(t.Expires.Sub(now))
}

// ExpiresString is the EXPIRES column, always in UTC (a Secret may hold
// another offset; the authenticator compares instants); never without an
// expiration (kubeadm's <never>).
func ExpiresString(t *Token) string {
	if t.Expires == nil {
		return ttl.Never
	}
	return t.Expires.UTC().Format(time.RFC3339)
}

// Kubeadm's words for a token without an expiration, kept where a machine
// reads them (inspect -o json|yaml): the human output says never.
const (
	kubeadmForeverTTL   = "<forever>"
	kubeadmNeverExpires = "<never>"
)

// NameString is a token as -o name prints it.
func NameString(id string) string { return "bootstrap-token/" + id }

func orNone(parts []string) string {
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}

// listColumns are kubeadm's, then ours for -o wide.
var listColumns = []printer.Column{
	{Name: "TOKEN"}, {Name: "TTL"}, {Name: "EXPIRES"}, {Name: "USAGES"}, {Name: "DESCRIPTION"}, {Name: "EXTRA GROUPS"},
	{Name: "STATUS", Wide: true}, {Name: "SECRET", Wide: true},
}

// listEntry is one listed Secret, reduced to what list prints: a
// token, or why the Secret is not one. The Secret itself is not kept, so
// a long list holds rows, not objects.
type listEntry struct {
	name    string // the Secret's
	token   *Token
	invalid error
	desc    string // an invalid Secret's description
	status  string // -o wide's STATUS; "" unless asked for
	proxy   bool   // owns kube-system/kubeadm-certs
}

// newListEntry reads s; STATUS is worked out only when wide.
func newListEntry(s *corev1.Secret, now time.Time, wide bool) listEntry {
	e := listEntry{name: s.Name}
	e.token, e.invalid = FromSecret(s)
	switch {
	case e.invalid != nil:
		e.desc = bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenDescriptionKey)
	case wide:
		e.status = "valid"
		if problems := AuthProblems(s, e.token, now); len(problems) > 0 {
			e.status = "unusable for authentication: " + strings.Join(problems, "; ")
			if e.token.Expired(now) {
				e.status = "expired"
			}
		}
	}
	return e
}

// expiresWithin: a token that expires by deadline (expired included);
// never-expiring tokens and malformed Secrets do not.
func (e listEntry) expiresWithin(deadline time.Time) bool {
	return e.token != nil && e.token.Expires != nil && !e.token.Expires.After(deadline)
}

// proxyStatus marks the kubeadm-certs proxy in STATUS.
const proxyStatus = "kubeadm-certs proxy (deleting it deletes the control-plane certificates); "

// tokenRow is the table row for a valid token.
func tokenRow(e listEntry, view SecretView, now time.Time) []any {
	t := e.token
	name := t.ID
	if view == showSecret {
		name = t.String()
	}
	desc := printer.Cell(t.Description)
	if desc == "" {
		desc = "<none>"
	}
	status := e.status
	if e.proxy {
		status = proxyStatus + status
	}
	return []any{name, TTLString(t, now), ExpiresString(t), orNone(t.Usages), desc, orNone(t.Groups), status, e.name}
}

// invalidRow lists a Secret that is not a well-formed token: why goes to
// STATUS (-o wide), DESCRIPTION stays the Secret's own field.
func invalidRow(e listEntry) []any {
	name := IDFromSecretName(e.name)
	if name == "" {
		name = e.name
	}
	desc := printer.Cell(e.desc)
	if desc == "" {
		desc = "<none>"
	}
	return []any{name, "<invalid>", "<invalid>", "<none>", desc, "<none>", "invalid: " + e.invalid.Error(), e.name}
}

// ListTable builds the list table with printer.NewTable.
func ListTable(entries []listEntry, view SecretView, now time.Time) *metav1.Table {
	rows := make([][]any, 0, len(entries))
	for _, e := range entries {
		if e.invalid != nil {
			rows = append(rows, invalidRow(e))
		} else {
			rows = append(rows, tokenRow(e, view, now))
		}
	}
	return printer.NewTable(listColumns, rows, nil)
}
