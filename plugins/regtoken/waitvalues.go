package regtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// errTokenDeleted marks a token that disappeared while we waited.
var errTokenDeleted = errors.New("token deleted")

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
				if t, err := toToken(u); err == nil {
					last = t
				}
			}
			return false, explainDeleted(ns, name, last)
		case watch.Added, watch.Modified:
			u, err := wait.Object(ev)
			if err != nil {
				return false, err
			}
			t, err := toToken(u)
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
		if errors.Is(err, errTokenDeleted) {
			return nil, err
		}
		return nil, apierror.Wrap(err, tokenOp("watch", ns, name))
	}
	return tok, nil
}

// explainDeleted says why the token went while we waited; the error is
// errTokenDeleted.
func explainDeleted(ns, name string, last *Token) error {
	obj := fmt.Sprintf("%s %q in namespace %q", kind, name, ns)
	switch {
	case last == nil:
		return apierror.Explained(errTokenDeleted, "%s was deleted before the Fleet controller wrote its values: create a new token", obj)
	case last.neverExpires():
		return apierror.Explained(errTokenDeleted, "%s was deleted by the Fleet controller at once: it requires a TTL (FLEET_REGISTRATION_TOKEN_TTL_REQUIRED=true); create it again with --ttl, e.g. --ttl 24h", obj)
	case last.Expired(now()):
		at, _ := last.ExpiresAt()
		return apierror.Explained(errTokenDeleted, "%s expired at %s (ttl %s) and was deleted before the Fleet controller wrote its values: create a new token with a longer --ttl", obj, at.UTC().Format(time.RFC3339), *last.Spec.TTL)
	}
	return apierror.Explained(errTokenDeleted, "%s was deleted (not by expiry) before the Fleet controller wrote its values: create a new token", obj)
}

// waitProgress shows one self-updating line on stderr while a wait lasts when
// stderr is a terminal; logs and pipes get one plain line up front, so a
// wait of up to --timeout never looks like a hang.
type waitProgress struct {
	w    io.Writer
	stop chan struct{}
	done sync.WaitGroup
}

func startProgress(w io.Writer, what string, timeout time.Duration) *waitProgress {
	p := &waitProgress{w: w, stop: make(chan struct{})}
	if !progress.IsTerminal(w) {
		fmt.Fprintf(w, "Waiting up to %s for %s ...\n", timeout, what)
		return p
	}
	start := time.Now()
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			fmt.Fprintf(p.w, "\r\033[KWaiting for %s ... %s", what, time.Since(start).Round(time.Second))
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *waitProgress) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.done.Wait()
}

// interruptedOrTimedOut turns the end of a wait by --timeout or a signal
// into one line saying what exists and how to go on.
func interruptedOrTimedOut(f cli.Clients, err error, ns, name string, timeout time.Duration, cleanup func() error) error {
	obj := fmt.Sprintf("%s %q in namespace %q", kind, name, ns)
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
			return fmt.Errorf("%s; deleting the token (--cleanup-on-failure) failed: %s; delete it with %s", what, apierror.OneLine(cerr.Error()), hint(f, "delete", name, "-n", ns))
		}
		return fmt.Errorf("%s; the token was deleted (--cleanup-on-failure)", what)
	}
	return fmt.Errorf("%s; the token exists: fetch its values later with %s, or delete it with %s", what, hint(f, "values", name, "-n", ns), hint(f, "delete", name, "-n", ns))
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
	return apierror.Wrap(ri.Delete(ctx, name, opts), tokenOp("delete", ns, name))
}
