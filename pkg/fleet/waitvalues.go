package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// ErrTokenDeleted marks a token that disappeared while we waited.
var ErrTokenDeleted = errors.New("token deleted")

// waitForSecretName watches token ns/name from resourceVersion rv until
// the controller sets status.secretName, which it does only after writing
// the values Secret. A deletion is explained: expired, or a controller
// that requires a TTL.
func waitForSecretName(ctx context.Context, ri dynamic.ResourceInterface, ns, name, rv string, last *Token) (*Token, error) {
	var tok *Token
	_, err := wait.Until(ctx, wait.ByName(ri, name), rv, func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case wait.Listed:
			// A relist after the watch lost track: no item means the token
			// went while no watch was open.
			if l, ok := ev.Object.(*unstructured.UnstructuredList); ok && len(l.Items) == 0 {
				return false, explainDeleted(ns, name, last)
			}
			return false, nil
		case watch.Deleted:
			if u, err := wait.Object(ev); err == nil {
				if t, err := ToToken(u); err == nil {
					last = t
				}
			}
			return false, explainDeleted(ns, name, last)
		case watch.Added, watch.Modified:
			u, err := wait.Object(ev)
			if err != nil {
				return false, err
			}
			t, err := ToToken(u)
			if err != nil {
				return false, err
			}
			last = t
			if t.Status.SecretName != "" {
				tok = t
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, ErrTokenDeleted) {
			return nil, err
		}
		return nil, apierror.Wrap(err, TokenOp("watch", ns, name))
	}
	return tok, nil
}

// explainDeleted says why the token went while we waited; the error is
// ErrTokenDeleted.
func explainDeleted(ns, name string, last *Token) error {
	obj := fmt.Sprintf("%s %q in namespace %q", Kind, name, ns)
	switch {
	case last == nil:
		return apierror.Explained(ErrTokenDeleted, "%s was deleted before the Fleet controller wrote its values: create a new token", obj)
	case last.NeverExpires():
		return apierror.Explained(ErrTokenDeleted, "%s was deleted by the Fleet controller at once: it requires a TTL (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true); create it again with --ttl, e.g. --ttl 24h", obj)
	case last.Expired(Now()):
		at, _ := last.ExpiresAt()
		return apierror.Explained(ErrTokenDeleted, "%s expired at %s (ttl %s) and was deleted before the Fleet controller wrote its values: create a new token with a longer --ttl", obj, at.UTC().Format(time.RFC3339), *last.Spec.TTL)
	}
	return apierror.Explained(ErrTokenDeleted, "%s was deleted (not by expiry) before the Fleet controller wrote its values: create a new token", obj)
}

// interruptedOrTimedOut turns the end of a wait by --timeout or a signal
// into one line saying what exists and how to go on.
func interruptedOrTimedOut(f cli.Clients, err error, ns, name string, timeout time.Duration, cleanup func() error) error {
	obj := fmt.Sprintf("%s %q in namespace %q", Kind, name, ns)
	var what string
	switch {
	case wait.IsTimeout(err):
		what = fmt.Sprintf("timed out after %s waiting for the Fleet controller to write the values of %s (status.secretName is still empty; is the Fleet controller running?)", timeout, obj)
	case errors.Is(err, context.Canceled):
		what = fmt.Sprintf("interrupted while waiting for the values of %s; no values file was written", obj)
	default:
		return err
	}
	if cleanup != nil {
		if cerr := cleanup(); cerr != nil {
			return fmt.Errorf("%s; deleting the token (--cleanup-on-failure) failed: %s; delete it with %s", what, apierror.OneLine(cerr.Error()), Hint(f, "delete", name, "-n", ns))
		}
		return fmt.Errorf("%s; the token was deleted (--cleanup-on-failure)", what)
	}
	return fmt.Errorf("%s; the token exists: fetch its values later with %s, or delete it with %s", what, Hint(f, "values", name, "-n", ns), Hint(f, "delete", name, "-n", ns))
}

// deleteToken removes a token we created, with its own short deadline
// since the command's context may be cancelled already.
func deleteToken(ri dynamic.ResourceInterface, ns, name string, uid string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := metav1.DeleteOptions{}
	if uid != "" {
		u := types.UID(uid)
		opts.Preconditions = &metav1.Preconditions{UID: &u}
	}
	return apierror.Wrap(ri.Delete(ctx, name, opts), TokenOp("delete", ns, name))
}
