// Package apierror turns the errors of API calls into one line a person
// can act on: what was asked of which object, why it failed, what to do;
// and gives the bare cause of the local errors around them (a dial, a
// file) for the caller to word.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package apierror

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// Op describes the call that failed.
type Op struct {
	Verb      string               // get, list, create, delete, update, patch, watch
	Resource  schema.GroupResource // e.g. clusterregistrationtokens.fleet.cattle.io
	Kind      string               // for messages, e.g. "ClusterRegistrationToken"
	Namespace string               // "" for cluster-scoped or all namespaces
	Name      string               // "" for lists and generated names
	NotServed string               // the line for a missing API, e.g. "Fleet is not installed in this cluster"
	List      string               // the command that lists these objects, for not-found hints ("kubectl regtoken list -n x")
}

// Error is an explained API error; Unwrap gives the original.
type Error struct {
	msg string
	err error
	// cmd is the command the message suggests (kubectl auth can-i ...),
	// rendered into msg as cmdText; the runner repeats the user's
	// connection flags in it (Command).
	cmd     []string
	cmdText string
}

// Command is the follow-up command an explained error in err's chain
// suggests: its argv, and its text as it stands in the message, so that a
// caller that knows the user's connection flags (the command runner) can
// render it again with them. ok is false when there is none.
func Command(err error) (text string, argv []string, ok bool) {
	var e *Error
	if !errors.As(err, &e) || len(e.cmd) == 0 {
		return "", nil, false
	}
	return e.cmdText, e.cmd, true
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Explained is an error whose message is already the one line to print
// (the object, the cause, the fix); errors.Is/As still reach err.
func Explained(err error, format string, args ...any) error {
	return &Error{msg: OneLine(fmt.Sprintf(format, args...)), err: err}
}

// Wrap explains err as a failure of op. Errors that are not API status
// errors pass through unchanged (connection errors are explained once, by
// the command runner, which knows the server and context).
func Wrap(err error, op Op) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err
	}
	msg, cmd := explain(status.Status(), op)
	e := &Error{msg: msg, err: err}
	if len(cmd) > 0 {
		e.cmd, e.cmdText = cmd, shellquote.Join(cmd)
	}
	return e
}

// explain is the line for st, and the argv of the command it suggests
// (nil when none).
func explain(st metav1.Status, op Op) (string, []string) {
	resource := op.Resource.String()
	object := op.object()
	switch {
	case st.Reason == metav1.StatusReasonNotFound && !IsNotServed(st) && (st.Details == nil || st.Details.Kind != "namespaces") && op.List == "":
		cmd := []string{"kubectl", "get", resource}
		if op.Namespace != "" {
			cmd = append(cmd, "-n", op.Namespace)
			return fmt.Sprintf("%s not found: check the name and the namespace (-n); list them with %s", object, shellquote.Join(cmd)), cmd
		}
		return fmt.Sprintf("%s not found: check the name; list them with %s", object, shellquote.Join(cmd)), cmd
	case st.Reason == metav1.StatusReasonForbidden:
		cmd := canI(op)
		return fmt.Sprintf("%s; check your rights with: %s", OneLine(st.Message), shellquote.Join(cmd)), cmd
	}
	return explainLine(st, op), nil
}

