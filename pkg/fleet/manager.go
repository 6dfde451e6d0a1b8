package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// Manager is the Fleet management cluster of the current context and the
// namespace its tokens live in: every step on the management side (token,
// values, registrations) is a method of it, so the commands share one
// sequence instead of each writing its own.
type Manager struct {
	f         cli.Clients
	Namespace string
	Dyn       dynamic.Interface
	Core      corev1client.CoreV1Interface
	Tokens    dynamic.ResourceInterface

	// controller is the controller's Deployment as read once per run: the
	// TTL check and the chart version both need it.
	controllerOnce sync.Once
	controller     ControllerFacts
}

// Controller reads the fleet-controller Deployment once per Manager.
func (m *Manager) Controller(ctx context.Context) ControllerFacts {
	m.controllerOnce.Do(func() { m.controller = ReadController(ctx, m.Dyn) })
	return m.controller
}

// NewManager resolves the clients of the management side. No request is
// sent.
func NewManager(f cli.Clients, namespace string) (*Manager, error) {
	m := &Manager{f: f, Namespace: namespace}
	var err error
	if m.Dyn, err = f.Dynamic(); err != nil {
		return nil, err
	}
	if m.Core, err = f.CoreV1(); err != nil {
		return nil, err
	}
	m.Tokens = m.Dyn.Resource(TokenGVR).Namespace(namespace)
	return m, nil
}

// Clients is what the manager was built from, for hints with the user's
// connection flags.
func (m *Manager) Clients() cli.Clients { return m.f }

// TokenSpec is a token to create: Name or GenerateName, and spec.ttl (""
// for none).
type TokenSpec struct {
	Name, GenerateName string
	TTL                string
}

// Object is the token as it is sent.
func (s TokenSpec) Object(namespace string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
	obj.SetAPIVersion(TokenGVR.GroupVersion().String())
	obj.SetKind(Kind)
	obj.SetNamespace(namespace)
	if s.Name != "" {
		obj.SetName(s.Name)
	} else {
		obj.SetGenerateName(s.GenerateName)
	}
	if s.TTL != "" {
		_ = unstructured.SetNestedField(obj.Object, s.TTL, "spec", "ttl")
	}
	return obj
}

// ErrExists is CreateToken's answer for a token that exists when reuse was
// not asked for; the caller words the way out in its own flags.
var ErrExists = errors.New("token exists")

// CreateToken sends the create (a server-side dry run too). With reuse,
// an existing token of that name is read instead and created is false;
// without it, an existing token is ErrExists (wrapping the API error).
func (m *Manager) CreateToken(ctx context.Context, s TokenSpec, reuse bool, dryRun string) (got *unstructured.Unstructured, created bool, err error) {
	// A signal must not cut the create short: we would not know whether the
	// token exists. It is one short request; the wait after it is what a
	// signal interrupts.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	got, err = m.Tokens.Create(createCtx, s.Object(m.Namespace), metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryrun.Request(dryRun)})
	cancel()
	switch {
	case apierrors.IsAlreadyExists(err) && reuse:
		if got, err = m.Tokens.Get(ctx, s.Name, metav1.GetOptions{}); err != nil {
			return nil, false, apierror.Wrap(err, TokenOp("get", m.Namespace, s.Name))
		}
		return got, false, nil
	case apierrors.IsAlreadyExists(err):
		return nil, false, fmt.Errorf("%w: %w", ErrExists, err)
	case err != nil:
		return nil, false, apierror.Wrap(err, TokenOp("create", m.Namespace, s.Name))
	}
	return got, true, nil
}

// GetToken reads a token; not found points at kubectl regtoken list with
// the user's connection flags.
func (m *Manager) GetToken(ctx context.Context, name string) (*Token, *unstructured.Unstructured, error) {
	return GetToken(ctx, m.Tokens, m.f, m.Namespace, name)
}

// WaitValues is the one wait for a token's values: by watch (up to
// timeout) until the controller has set status.secretName, then the
// values Secret it names. got is the token as the server last returned
// it. A timeout or a signal is explained with what exists; cleanup, when
// not nil, deletes the token first (--cleanup-on-failure). shown is told
// when the wait starts and ends, for a progress line.
func (m *Manager) WaitValues(ctx context.Context, got *unstructured.Unstructured, timeout time.Duration, cleanup func() error, shown func(waiting bool)) (*Token, *corev1.Secret, error) {
	tok, err := ToToken(got)
	if err != nil {
		return nil, nil, err
	}
	if tok.Status.SecretName == "" {
		waitCtx, cancel := context.WithTimeout(ctx, timeout)
		if shown != nil {
			shown(true)
		}
		tok, err = waitForSecretName(waitCtx, m.Tokens, m.Namespace, tok.Name, got.GetResourceVersion(), tok)
		if shown != nil {
			shown(false)
		}
		cancel()
		if wait.IsTimeout(err) || errors.Is(err, context.Canceled) {
			return nil, nil, ReportedError{interruptedOrTimedOut(m.f, err, m.Namespace, got.GetName(), timeout, cleanup)}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	secret, err := m.valuesSecret(ctx, tok)
	return tok, secret, err
}

// valuesSecret reads the Secret status.secretName names. The controller
// writes it before the status, so it exists by Now.
func (m *Manager) valuesSecret(ctx context.Context, tok *Token) (*corev1.Secret, error) {
	s, err := m.Core.Secrets(tok.Namespace).Get(ctx, tok.Status.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierror.Explained(err, "Secret %q in namespace %q, named by the status of %s %q, does not exist (deleted meanwhile?): delete the token (%s) and create a new one", tok.Status.SecretName, tok.Namespace, Kind, tok.Name, Hint(m.f, "delete", tok.Name, "-n", tok.Namespace))
	}
	if err != nil {
		return nil, apierror.Wrap(err, SecretOp("get", tok.Namespace, tok.Status.SecretName))
	}
	return s, nil
}

// ValuesSecret reads the values Secret of a token whose status names it.
func (m *Manager) ValuesSecret(ctx context.Context, tok *Token) (*corev1.Secret, error) {
	return m.valuesSecret(ctx, tok)
}

// ReportedError already says what exists and how to go on; AfterWrite
// passes it on as it is.
type ReportedError struct{ error }

func (e ReportedError) Unwrap() error { return e.error }

// DeleteFunc deletes token name (of uid) that this run created, with its
// own short deadline since the run's context may be over.
func (m *Manager) DeleteFunc(name, uid string) func() error {
	return func() error { return deleteToken(m.Tokens, m.Namespace, name, uid) }
}

// AfterWrite returns how to report a failure once the token exists: with
// cleanup it is deleted again, otherwise the error says the token is left
// and how to delete it.
func (m *Manager) AfterWrite(created bool, tok *Token, cleanup func() error) func(error) error {
	return func(err error) error {
		var reported ReportedError
		switch {
		case errors.Is(err, ErrTokenDeleted), errors.As(err, &reported):
			return err
		case cleanup != nil:
			if cerr := cleanup(); cerr != nil {
				return fmt.Errorf("%w; deleting the token (--cleanup-on-failure) failed too: %s", err, apierror.OneLine(cerr.Error()))
			}
			return fmt.Errorf("%w; the token was deleted (--cleanup-on-failure)", err)
		case created:
			return fmt.Errorf("%w; %s %q was created in namespace %q and is left: delete it with %s", err, Kind, tok.Name, m.Namespace, Hint(m.f, "delete", tok.Name, "-n", m.Namespace))
		}
		return err
	}
}

// FieldManager names our writes in managedFields.
const FieldManager = "kubectl-regtoken"
