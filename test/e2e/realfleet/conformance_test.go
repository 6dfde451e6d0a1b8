//go:build e2e

package realfleet

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/realfleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// Emulator conformance: each scenario runs against the real Fleet (this
// package's control plane) and against the Fleet controller emulator
// (test/emulators/fleet, on a plane of its own with the emulator's CRDs,
// configured as the real one is), and what a client observes must be the
// same: objects, names, labels, Secret types and keys, values.yaml,
// status fields, error answers. Names with the token's UID or the
// namespace in them, tokens and URLs are compared by shape; timings are
// not compared.

// backend is one Fleet a scenario runs against.
type backend struct {
	name string
	cfg  *rest.Config
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func (b backend) tokens(ns string) dynamic.ResourceInterface {
	return b.dyn.Resource(realfleet.TokenGVR).Namespace(ns)
}

// backends are the real Fleet and the emulator, which starts on the
// conformance plane on first use.
func backends(t *testing.T) []backend {
	t.Helper()
	c := down.Clusters[conformancePlane]
	emuOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		root, err := testenv.RepoRoot()
		if err != nil {
			emuErr = err
			return
		}
		if _, emuErr = fleet.InstallCRDs(ctx, c.Config, root+"/test/emulators/fleet/crds", false); emuErr != nil {
			return
		}
		emu, emuErr = fleet.Start(ctx, c.Config, fleet.Options{
			Delay: 2 * time.Second, GrantDelay: 2 * time.Second,
			APIServerURL: c.Config.Host, APIServerCA: string(c.Config.CAData),
			ControllerImage: "rancher/fleet:" + realfleet.Version,
		})
		if emuErr == nil {
			env.OnStop(emu.Stop)
		}
	})
	if emuErr != nil {
		t.Fatalf("starting the Fleet emulator on %s: %v", c.Name, emuErr)
	}
	return []backend{
		{name: "real Fleet", cfg: env.Config, kube: kube, dyn: dyn},
		{name: "emulator", cfg: c.Config, kube: kubernetes.NewForConfigOrDie(c.Config), dyn: dynamic.NewForConfigOrDie(c.Config)},
	}
}

var (
	emuOnce sync.Once
	emu     *fleet.Emulator
	emuErr  error
)

// observation is what a client saw, normalised for comparison.
type observation map[string]any

// scenario runs one case against a backend in a fresh namespace there.
type scenario struct {
	name string
	run  func(t *testing.T, b backend, ns string) observation
}

func TestEmulatorConformsToTheRealFleet(t *testing.T) {
	logsOnFailure(t)
	scenarios := []scenario{
		{"a token with a TTL gets its objects, values and status", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "edge", "1h")
			return observeAnswered(t, b, ns, tok)
		}},
		{"a token with ttl 0 never expires but has status.expires", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "zero", "0")
			return observeAnswered(t, b, ns, tok)
		}},
		{"a token without a TTL", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "forever", "")
			return observeAnswered(t, b, ns, tok)
		}},
		{"a TTL in days is refused by the CRD", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			return apiError(createRaw(b, ns, "days", "7d"))
		}},
		{"a duplicate name is refused", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			createToken(t, b, ns, "dup", "1h")
			return apiError(createRaw(b, ns, "dup", "1h"))
		}},
		{"a token in a missing namespace is refused", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			return apiError(createRaw(b, ns+"-missing", "lost", "1h"))
		}},
		{"a deleted token's objects go", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "gone", "1h")
			answered(t, b, ns, tok.GetName())
			if err := b.tokens(ns).Delete(context.Background(), "gone", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			sa := "gone-" + string(tok.GetUID())
			for _, s := range []string{"gone", sa + "-token"} {
				untilGone(t, "Secret "+s, time.Minute, secretLW(b.kube, ns, s), &corev1.Secret{})
			}
			untilGone(t, "ServiceAccount "+sa, time.Minute, cache.NewFilteredListWatchFromClient(b.kube.CoreV1().RESTClient(), "serviceaccounts", ns, byName(sa)), &corev1.ServiceAccount{})
			return objects(t, b, ns, tok)
		}},
	}
	bs := backends(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var got []observation
			for _, b := range bs {
				ns := "conf-" + fmt.Sprint(nsCounter.Add(1))
				if _, err := b.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				got = append(got, sc.run(t, b, ns))
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				real, _ := yaml.Marshal(got[0])
				emulated, _ := yaml.Marshal(got[1])
				t.Errorf("the emulator differs from the real Fleet\n--- real Fleet\n%s--- emulator\n%s", real, emulated)
			}
		})
	}
}

func createRaw(b backend, ns, name, ttl string) (*unstructured.Unstructured, error) {
	spec := map[string]any{}
	if ttl != "" {
		spec["ttl"] = ttl
	}
	return b.tokens(ns).Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}, metav1.CreateOptions{})
}

func createToken(t *testing.T, b backend, ns, name, ttl string) *unstructured.Unstructured {
	t.Helper()
	tok, err := createRaw(b, ns, name, ttl)
	if err != nil {
		t.Fatalf("%s: creating token %s/%s: %v", b.name, ns, name, err)
	}
	return tok
}

// apiError is how a client sees a refusal: code, reason, message.
func apiError(_ *unstructured.Unstructured, err error) observation {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return observation{"error": fmt.Sprint(err)}
	}
	s := status.Status()
	return observation{"code": s.Code, "reason": string(s.Reason), "message": normalizeNS(s.Message)}
}

// normalizeNS hides the generated namespace names in a message.
func normalizeNS(s string) string {
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, `"\:`)
		if strings.HasPrefix(f, "conf-") {
			s = strings.ReplaceAll(s, f, "<ns>")
		}
	}
	return s
}

