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
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	// setTTLRequired turns the controller's TTL requirement on or off:
	// a helm upgrade of the real Fleet (its pod restarts), the setter of
	// the running emulator.
	setTTLRequired func(context.Context, bool) error
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
		{name: "real Fleet", cfg: env.Config, kube: kube, dyn: dyn, setTTLRequired: real.SetTTLRequired},
		{name: "emulator", cfg: c.Config, kube: kubernetes.NewForConfigOrDie(c.Config), dyn: dynamic.NewForConfigOrDie(c.Config), setTTLRequired: emu.SetTTLRequired},
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
		{"a TTL-required controller deletes tokens without a TTL at once and answers one with a TTL", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			ttlRequired(t, b)
			o := observation{"controller env": ttlEnv(t, b)}
			var last *unstructured.Unstructured
			for _, tt := range [][2]string{{"none", ""}, {"zero", "0"}} {
				last = createToken(t, b, ns, tt[0], tt[1])
				untilGone(t, b.name+": token "+tt[0], time.Minute, tokenLW(b, ns, tt[0]), &unstructured.Unstructured{})
			}
			o["after the TTL-less tokens"] = objects(t, b, ns, last)
			o["a token with a TTL"] = observeAnswered(t, b, ns, createToken(t, b, ns, "timed", "1h"))
			return o
		}},
		{"an agent's ClusterRegistration gets a Cluster, RBAC and a credential", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "agent", "1h")
			answered(t, b, ns, "agent")
			agent := agentClient(t, b, ns, "agent")
			req := register(t, b, agent, ns, "agent", "random-one")
			return observeRegistrations(t, b, ns, tok, untilGranted(t, b, ns, req.GetName()))
		}},
		{"a second registration of the same client reuses its Cluster and replaces the first", func(t *testing.T, b backend, ns string) observation {
			t.Helper()
			tok := createToken(t, b, ns, "again", "1h")
			answered(t, b, ns, "again")
			agent := agentClient(t, b, ns, "again")
			first := untilGranted(t, b, ns, register(t, b, agent, ns, "again", "random-one").GetName())
			second := untilGranted(t, b, ns, register(t, b, agent, ns, "again", "random-two").GetName())
			untilGone(t, b.name+": the first registration", time.Minute, dynamicLWOf(b, registrationGVR, ns, byName(first.GetName())), &unstructured.Unstructured{})
			untilGrantGone(t, b, ns, first)
			return observeRegistrations(t, b, ns, tok, second)
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

// dynamicLWOf watches a Fleet resource of backend b.
func dynamicLWOf(b backend, gvr schema.GroupVersionResource, ns string, opts func(*metav1.ListOptions)) cache.ListerWatcher {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			opts(&o)
			return b.dyn.Resource(gvr).Namespace(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			opts(&o)
			return b.dyn.Resource(gvr).Namespace(ns).Watch(ctx, o)
		},
	}
}

// tokenLW watches one token of backend b.
func tokenLW(b backend, ns, name string) cache.ListerWatcher {
	return dynamicLWOf(b, realfleet.TokenGVR, ns, byName(name))
}

// answered waits (by watch) until status.secretName is the token's name.
func answered(t *testing.T, b backend, ns, name string) *unstructured.Unstructured {
	t.Helper()
	return until(t, b.name+": status.secretName of "+name, 2*time.Minute, tokenLW(b, ns, name), &unstructured.Unstructured{}, func(o runtime.Object) bool {
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
	return objectsIn(t, b, ns, ns, func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, string(tok.GetUID()), "<uid>"), ns, "<ns>")
	})
}

