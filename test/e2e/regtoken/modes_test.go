//go:build e2e

package regtoken

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// dirListing names the files in dir (hidden ones included: a temporary
// file left behind shows up here).
func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// oneLineError checks the error contract: exit 1, exactly one stderr line
// starting "error: " that holds each of want, no stack trace, and none of
// secrets anywhere in the output. A wait's one "Waiting up to ..." line
// (stderr is no terminal here) may come before it.
func oneLineError(t *testing.T, res plugintest.Result, secrets []string, want ...string) {
	t.Helper()
	if res.Code != 1 {
		t.Errorf("exit %d, want 1:\n%s", res.Code, res)
	}
	errLine := res.Stderr
	if first, rest, ok := strings.Cut(errLine, "\n"); ok && strings.HasPrefix(first, "Waiting up to ") {
		errLine = rest
	}
	if !strings.HasPrefix(errLine, "error: ") || strings.Count(errLine, "\n") != 1 || !strings.HasSuffix(errLine, "\n") {
		t.Errorf("stderr is not exactly one error line:\n%s", res)
	}
	for _, w := range want {
		if !strings.Contains(res.Stderr, w) {
			t.Errorf("the error does not say %q:\n%s", w, res.Stderr)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(res.Stdout+res.Stderr, bad) {
			t.Errorf("output holds %q (a crash or stack trace):\n%s", bad, res)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(res.Stdout+res.Stderr, s) {
			t.Errorf("output holds a secret value:\n%s", res)
		}
	}
}

// A controller with FLEET_REGISTRATION_TOKEN_TTL_REQUIRED deletes a token
// without TTL at once: create says why and what to do.
func TestTTLRequiredMode(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "ttlreq")
	opts := emulatorOpts(ns)
	opts.TTLRequired = true
	startEmulator(t, opts)
	r := newRunner(t)
	for _, args := range [][]string{{"no-ttl"}, {"zero-ttl", "--ttl", "0"}} {
		res := kubectl(r, append([]string{"create", "-n", ns}, args...)...)
		oneLineError(t, res, nil, `"`+args[0]+`"`, "requires a TTL", "--ttl")
		if tokenExists(t, ns, args[0]) {
			t.Errorf("token %s still exists", args[0])
		}
	}
	if files := dirListing(t, r.Dir); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
	mustSucceed(t, kubectl(r, "create", "with-ttl", "-n", ns, "--ttl", "1h"), "create with --ttl under TTL-required")
}

// The token expires before the (slow) controller writes its values: the
// controller deletes it on time, and create explains the expiry.
func TestTokenExpiresWhileWaiting(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "expiry")
	opts := emulatorOpts(ns)
	opts.Delay = 6 * time.Second
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "short", "-n", ns, "--ttl", "2s")
	oneLineError(t, res, nil, `"short"`, "expired", "ttl 2s", "longer --ttl")
	if tokenExists(t, ns, "short") {
		t.Error("the expired token still exists")
	}
	if files := dirListing(t, r.Dir); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
}

// Without the Fleet CRD the apiserver answers "no such resource": every
// command says Fleet is not installed.
func TestFleetNotInstalled(t *testing.T) {
	t.Parallel()
	bare, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Stop() })
	r := newRunner(t)
	const line = "Fleet is not installed in this cluster: no clusterregistrationtokens.fleet.cattle.io API"
	for _, args := range [][]string{
		{"create", "c1", "--ttl", "1h"},
		{"list"},
		{"list", "-A"},
		{"get", "c1"},
		{"values", "c1"},
		{"helm", "c1"},
		{"delete", "c1"},
		{"delete", "--expired", "-A"},
	} {
		res := r.Kubectl(append([]string{"regtoken", "--kubeconfig", bare.Kubeconfig}, args...)...)
		oneLineError(t, res, nil, line)
	}
	if files := dirListing(t, r.Dir); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
}

