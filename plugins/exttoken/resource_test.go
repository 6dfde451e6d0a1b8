package exttoken

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func statusErr(code int32, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

// TestWrapTokenMapsRancherMessages: Rancher's own refusals become a line
// that says what to do; the server's text stays in it where it helps.
func TestWrapTokenMapsRancherMessages(t *testing.T) {
	gr := schema.GroupResource{Group: "ext.cattle.io", Resource: "tokens"}
	cases := []struct {
		err  error
		want []string
	}{
		{apierrors.NewForbidden(gr, "", errors.New("user admin is not a Rancher user")), []string{"is not a Rancher user", "kubeconfig Rancher issued"}},
		{apierrors.NewForbidden(gr, "", errors.New("missing authentication token ID")), []string{"missing authentication token ID", "Rancher token"}},
		{apierrors.NewBadRequest("forbidden to extend time-to-live"), []string{`cannot extend token "token-abcde"`, "forbidden to extend time-to-live", "create a new token"}},
		{apierrors.NewBadRequest("spec.kind is immutable"), []string{"spec.kind is immutable", "description, enabled and a shorter ttl"}},
		{apierrors.NewBadRequest("unable to create token for other user"), []string{"calling user"}},
		{apierrors.NewBadRequest("operation references a disabled user"), []string{"enable the user"}},
		{apierrors.NewInternalError(errors.New("failed to process list options: unable to parse requirement")), []string{"key=value"}},
		{apierrors.NewBadRequest("cluster c-1 not found"), []string{`Rancher has no cluster "c-1"`, "--cluster-name"}},
		{apierrors.NewForbidden(gr, "", errors.New("user u is not allowed to access cluster c-1")), []string{"drop --cluster-name"}},
		{apierrors.NewNotFound(gr, "token-abcde"), []string{`token "token-abcde" not found`, "list yours with kubectl exttoken list"}},
		{statusErr(404, metav1.StatusReasonNotFound, "the server could not find the requested resource"), []string{notServed}},
	}
	for _, c := range cases {
		got := tokenClient{f: clitest.NewFactory(clitest.Options{})}.wrap(c.err, "patch", "token-abcde").Error()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("wrapToken(%v) = %q, want it to contain %q", c.err, got, w)
			}
		}
		if strings.Contains(got, "\n") {
			t.Errorf("wrapToken(%v) spans lines: %q", c.err, got)
		}
	}
	if (tokenClient{}).wrap(nil, "get", "x") != nil {
		t.Error("wrapToken(nil) is not nil")
	}
	var st apierrors.APIStatus
	if !errors.As(tokenClient{}.wrap(apierrors.NewBadRequest("forbidden to extend time-to-live"), "patch", "x"), &st) {
		t.Error("the mapped error lost the API status")
	}
}

func TestUserSelector(t *testing.T) {
	for in, want := range map[string]string{"": "", "team=ci": "team=ci", "a in (x,y),b!=c": "a in (x,y),b!=c"} {
		got, err := userSelector(in)
		if err != nil || got != want {
			t.Errorf("userSelector(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"cattle.io/user-id=u-x", "a=b,cattle.io/user-id in (u-x)", "!cattle.io/user-id", "a=("} {
		if _, err := userSelector(bad); err == nil {
			t.Errorf("userSelector(%q) accepted", bad)
		}
	}
}
