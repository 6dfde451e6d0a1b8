//go:build e2e

package fleet

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env  *testenv.Env
	kube kubernetes.Interface
	dyn  dynamic.Interface
)

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	var err error
	if env, err = testenv.Start(testenv.Options{CRDDirs: []string{"test/emulators/fleet/crds"}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	kube = env.Clientset()
	dyn = dynamic.NewForConfigOrDie(env.Config)
	return m.Run()
}

func setup(t *testing.T, name string, opts Options) (string, *Emulator) {
	t.Helper()
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opts.Namespace = name
	em, err := Start(ctx, env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(em.Stop)
	return name, em
}

func createToken(t *testing.T, ns, name, ttl string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": map[string]any{},
	}}
	if ttl != "" {
		_ = unstructured.SetNestedField(obj.Object, ttl, "spec", "ttl")
	}
	got, err := dyn.Resource(GVR).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// watchToken returns the first event on token ns/name (from rv) that
// satisfies done.
func watchToken(t *testing.T, ns, name, rv string, done func(watch.Event) bool) watch.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := dyn.Resource(GVR).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if done(ev) {
			return ev
		}
	}
	t.Fatalf("token %s/%s: the awaited event never came", ns, name)
	return watch.Event{}
}

func secretNameSet(ev watch.Event) bool {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	s, _, _ := unstructured.NestedString(u.Object, "status", "secretName")
	return s != ""
}