// RBAC decides: a user without rights gets Forbidden as one line with the
// verb, the resource and the can-i command; a user who may create tokens
// but not read Secrets fails at the values Secret, named.
func TestRestrictedUser(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "rbac")
	startEmulator(t, emulatorOpts(ns))
	_, nobody, err := env.User("nobody-"+ns, "regtoken-e2e")
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t)
	run := func(kubeconfig string, args ...string) plugintest.Result {
		return r.Kubectl(append([]string{"regtoken", "--kubeconfig", kubeconfig, "-n", ns}, args...)...)
	}
	// create asks first (SelfSubjectAccessReview) and creates nothing.
	oneLineError(t, run(nobody, "create", "x", "--ttl", "1h"), nil, "you may not create", "nothing was created", "kubectl auth can-i create clusterregistrationtokens.fleet.cattle.io -n "+ns)
	oneLineError(t, run(nobody, "list"), nil, "forbidden", "kubectl auth can-i list clusterregistrationtokens.fleet.cattle.io -n "+ns)
	oneLineError(t, run(nobody, "delete", "x"), nil, "forbidden", "kubectl auth can-i delete clusterregistrationtokens.fleet.cattle.io -n "+ns)

	tokensOnly := "tokens-only-" + ns
	_, limited, err := env.User(tokensOnly)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "tokens"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"fleet.cattle.io"}, Resources: []string{"clusterregistrationtokens"}, Verbs: []string{"create", "get", "list", "watch", "delete"}}},
	}, metav1.CreateOptions{})
	if err == nil {
		_, err = kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "tokens"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: tokensOnly}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tokens"},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitForAccess(ctx, env.Config, authorizationv1.SubjectAccessReviewSpec{User: tokensOnly,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: "fleet.cattle.io", Resource: "clusterregistrationtokens"}}); err != nil {
		t.Fatal(err)
	}
	res := run(limited, "create", "y", "--ttl", "1h")
	oneLineError(t, res, nil, "secrets", "kubectl auth can-i get secrets -n "+ns)
	if files := dirListing(t, r.Dir); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
	mustSucceed(t, run(limited, "list"), "list with rights on tokens")
}

// The CRD enforces Fleet v0.16's rule on the server with its message, the
// same words the client uses.
func TestCRDValidatesTTLLikeFleet(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "cel")
	for _, bad := range []string{"1d", "7d12h", "-1h", "5000000h", "abc"} {
		obj := putTokenObject(ns, "bad", bad)
		_, err := dyn.Resource(fleet.GVR).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("ttl %q: want 422 Invalid, got %v", bad, err)
		}
	}
	_, err := dyn.Resource(fleet.GVR).Namespace(ns).Create(context.Background(), putTokenObject(ns, "bad", "7d"), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "units like d (days) or w (weeks) are not supported") {
		t.Errorf("the CEL message: %v", err)
	}
	// The plugin sends days and weeks as hours, which the rule accepts.
	r := newRunner(t)
	res := kubectl(r, "create", "converted", "-n", ns, "--ttl", "7d12h", "--no-wait")
	mustSucceed(t, res, "create --ttl 7d12h")
	u, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), "converted", metav1.GetOptions{})
	if ttl, _, _ := unstructured.NestedString(u.Object, "spec", "ttl"); err != nil || ttl != "180h" {
		t.Errorf("spec.ttl %q (%v), want 180h", ttl, err)
	}
	for _, ok := range []string{"15s", "5m", "2h", "1h30m", "300ms", "1.5h", "100µs", "0", "0s"} {
		name := "ok-" + strings.NewReplacer(".", "-", "µ", "u").Replace(ok)
		if _, err := dyn.Resource(fleet.GVR).Namespace(ns).Create(context.Background(), putTokenObject(ns, name, ok), metav1.CreateOptions{}); err != nil {
			t.Errorf("ttl %q refused by the CRD: %v", ok, err)
		}
	}
}
