//go:build e2e

package apierror_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, func(e *testenv.Env) error { env = e; return nil })
}

// The real apiserver's answers, not hand-made Status objects, decide what
// "not served" and "not found" look like.
func TestMissingAPIIsNotServedButMissingObjectIsNotFound(t *testing.T) {
	dyn := dynamic.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	crts := schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrationtokens"}
	op := apierror.Op{Verb: "list", Resource: crts.GroupResource(), Namespace: "default", NotServed: "Fleet is not installed in this cluster"}

	_, err := dyn.Resource(crts).Namespace("default").List(ctx, metav1.ListOptions{})
	if !apierror.IsNotServedError(err) {
		t.Fatalf("a missing API group should be 'not served': %#v", err)
	}
	if got, want := apierror.Wrap(err, op).Error(), "Fleet is not installed in this cluster: no clusterregistrationtokens.fleet.cattle.io API"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	// A missing resource in a served group (core) is not served either.
	_, err = dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "nosuchthings"}).List(ctx, metav1.ListOptions{})
	if !apierror.IsNotServedError(err) {
		t.Errorf("a missing resource should be 'not served': %#v", err)
	}

	cms := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	_, err = dyn.Resource(cms).Namespace("default").Get(ctx, "absent", metav1.GetOptions{})
	if apierror.IsNotServedError(err) {
		t.Fatalf("a missing object is not a missing API: %#v", err)
	}
	msg := apierror.Wrap(err, apierror.Op{Verb: "get", Resource: cms.GroupResource(), Kind: "ConfigMap", Namespace: "default", Name: "absent"}).Error()
	if !strings.HasPrefix(msg, `ConfigMap "absent" in namespace "default" not found: `) {
		t.Errorf("not found: %q", msg)
	}

	plain := fmt.Errorf("dial tcp: connection refused")
	if wrapped := apierror.Wrap(plain, op); wrapped != plain { //nolint:errorlint // identity: Wrap returns a plain error unchanged
		t.Errorf("non-API errors must pass through to the runner: %v", wrapped)
	}
}

func TestForbiddenNamesUserVerbResourceAndCanI(t *testing.T) {
	cfg, _, err := env.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	_, err = dynamic.NewForConfigOrDie(cfg).Resource(secrets).Namespace("kube-system").List(context.Background(), metav1.ListOptions{})
	msg := apierror.Wrap(err, apierror.Op{Verb: "list", Resource: secrets.GroupResource(), Namespace: "kube-system"}).Error()
	for _, want := range []string{`User "alice"`, `cannot list resource "secrets"`, "kubectl auth can-i list secrets -n kube-system"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("more than one line: %q", msg)
	}
}