// answered waits (by watch) until status.secretName is the token's name.
func answered(t *testing.T, b backend, ns, name string) *unstructured.Unstructured {
	t.Helper()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			byName(name)(&o)
			return b.tokens(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			byName(name)(&o)
			return b.tokens(ns).Watch(ctx, o)
		},
	}
	return until(t, b.name+": status.secretName of "+name, 2*time.Minute, lw, &unstructured.Unstructured{}, func(o runtime.Object) bool {
		s, _, _ := unstructured.NestedString(o.(*unstructured.Unstructured).Object, "status", "secretName")
		return s == name
	}).(*unstructured.Unstructured)
}

// observeAnswered waits for the values Secret and status and observes.
func observeAnswered(t *testing.T, b backend, ns string, tok *unstructured.Unstructured) observation {
	t.Helper()
	done := answered(t, b, ns, tok.GetName())
	o := objects(t, b, ns, tok)
	status, _, _ := unstructured.NestedMap(done.Object, "status")
	created := done.GetCreationTimestamp().Time
	ttl, _, _ := unstructured.NestedString(done.Object, "spec", "ttl")
	for k, v := range status {
		if k == "expires" {
			at, err := time.Parse(time.RFC3339, fmt.Sprint(v))
			d, _ := time.ParseDuration(ttl)
			switch {
			case err != nil:
				status[k] = "unparsable: " + fmt.Sprint(v)
			case at.Equal(created.Add(d)):
				status[k] = "creationTimestamp + spec.ttl"
			default:
				status[k] = fmt.Sprintf("creationTimestamp %+v", at.Sub(created))
			}
		}
	}
	o["status"] = status
	return o
}

// objects lists what the controller made in the namespace.
func objects(t *testing.T, b backend, ns string, tok *unstructured.Unstructured) observation {
	t.Helper()
	ctx := context.Background()
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, string(tok.GetUID()), "<uid>"), ns, "<ns>")
	}
	o := observation{}
	secrets, err := b.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	for _, s := range secrets.Items {
		ss = append(ss, fmt.Sprintf("%s type=%s labels=%s annotations=%s keys=%s owners=%s", norm(s.Name), s.Type, labelKeys(s.Labels), keys(s.Annotations), keys(s.Data), owners(s.OwnerReferences, norm)))
		if s.Type == fleet.ValuesSecretType {
			o["values.yaml"] = valuesShape(t, b, s.Data[fleet.ValuesKey], ns)
		}
	}
	sort.Strings(ss)
	o["secrets"] = ss
	sas, err := b.kube.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sa := range sas.Items {
		if sa.Name != "default" { // kube-controller-manager's, not Fleet's
			names = append(names, norm(sa.Name)+" labels="+labelKeys(sa.Labels)+" annotations="+keys(sa.Annotations)+" owners="+owners(sa.OwnerReferences, norm))
		}
	}
	o["serviceAccounts"] = names
	roles, err := b.kube.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rs []string
	for _, r := range roles.Items {
		rs = append(rs, fmt.Sprintf("%s labels=%s annotations=%s owners=%s rules=%s", norm(r.Name), labelKeys(r.Labels), keys(r.Annotations), owners(r.OwnerReferences, norm), rules(r.Rules)))
	}
	o["roles"] = rs
	bindings, err := b.kube.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bs []string
	for _, rb := range bindings.Items {
		var subjects []string
		for _, s := range rb.Subjects {
			subjects = append(subjects, s.Kind+"/"+norm(s.Namespace)+"/"+norm(s.Name))
		}
		bs = append(bs, fmt.Sprintf("%s labels=%s annotations=%s owners=%s role=%s/%s subjects=%s", norm(rb.Name), labelKeys(rb.Labels), keys(rb.Annotations), owners(rb.OwnerReferences, norm), rb.RoleRef.Kind, norm(rb.RoleRef.Name), subjects))
	}
	o["roleBindings"] = bs
	return o
}

// valuesShape is values.yaml with the plane-specific values by shape.
func valuesShape(t *testing.T, b backend, data []byte, ns string) map[string]string {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: values.yaml: %v", b.name, err)
	}
	out := map[string]string{}
	for k, val := range v {
		s := fmt.Sprint(val)
		switch {
		case k == "apiServerURL" && s == b.cfg.Host:
			s = "<the plane's URL>"
		case k == "apiServerCA" && s == string(b.cfg.CAData):
			s = "<the plane's CA, PEM>"
		case k == "token" && strings.Count(s, ".") == 2:
			s = "<JWT>"
		case s == ns:
			s = "<ns>"
		}
		out[k] = s
	}
	return out
}

// labelKeys shows labels with the wrangler hash value hidden.
func labelKeys(m map[string]string) string {
	var out []string
	for k, v := range m {
		if k == "objectset.rio.cattle.io/hash" {
			v = "<hash>"
		}
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func rules(rs []rbacv1.PolicyRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%v %v %v %v", r.Verbs, r.APIGroups, r.Resources, r.ResourceNames))
	}
	return strings.Join(out, "; ")
}

// owners shows ownerReferences: kind/name and the controller and
// blockOwnerDeletion flags.
func owners(refs []metav1.OwnerReference, norm func(string) string) string {
	var out []string
	for _, r := range refs {
		out = append(out, fmt.Sprintf("%s/%s(controller=%t,block=%t)", r.Kind, norm(r.Name), r.Controller != nil && *r.Controller, r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion))
	}
	return strings.Join(out, ",")
}