// objectsIn lists the Secrets, ServiceAccounts, Roles and RoleBindings
// of namespace in, names normalised by norm; tokenNS is the namespace of
// the token whose values.yaml may be among them.
func objectsIn(t *testing.T, b backend, in, tokenNS string, norm func(string) string) observation {
	t.Helper()
	ctx := context.Background()
	ns := in
	o := observation{}
	secrets, err := b.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	for _, s := range secrets.Items {
		// kube-apiserver labels a legacy ServiceAccount token Secret with
		// the day its token last authenticated (the agent's request in the
		// registration scenarios). The emulator's plane has no
		// kube-controller-manager to mint legacy tokens, so its tokens are
		// TokenRequest tokens the apiserver does not track this way: an
		// apiserver artefact, not Fleet's doing.
		labels := withoutKey(s.Labels, legacyTokenLastUsedLabel)
		ss = append(ss, fmt.Sprintf("%s type=%s labels=%s annotations=%s keys=%s owners=%s", norm(s.Name), s.Type, labelKeys(labels), keys(s.Annotations), keys(s.Data), owners(s.OwnerReferences, norm)))
		if s.Type == fleet.ValuesSecretType {
			o["values.yaml"] = valuesShape(t, b, s.Data[fleet.ValuesKey], tokenNS)
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

// ttlRequired turns the backend's TTL requirement on until the end of
// the test (the other tests of the package expect it off).
func ttlRequired(t *testing.T, b backend) {
	t.Helper()
	set := func(on bool) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		return b.setTTLRequired(ctx, on)
	}
	if err := set(true); err != nil {
		t.Fatalf("%s: turning the TTL requirement on: %v", b.name, err)
	}
	t.Cleanup(func() {
		if err := set(false); err != nil {
			t.Errorf("%s: turning the TTL requirement off again: %v", b.name, err)
		}
	})
}

// ttlEnv is how a client reads the TTL requirement: the env of the
// fleet-controller Deployment's containers.
func ttlEnv(t *testing.T, b backend) []string {
	t.Helper()
	d, err := b.kube.AppsV1().Deployments(realfleet.SystemNamespace).Get(context.Background(), realfleet.ControllerName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	var out []string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == fleet.TTLRequiredEnv {
				out = append(out, c.Name+": "+e.Name+"="+e.Value)
			}
		}
	}
	return out
}

// agentClient is a client with the token's credential (values.yaml's
// token, URL and CA), as the agent builds it from fleet-agent-bootstrap.
func agentClient(t *testing.T, b backend, ns, token string) dynamic.Interface {
	t.Helper()
	s, err := b.kube.CoreV1().Secrets(ns).Get(context.Background(), token, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	var v struct {
		APIServerURL string `json:"apiServerURL"`
		APIServerCA  string `json:"apiServerCA"`
		Token        string `json:"token"`
	}
	if err := yaml.Unmarshal(s.Data[fleet.ValuesKey], &v); err != nil {
		t.Fatalf("%s: values.yaml: %v", b.name, err)
	}
	return dynamic.NewForConfigOrDie(&rest.Config{Host: v.APIServerURL, BearerToken: v.Token, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(v.APIServerCA)}})
}

// clientID is the agent's client ID in a scenario: one per token, the
// same on both backends, so the Cluster and credential names match.
func clientID(token string) string { return "conformance-" + token }

// register creates a ClusterRegistration as a v0.16 agent does (§7.1),
// with labels of its own, the agent pod's and two reserved ones.
func register(t *testing.T, b backend, agent dynamic.Interface, ns, token, random string) *unstructured.Unstructured {
	t.Helper()
	req := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistration",
		"metadata": map[string]any{
			"generateName": "request-",
			"labels":       map[string]any{fleet.RegistrationTokenLabel: token},
		},
		"spec": map[string]any{
			"clientID":     clientID(token),
			"clientRandom": random,
			"clusterLabels": map[string]any{
				"env":                         "conformance",
				fleet.CreatedByAgentPodLabel:  "fleet-agent-5d8c7b9f4-x2x7q",
				"fleet.cattle.io/reserved":    "dropped",
				"management.cattle.io/cattle": "dropped",
			},
		},
	}}
	got, err := agent.Resource(registrationGVR).Namespace(ns).Create(context.Background(), req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("%s: the agent creating a ClusterRegistration with the token's credential: %v", b.name, err)
	}
	return got
}

// untilGranted waits for status.granted of one registration.
func untilGranted(t *testing.T, b backend, ns, name string) *unstructured.Unstructured {
	t.Helper()
	return until(t, b.name+": status.granted of "+name, 2*time.Minute, dynamicLWOf(b, registrationGVR, ns, byName(name)), &unstructured.Unstructured{}, func(o runtime.Object) bool {
		g, _, _ := unstructured.NestedBool(o.(*unstructured.Unstructured).Object, "status", "granted")
		return g
	}).(*unstructured.Unstructured)
}

