//go:build e2e

package realfleet

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/realfleet"
)

// The real controller, with kube-controller-manager's token controller,
// answers a token: the values Secret with the control plane's URL and CA
// and a filled service-account token, then status.secretName.
func TestRealControllerWritesTheValuesSecretForAToken(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "smoke")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tokens := dyn.Resource(realfleet.TokenGVR).Namespace(ns)
	tok := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": "smoke"}, "spec": map[string]any{"ttl": "1h"},
	}}
	created, err := tokens.Create(ctx, tok, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := tokens.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=smoke", ResourceVersion: created.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	answered := false
	for ev := range w.ResultChan() {
		if u, ok := ev.Object.(*unstructured.Unstructured); ok && ev.Type == watch.Modified {
			if s, _, _ := unstructured.NestedString(u.Object, "status", "secretName"); s == "smoke" {
				answered = true
				break
			}
		}
	}
	if !answered {
		t.Fatalf("no status.secretName: %v", ctx.Err())
	}
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, "smoke", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("status.secretName is set but the values Secret is not there: %v", err)
	}
	if s.Type != "fleet.cattle.io/cluster-registration-values" || len(s.Data) != 1 || s.Labels["fleet.cattle.io/managed"] != "true" {
		t.Errorf("values Secret type %s, labels %v, keys %d", s.Type, s.Labels, len(s.Data))
	}
	var values map[string]any
	if err := yaml.Unmarshal(s.Data["values"], &values); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"apiServerURL": env.Config.Host, "apiServerCA": string(env.Config.CAData), "clusterNamespace": ns,
		"systemRegistrationNamespace": "cattle-fleet-clusters-system", "tokenName": "smoke"}
	for k, v := range want {
		if values[k] != v {
			t.Errorf("values.yaml %s = %v, want %v", k, values[k], v)
		}
	}
	if tok, _ := values["token"].(string); len(tok) < 100 {
		t.Errorf("values.yaml token %q: not a service-account token", tok)
	}
	sa := "smoke-" + string(created.GetUID())
	saToken, err := kube.CoreV1().Secrets(ns).Get(ctx, sa+"-token", metav1.GetOptions{})
	if err != nil || saToken.Type != corev1.SecretTypeServiceAccountToken || len(saToken.Data["token"]) == 0 || len(saToken.Data["ca.crt"]) == 0 {
		t.Errorf("the SA token Secret %s-token, filled by kube-controller-manager: %v %v", sa, saToken, err)
	}
}