func explainLine(st metav1.Status, op Op) string {
	resource := op.Resource.String()
	object := op.object()
	switch {
	case IsNotServed(st):
		if op.NotServed != "" {
			return fmt.Sprintf("%s: no %s API", op.NotServed, resource)
		}
		return fmt.Sprintf("the server does not serve %s: install the product that provides it or check the context", resource)
	case st.Reason == metav1.StatusReasonNotFound:
		if st.Details != nil && st.Details.Kind == "namespaces" {
			return fmt.Sprintf("namespace %q not found: create it or pass another -n", st.Details.Name)
		}
		return fmt.Sprintf("%s not found: check the name; list them with %s", object, op.List)
	case st.Reason == metav1.StatusReasonUnauthorized:
		return "the server rejected your credentials (Unauthorized): log in again or check --token/--user/--kubeconfig"
	case st.Reason == metav1.StatusReasonAlreadyExists:
		return fmt.Sprintf("%s already exists: choose another name or delete it first", object)
	case st.Reason == metav1.StatusReasonConflict:
		return fmt.Sprintf("%s was changed by someone else (%s): run the command again", object, OneLine(st.Message))
	case st.Reason == metav1.StatusReasonInvalid:
		return fmt.Sprintf("%s is invalid: %s", object, invalidCauses(st))
	case st.Reason == metav1.StatusReasonGone:
		return fmt.Sprintf("%s: the server's list has moved on (410 Gone): run the command again", object)
	case st.Reason == metav1.StatusReasonTimeout || st.Reason == metav1.StatusReasonServerTimeout:
		return fmt.Sprintf("%s %s: the server timed out: try again or raise --request-timeout", op.Verb, object)
	default:
		return fmt.Sprintf("%s %s failed: %s", op.Verb, object, OneLine(st.Message))
	}
}

// IsNotServed reports whether a status says the API group or resource does
// not exist on the server (rather than one object not being found).
func IsNotServed(st metav1.Status) bool {
	if st.Code != 404 && st.Reason != metav1.StatusReasonNotFound {
		return false
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == metav1.CauseTypeUnexpectedServerResponse {
				return true
			}
		}
	}
	// The apiserver's answer for an unknown group or resource.
	return st.Message == "the server could not find the requested resource"
}

// IsNotServedError is IsNotServed for an error.
func IsNotServedError(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && IsNotServed(status.Status())
}

func (op Op) object() string {
	kind := op.Resource.String()
	if op.Kind != "" {
		kind = op.Kind
	}
	switch {
	case op.Name != "" && op.Namespace != "":
		return fmt.Sprintf("%s %q in namespace %q", kind, op.Name, op.Namespace)
	case op.Name != "":
		return fmt.Sprintf("%s %q", kind, op.Name)
	case op.Namespace != "":
		return fmt.Sprintf("%s in namespace %q", op.Resource.String(), op.Namespace)
	default:
		return op.Resource.String()
	}
}

func canI(op Op) []string {
	verb := op.Verb
	if verb == "" {
		verb = "get"
	}
	cmd := []string{"kubectl", "auth", "can-i", verb, op.Resource.String()}
	if op.Namespace != "" {
		cmd = append(cmd, "-n", op.Namespace)
	}
	return cmd
}

func invalidCauses(st metav1.Status) string {
	if st.Details == nil || len(st.Details.Causes) == 0 {
		return OneLine(st.Message)
	}
	var parts []string
	for _, c := range st.Details.Causes {
		if c.Field != "" {
			parts = append(parts, c.Field+": "+OneLine(c.Message))
		} else {
			parts = append(parts, OneLine(c.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// OneLine folds any run of white space (newlines included) into one
// space: server messages and wrapped errors become one printable line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Connection explains an error that never reached the API server, naming
// the server and the kubeconfig context. It returns "" for other errors.
func Connection(err error, server, context string) string {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return ""
	}
	where := server
	if where == "" {
		where = uerr.URL
	}
	ctx := ""
	if context != "" {
		ctx = fmt.Sprintf(" (context %q)", context)
	}
	var cause string
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.As(err, &dnsErr):
		cause = "no such host " + dnsErr.Name
	case uerr.Timeout():
		cause = "timed out"
	case strings.Contains(err.Error(), "x509") || strings.Contains(err.Error(), "certificate"):
		cause = "TLS: " + LastPart(err)
		return fmt.Sprintf("cannot trust the API server %s%s: %s; check certificate-authority in the kubeconfig", where, ctx, cause)
	default:
		cause = LastPart(err)
	}
	return fmt.Sprintf("cannot reach the API server %s%s: %s; check --server/--context or that the cluster is running", where, ctx, cause)
}