// untilGrantGone waits until what a deleted registration was granted is
// gone: its credential Secret, request ServiceAccount and RBAC.
func untilGrantGone(t *testing.T, b backend, ns string, req *unstructured.Unstructured) {
	t.Helper()
	clusterNS := clusterNamespaceOf(t, b, ns, req)
	random, _, _ := unstructured.NestedString(req.Object, "spec", "clientRandom")
	sa := fleet.SafeConcatName(req.GetName(), string(req.GetUID()))
	core, rbac := b.kube.CoreV1().RESTClient(), b.kube.RbacV1().RESTClient()
	for _, g := range []struct {
		what         string
		client       cache.Getter
		resource, ns string
		name         string
		obj          runtime.Object
	}{
		{"credential Secret", core, "secrets", fleet.RegistrationNamespace(realfleet.SystemNamespace), fleet.CredentialSecretName(clientID(req.GetLabels()[fleet.RegistrationTokenLabel]), random), &corev1.Secret{}},
		{"request ServiceAccount", core, "serviceaccounts", clusterNS, sa, &corev1.ServiceAccount{}},
		{"Role", rbac, "roles", ns, req.GetName(), &rbacv1.Role{}},
		{"RoleBinding", rbac, "rolebindings", ns, req.GetName(), &rbacv1.RoleBinding{}},
		{"RoleBinding in the cluster namespace", rbac, "rolebindings", clusterNS, req.GetName(), &rbacv1.RoleBinding{}},
		{"ClusterRoleBinding", rbac, "clusterrolebindings", "", fleet.SafeConcatName(req.GetName(), "content"), &rbacv1.ClusterRoleBinding{}},
	} {
		untilGone(t, b.name+": the first registration's "+g.what, time.Minute, cache.NewFilteredListWatchFromClient(g.client, g.resource, g.ns, byName(g.name)), g.obj)
	}
}

// clusterNamespaceOf is status.namespace of the registration's Cluster.
func clusterNamespaceOf(t *testing.T, b backend, ns string, req *unstructured.Unstructured) string {
	t.Helper()
	name, _, _ := unstructured.NestedString(req.Object, "status", "clusterName")
	c, err := b.dyn.Resource(fleet.ClusterGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: Cluster %s/%s: %v", b.name, ns, name, err)
	}
	clusterNS, _, _ := unstructured.NestedString(c.Object, "status", "namespace")
	return clusterNS
}

