package rancherimport

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// secret is a credential that prints as <redacted> with every fmt verb
// that formats strings (%v %s %q %x) and in Go syntax (%#v).
type secret string

func (secret) String() string   { return "<redacted>" }
func (secret) GoString() string { return "<redacted>" }

// Token is a cluster's import token as this Rancher release keeps it.
type Token struct {
	ClusterID string
	// Source says where it was read: "status.token" (up to 2.12.12) or
	// "Secret <ns>/<name>" (2.13.8, 2.14.4, 2.15.0).
	Source string
	// ExpiresAt and GraceUntil are zero without rotation (2.15+ rotates).
	ExpiresAt, GraceUntil time.Time
	value                 secret
}

// Format prints a Token without its value, whatever the verb: fmt would
// otherwise print the unexported field by reflection.
func (t Token) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "Token{ClusterID: %s, Source: %s, value: <redacted>}", t.ClusterID, t.Source)
}

// Reveal is the token itself, for a caller that must send or print it.
func (t *Token) Reveal() string { return string(t.value) }

// ReadToken waits, by watch, for the cluster's import token
// (default-token in the cluster's namespace) and reads it: from the
// Secret status.tokenSecretName names when set, else from status.token.
// The command fields are never read: from 2.13.8 they hold a literal
// {token}.
func (r *Rancher) ReadToken(ctx context.Context, id string) (*Token, error) {
	crts := r.Dyn.Resource(ImportTokensGVR).Namespace(id)
	op := apierror.Op{Verb: "watch", Resource: ImportTokensGVR.GroupResource(), Kind: "Rancher import token", Namespace: id, Name: TokenName}
	var tok *Token
	_, err := wait.Until(ctx, wait.ByName(crts, TokenName), "", func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || ev.Type == watch.Deleted || u.GetName() != TokenName || u.GetNamespace() != id {
			return false, nil
		}
		t, err := r.tokenOf(ctx, u)
		if err != nil || t == nil {
			return false, err
		}
		tok = t
		return true, nil
	})
	if err != nil {
		return nil, apierror.Wrap(err, op)
	}
	return tok, nil
}

// tokenOf reads the token of one CRT; nil while Rancher has not filled
// it in yet.
func (r *Rancher) tokenOf(ctx context.Context, crt *unstructured.Unstructured) (*Token, error) {
	id := crt.GetNamespace()
	t := &Token{ClusterID: id}
	t.ExpiresAt = statusTime(crt, "expiresAt")
	t.GraceUntil = statusTime(crt, "gracePeriodExpiresAt")
	if name, _, _ := unstructured.NestedString(crt.Object, "status", "tokenSecretName"); name != "" {
		s, err := r.Core.Secrets(id).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil // named before it is written: wait for the next change
		}
		if err != nil {
			return nil, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: corev1.Resource("secrets"), Kind: "Secret", Namespace: id, Name: name})
		}
		v := string(s.Data["token"])
		if v == "" {
			return nil, fmt.Errorf("Secret %s/%s has no token: Rancher has not written the import token yet, or the Secret was changed by hand", id, name)
		}
		t.value, t.Source = secret(v), "Secret "+id+"/"+name
		if at, err := time.Parse(time.RFC3339, string(s.Data["expiresAt"])); err == nil {
			t.ExpiresAt = at
		}
		if at, err := time.Parse(time.RFC3339, string(s.Data["gracePeriodExpiresAt"])); err == nil {
			t.GraceUntil = at
		}
		return t, nil
	}
	v, _, _ := unstructured.NestedString(crt.Object, "status", "token")
	if v == "" {
		return nil, nil
	}
	t.value, t.Source = secret(v), "status.token"
	return t, nil
}

func statusTime(u *unstructured.Unstructured, field string) time.Time {
	s, _, _ := unstructured.NestedString(u.Object, "status", field)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return at
}