// The objects of spec §2 for one token, with their names, labels, types,
// owner references (to the token, as the real Fleet sets them, §8), and
// the values keys in Fleet's order.
func TestObjectsForAToken(t *testing.T) {
	t.Parallel()
	ns, em := setup(t, "objects", Options{Delay: time.Second, APIServerURL: "https://fleet.example.com", APIServerCA: string(env.Config.CAData)})
	tok := createToken(t, ns, "tok", "1h")
	ev := watchToken(t, ns, "tok", tok.GetResourceVersion(), secretNameSet)
	seenAt := time.Now()
	done := ev.Object.(*unstructured.Unstructured)
	if sn, _, _ := unstructured.NestedString(done.Object, "status", "secretName"); sn != "tok" {
		t.Errorf("status.secretName = %q", sn)
	}
	wantExpires := tok.GetCreationTimestamp().Add(time.Hour).UTC().Format(time.RFC3339)
	if exp, _, _ := unstructured.NestedString(done.Object, "status", "expires"); exp != wantExpires {
		t.Errorf("status.expires = %q, want %s", exp, wantExpires)
	}
	writtenAt, ok := em.SecretWrittenAt(ns, "tok")
	if !ok || writtenAt.After(seenAt) {
		t.Errorf("the values Secret was not written before status.secretName (%v, %v)", writtenAt, ok)
	}

	ctx := context.Background()
	sa := SafeConcatName("tok", string(tok.GetUID()))
	account, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role, err := kube.RbacV1().Roles(ns).Get(ctx, sa+"-role", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	binding, err := kube.RbacV1().RoleBindings(ns).Get(ctx, sa+"-to-role", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ownedByToken := func(refs []metav1.OwnerReference) bool {
		return len(refs) == 1 && refs[0].Kind == "ClusterRegistrationToken" && refs[0].UID == tok.GetUID() && !*refs[0].Controller && !*refs[0].BlockOwnerDeletion
	}
	for _, m := range []metav1.ObjectMeta{account.ObjectMeta, role.ObjectMeta, binding.ObjectMeta} {
		if m.Labels[ManagedLabel] != "true" || !ownedByToken(m.OwnerReferences) || m.Annotations["objectset.rio.cattle.io/id"] != "cluster-group-token" || m.Annotations["objectset.rio.cattle.io/owner-gvk"] != "fleet.cattle.io/v1alpha1, Kind=ClusterRegistrationToken" {
			t.Errorf("%s: labels %v, annotations %v, ownerReferences %v", m.Name, m.Labels, m.Annotations, m.OwnerReferences)
		}
	}
	if r := role.Rules; len(r) != 1 || !slices.Equal(r[0].Verbs, []string{"create"}) || !slices.Equal(r[0].APIGroups, []string{"fleet.cattle.io"}) || !slices.Equal(r[0].Resources, []string{"clusterregistrations"}) {
		t.Errorf("Role rules %+v", r)
	}
	if binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != sa+"-role" || len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa {
		t.Errorf("RoleBinding %+v %+v", binding.RoleRef, binding.Subjects)
	}

	saToken, err := kube.CoreV1().Secrets(ns).Get(ctx, sa+"-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if saToken.Type != corev1.SecretTypeServiceAccountToken || saToken.Annotations[corev1.ServiceAccountNameKey] != sa || saToken.Annotations[corev1.ServiceAccountUIDKey] != string(account.UID) ||
		len(saToken.OwnerReferences) != 1 || saToken.OwnerReferences[0].Kind != "ServiceAccount" || saToken.OwnerReferences[0].UID != account.UID || saToken.OwnerReferences[0].Controller != nil {
		t.Errorf("SA token Secret: type %s, annotations %v, ownerReferences %+v", saToken.Type, saToken.Annotations, saToken.OwnerReferences)
	}
	jwt := string(saToken.Data["token"])
	if strings.Count(jwt, ".") != 2 || string(saToken.Data["ca.crt"]) != string(env.Config.CAData) || string(saToken.Data["namespace"]) != ns {
		t.Errorf("SA token Secret data: token %d bytes, ca.crt %d bytes, namespace %q", len(jwt), len(saToken.Data["ca.crt"]), saToken.Data["namespace"])
	}
	// The token is a real TokenRequest JWT: it authenticates as the SA.
	review, err := kube.AuthenticationV1().TokenReviews().Create(ctx, tokenReview(jwt), metav1.CreateOptions{})
	if err != nil || !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:"+ns+":"+sa {
		t.Errorf("the SA token does not authenticate as %s: %v %+v", sa, err, review.Status)
	}

	values, err := kube.CoreV1().Secrets(ns).Get(ctx, "tok", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(values.Type) != ValuesSecretType || values.Labels[ManagedLabel] != "true" || !ownedByToken(values.OwnerReferences) || len(values.Data) != 1 {
		t.Errorf("values Secret: type %s, labels %v, ownerReferences %v, keys %d", values.Type, values.Labels, values.OwnerReferences, len(values.Data))
	}
	raw := string(values.Data[ValuesKey])
	var keys []string
	for _, line := range strings.Split(raw, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			keys = append(keys, k)
		}
	}
	if want := []string{"apiServerCA", "apiServerURL", "clusterNamespace", "systemRegistrationNamespace", "token", "tokenName"}; !slices.Equal(keys, want) {
		t.Errorf("values keys %q, want %q in this order", keys, want)
	}
	var v map[string]string
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v["token"] != jwt || v["tokenName"] != "tok" || v["clusterNamespace"] != ns || v["apiServerURL"] != "https://fleet.example.com" || v["apiServerCA"] != string(env.Config.CAData) || v["systemRegistrationNamespace"] != "cattle-fleet-clusters-system" {
		t.Errorf("values content: %v", v)
	}
}

// Deleting the token removes everything made for it.
func TestDeletionRemovesItsObjects(t *testing.T) {
	t.Parallel()
	// Own controller namespace: the fleet-controller ConfigMap follows each
	// emulator's options, and TestObjectsForAToken checks its URL and CA.
	ns, _ := setup(t, "deletion", Options{Delay: 0, SystemNamespace: "deletion-fleet-system"})
	tok := createToken(t, ns, "gone", "")
	watchToken(t, ns, "gone", tok.GetResourceVersion(), secretNameSet)
	ctx := context.Background()
	w, err := kube.CoreV1().Secrets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=gone"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := dyn.Resource(GVR).Namespace(ns).Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(time.Minute)
	for deleted := false; !deleted; {
		select {
		case ev := <-w.ResultChan():
			deleted = ev.Type == watch.Deleted
		case <-timeout:
			t.Fatal("the values Secret was not deleted")
		}
	}
	sa := SafeConcatName("gone", string(tok.GetUID()))
	for what, err := range map[string]error{
		"ServiceAccount": get(kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})),
		"Role":           get(kube.RbacV1().Roles(ns).Get(ctx, sa+"-role", metav1.GetOptions{})),
		"RoleBinding":    get(kube.RbacV1().RoleBindings(ns).Get(ctx, sa+"-to-role", metav1.GetOptions{})),
		"SA token":       get(kube.CoreV1().Secrets(ns).Get(ctx, sa+"-token", metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s left after the token's deletion: %v", what, err)
		}
	}
}

// TTL-required mode deletes a token without TTL at once; expiry deletes on
// time.
func TestTTLRequiredAndExpiry(t *testing.T) {
	t.Parallel()
	ns, _ := setup(t, "ttl", Options{Delay: 0, TTLRequired: true, SystemNamespace: "ttl-fleet-system"})
	tok := createToken(t, ns, "no-ttl", "")
	watchToken(t, ns, "no-ttl", tok.GetResourceVersion(), func(ev watch.Event) bool { return ev.Type == watch.Deleted })
	short := createToken(t, ns, "short", "2s")
	watchToken(t, ns, "short", short.GetResourceVersion(), func(ev watch.Event) bool { return ev.Type == watch.Deleted })
	// Never before creationTimestamp + ttl.
	if expiry := short.GetCreationTimestamp().Add(2 * time.Second); time.Now().Before(expiry) {
		t.Errorf("the token was deleted before its expiry %s", expiry)
	}
}

func TestSafeConcatName(t *testing.T) {
	if got := SafeConcatName("a", "b"); got != "a-b" {
		t.Errorf("short: %q", got)
	}
	long := SafeConcatName(strings.Repeat("n", 30), "0f8e9c6d-1111-2222-3333-444455556666")
	if len(long) != 63 || !strings.HasPrefix(long, strings.Repeat("n", 30)+"-0f8e9c6d") {
		t.Errorf("long: %q (%d)", long, len(long))
	}
	// char 57 (index 56) not [a-z0-9]: cut at 56, six hex digits.
	odd := SafeConcatName(strings.Repeat("n", 55), "-x-"+strings.Repeat("y", 10))
	if len(odd) != 63 || odd[56] != '-' {
		t.Errorf("odd cut: %q (%d)", odd, len(odd))
	}
}

func get[T any](_ T, err error) error { return err }

func tokenReview(token string) *authenticationv1.TokenReview {
	return &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
}