// observeRegistrations observes what a client sees once req is granted:
// the registrations, the Cluster and its namespace, the objects in the
// token's and the cluster's namespaces, the request's
// ClusterRoleBindings and Fleet's ClusterRoles, and the credential
// Secret with its RBAC in the system registration namespace.
func observeRegistrations(t *testing.T, b backend, ns string, tok, req *unstructured.Unstructured) observation {
	t.Helper()
	ctx := context.Background()
	clusterNS := clusterNamespaceOf(t, b, ns, req)
	clusterName, _, _ := unstructured.NestedString(req.Object, "status", "clusterName")
	norm := func(s string) string {
		for _, r := range [][2]string{
			{string(req.GetUID()), "<request uid>"}, {req.GetName(), "<request>"}, {string(tok.GetUID()), "<uid>"},
			{clusterNS, "<cluster namespace>"}, {ns, "<ns>"},
		} {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
		return s
	}
	o := observation{}
	if want := fleet.ClusterNamespace(ns, clusterName); clusterNS == want {
		o["cluster namespace"] = "cluster-<ns>-<cluster>-<KeyHash(ns::cluster)>"
	} else {
		o["cluster namespace"] = "unlike the emulator's: " + norm(clusterNS)
	}
	if strings.HasPrefix(req.GetName(), "request-") {
		o["request name"] = "request-<generated>"
	} else {
		o["request name"] = req.GetName()
	}

	regs, err := b.dyn.Resource(registrationGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rs []string
	for _, r := range regs.Items {
		status, _, _ := unstructured.NestedMap(r.Object, "status")
		rs = append(rs, fmt.Sprintf("%s labels=%s owners=%s status=%v", norm(r.GetName()), labelKeys(r.GetLabels()), owners(r.GetOwnerReferences(), norm), status))
	}
	o["registrations"] = rs

	clusters, err := b.dyn.Resource(fleet.ClusterGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs []string
	for _, c := range clusters.Items {
		id, _, _ := unstructured.NestedString(c.Object, "spec", "clientID")
		statusNS, _, _ := unstructured.NestedString(c.Object, "status", "namespace")
		cs = append(cs, fmt.Sprintf("%s labels=%s annotations=%s owners=%s spec.clientID=%s status.namespace=%s", c.GetName(), labelKeys(c.GetLabels()), keys(c.GetAnnotations()), owners(c.GetOwnerReferences(), norm), id, norm(statusNS)))
	}
	o["clusters"] = cs

	n, err := b.kube.CoreV1().Namespaces().Get(ctx, clusterNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nsAnnotations []string
	for k, v := range n.Annotations {
		nsAnnotations = append(nsAnnotations, k+"="+norm(v))
	}
	slices.Sort(nsAnnotations)
	o["cluster namespace labels"] = labelKeys(withoutKey(n.Labels, "kubernetes.io/metadata.name"))
	o["cluster namespace annotations"] = nsAnnotations

	o["in the token's namespace"] = objectsIn(t, b, ns, ns, norm)
	o["in the cluster namespace"] = objectsIn(t, b, clusterNS, ns, norm)

	crbs, err := b.kube.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bs []string
	for _, c := range crbs.Items {
		if !strings.Contains(c.Name, req.GetName()) {
			continue
		}
		var subjects []string
		for _, s := range c.Subjects {
			subjects = append(subjects, s.Kind+"/"+norm(s.Namespace)+"/"+norm(s.Name))
		}
		bs = append(bs, fmt.Sprintf("%s labels=%s annotations=%s owners=%s role=%s/%s subjects=%s", norm(c.Name), labelKeys(c.Labels), keys(c.Annotations), owners(c.OwnerReferences, norm), c.RoleRef.Kind, c.RoleRef.Name, subjects))
	}
	o["clusterRoleBindings"] = bs
	var roles []string
	for _, name := range []string{fleet.BundleDeploymentClusterRole, fleet.ContentClusterRole} {
		r, err := b.kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			roles = append(roles, name+": "+fmt.Sprint(apierrors.ReasonForError(err)))
			continue
		}
		roles = append(roles, fmt.Sprintf("%s labels=%s annotations=%s rules=%s", name, labelKeys(r.Labels), keys(r.Annotations), rules(r.Rules)))
	}
	o["clusterRoles"] = roles

	regNS := fleet.RegistrationNamespace(realfleet.SystemNamespace)
	secrets, err := b.kube.CoreV1().Secrets(regNS).List(ctx, metav1.ListOptions{LabelSelector: fleet.ClusterLabel + "=" + clusterName})
	if err != nil {
		t.Fatal(err)
	}
	random, _, _ := unstructured.NestedString(req.Object, "spec", "clientRandom")
	var creds []string
	for _, s := range secrets.Items {
		name := s.Name
		if name == fleet.CredentialSecretName(clientID(tok.GetName()), random) {
			name = "c-<sha256(clientID+clientRandom)>[:63]"
		}
		data := map[string]string{}
		for k, v := range s.Data {
			switch {
			case k == "token" && strings.Count(string(v), ".") == 2:
				data[k] = "<JWT>"
			default:
				data[k] = norm(string(v))
			}
		}
		creds = append(creds, fmt.Sprintf("%s type=%s labels=%s annotations=%s owners=%s data=%v", name, s.Type, labelKeys(s.Labels), keys(s.Annotations), owners(s.OwnerReferences, norm), data))
	}
	o["credential Secrets"] = creds
	var access []string
	rls, err := b.kube.RbacV1().Roles(regNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rls.Items {
		if strings.Contains(r.Name, req.GetName()) || strings.Contains(r.Name, string(tok.GetUID())) {
			access = append(access, fmt.Sprintf("Role %s labels=%s annotations=%s owners=%s rules=%s", norm(r.Name), labelKeys(r.Labels), keys(r.Annotations), owners(r.OwnerReferences, norm), strings.ReplaceAll(rules(r.Rules), fleet.CredentialSecretName(clientID(tok.GetName()), random), "<credential Secret>")))
		}
	}
	rbs, err := b.kube.RbacV1().RoleBindings(regNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rb := range rbs.Items {
		if strings.Contains(rb.Name, req.GetName()) || strings.Contains(rb.Name, string(tok.GetUID())) {
			var subjects []string
			for _, s := range rb.Subjects {
				subjects = append(subjects, s.Kind+"/"+norm(s.Namespace)+"/"+norm(s.Name))
			}
			access = append(access, fmt.Sprintf("RoleBinding %s labels=%s annotations=%s owners=%s role=%s/%s subjects=%s", norm(rb.Name), labelKeys(rb.Labels), keys(rb.Annotations), owners(rb.OwnerReferences, norm), rb.RoleRef.Kind, norm(rb.RoleRef.Name), subjects))
		}
	}
	slices.Sort(access)
	o["in the system registration namespace"] = access
	return o
}

// legacyTokenLastUsedLabel is kube-apiserver's, on legacy token Secrets.
const legacyTokenLastUsedLabel = "kubernetes.io/legacy-token-last-used"

// withoutKey is m without key.
func withoutKey(m map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
