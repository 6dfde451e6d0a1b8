package apierror

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var tokens = schema.GroupResource{Group: "fleet.cattle.io", Resource: "clusterregistrationtokens"}

func TestWrapExplainsInOneLine(t *testing.T) {
	for _, tc := range []struct {
		err  error
		op   Op
		want string
	}{
		{apierrors.NewNotFound(tokens, "edge"), Op{Verb: "get", Resource: tokens, Kind: "ClusterRegistrationToken", Namespace: "fleet-default", Name: "edge", List: "kubectl regtoken list -n fleet-default"},
			`ClusterRegistrationToken "edge" in namespace "fleet-default" not found: check the name; list them with kubectl regtoken list -n fleet-default`},
		{apierrors.NewNotFound(tokens, "edge"), Op{Verb: "get", Resource: tokens, Namespace: "ns", Name: "edge"},
			`clusterregistrationtokens.fleet.cattle.io "edge" in namespace "ns" not found: check the name and the namespace (-n); list them with kubectl get clusterregistrationtokens.fleet.cattle.io -n ns`},
		{apierrors.NewForbidden(tokens, "edge", errors.New("no\nway")), Op{Verb: "delete", Resource: tokens, Namespace: "ns", Name: "edge"},
			`clusterregistrationtokens.fleet.cattle.io "edge" is forbidden: no way; check your rights with: kubectl auth can-i delete clusterregistrationtokens.fleet.cattle.io -n ns`},
		{apierrors.NewAlreadyExists(tokens, "edge"), Op{Verb: "create", Resource: tokens, Namespace: "ns", Name: "edge"},
			`clusterregistrationtokens.fleet.cattle.io "edge" in namespace "ns" already exists: choose another name or delete it first`},
	} {
		got := Wrap(tc.err, tc.op)
		if got.Error() != tc.want || !errors.Is(got, tc.err) {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}

func TestWrapLeavesOtherErrorsAndExplainedOnes(t *testing.T) {
	plain := errors.New("dial tcp: refused")
	if Wrap(plain, Op{}) != plain { //nolint:errorlint // identity: Wrap returns a plain error unchanged
		t.Error("a non-API error changed")
	}
	e := Explained(plain, "token %q:\n  gone", "x")
	if e.Error() != `token "x": gone` || !errors.Is(e, plain) || Wrap(e, Op{Verb: "get"}) != e { //nolint:errorlint // identity: an explained error is not wrapped again
		t.Errorf("Explained: %v", e)
	}
}
