package realfleet

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestExpandFollowsKubernetesVariableReferences(t *testing.T) {
	vars := map[string]string{"A": "1", "NS": "cattle-fleet-system"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"plain":              "plain",
		"$(A)":               "1",
		"x-$(NS)-y":          "x-cattle-fleet-system-y",
		"$$(A)":              "$(A)",
		"$(UNDEFINED)":       "$(UNDEFINED)",
		"$(A":                "$(A",
		"cost $5":            "cost $5",
		"end$":               "end$",
		"$(A)$(A)$$":         "11$",
		"--ns=$(NS) $(A)":    "--ns=cattle-fleet-system 1",
		"$(UNDEFINED) $(A) ": "$(UNDEFINED) 1 ",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnvResolvesRefsAsTheKubeletDoes(t *testing.T) {
	kube := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Data: map[string][]byte{"token": []byte("t0k"), "x": []byte("from-secret")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}, Data: map[string]string{"level": "debug", "x": "from-cm"}},
	)
	pod := podMeta{Name: "fleet-agent-abc-12345", Namespace: "ns", UID: "u-1", ServiceAccount: "fleet-agent", Labels: map[string]string{"app": "fleet-agent"}}
	yes := true
	c := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}, Prefix: "CM_"},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: &yes}},
		},
		Env: []corev1.EnvVar{
			{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "token"}}},
			{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "level"}}},
			{Name: "OPTIONAL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nope", Optional: &yes}}},
			{Name: "URL", Value: "https://$(POD).$(NAMESPACE):$(PORT)"},
			{Name: "CM_x", Value: "overridden-$(CM_x)"},
		},
	}
	got, err := containerEnv(context.Background(), kube, pod, c)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Name+"="+e.Value)
	}
	want := "CM_level=debug NAMESPACE=ns POD=fleet-agent-abc-12345 APP=fleet-agent TOKEN=t0k LEVEL=debug URL=https://fleet-agent-abc-12345.ns:$(PORT) CM_x=overridden-from-cm"
	if strings.Join(lines, " ") != want {
		t.Errorf("env\n got %s\nwant %s", strings.Join(lines, " "), want)
	}
}

func TestContainerEnvFailsOnAMissingRequiredSource(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}})
	pod := podMeta{Name: "p", Namespace: "ns"}
	for name, src := range map[string]*corev1.EnvVarSource{
		"missing Secret":    {SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k"}},
		"missing key":       {SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}},
		"missing ConfigMap": {ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k"}},
		"unknown field":     {FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.phase"}},
	} {
		_, err := containerEnv(context.Background(), kube, pod, corev1.Container{Env: []corev1.EnvVar{{Name: "V", ValueFrom: src}}})
		if err == nil || !strings.HasPrefix(err.Error(), "env V: ") {
			t.Errorf("%s: err %v, want one naming env V", name, err)
		}
	}
}
