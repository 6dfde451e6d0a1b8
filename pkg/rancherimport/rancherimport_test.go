package rancherimport

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestTokenValueNeverFormats(t *testing.T) {
	const value = "s3cr3tvalue"
	tok := &Token{ClusterID: "c-m-1", Source: "status.token", value: secret(value)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		if got := fmt.Sprintf(verb, tok); strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) {
			t.Errorf("%s of a Token shows its value: %s", verb, got)
		}
		if got := fmt.Sprintf(verb, *tok); strings.Contains(got, value) || strings.Contains(strings.ToLower(got), fmt.Sprintf("%x", value)) {
			t.Errorf("%s of a Token value shows its value: %s", verb, got)
		}
	}
	if tok.Reveal() != value {
		t.Errorf("Reveal: %q", tok.Reveal())
	}
}

func TestParseManifestRefusesWhatIsNotAManifest(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "the import manifest is empty: is the address Rancher's?",
		"<html>login</html>":                     "the import manifest is not valid YAML (document 1): is the address Rancher's?",
		"kind: [":                                "the import manifest is not valid YAML (document 1): is the address Rancher's?",
		"---\napiVersion: v1\nkind: Namespace\n": "the import manifest's document 1 is not a Kubernetes object (no apiVersion, kind or name): is the address Rancher's?",
	} {
		if _, err := ParseManifest([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("ParseManifest(%q): %v, want %s", in, err, want)
		}
	}
	m, err := ParseManifest([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cattle-system\n---\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: cattle-system\n"))
	if err != nil || len(m.Objects) != 2 {
		t.Errorf("two objects and an empty document: %v, %v", m, err)
	}
}

func TestExpiringWithinCountsTheGracePeriod(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    Imported
		d    time.Duration
		want bool
	}{
		{"no rotation", Imported{}, 365 * 24 * time.Hour, false},
		{"rotates after the window", Imported{TokenExpires: now.Add(48 * time.Hour)}, 24 * time.Hour, false},
		{"rotates within the window", Imported{TokenExpires: now.Add(12 * time.Hour)}, 24 * time.Hour, true},
		{"previous token in its grace period", Imported{TokenExpires: now.Add(30 * 24 * time.Hour), GraceUntil: now.Add(time.Hour)}, time.Hour, true},
		{"grace period over", Imported{TokenExpires: now.Add(30 * 24 * time.Hour), GraceUntil: now.Add(-time.Hour)}, time.Hour, false},
	}
	for _, c := range cases {
		if got := c.c.ExpiringWithin(c.d, now); got != c.want {
			t.Errorf("%s: %t, want %t", c.name, got, c.want)
		}
	}
}

// Apply sends the namespaces and cluster roles first, the workloads last,
// everything else between at once; the first failure in the manifest's
// order is the one reported, and nothing of a later stage is sent after a
// failure.
func TestApplyGoesInStagesAndReportsTheFirstFailureInOrder(t *testing.T) {
	m, err := ParseManifest([]byte(`apiVersion: v1
kind: ServiceAccount
metadata: {name: cattle, namespace: cattle-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cattle-cluster-agent, namespace: cattle-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: cattle-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cattle-admin-binding}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cattle-admin}
---
apiVersion: v1
kind: Secret
metadata: {name: cattle-credentials, namespace: cattle-system}
`))
	if err != nil {
		t.Fatal(err)
	}
	run := func(fail map[string]bool) ([]string, error) {
		var mu sync.Mutex
		var sent []string
		dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
		dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
			p := a.(k8stesting.PatchAction)
			mu.Lock()
			sent = append(sent, p.GetResource().Resource+"/"+p.GetName())
			mu.Unlock()
			if fail[p.GetName()] {
				return true, nil, apierrors.NewForbidden(p.GetResource().GroupResource(), p.GetName(), errors.New("no"))
			}
			return true, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "X", "metadata": map[string]any{"name": p.GetName()}}}, nil
		})
		var progress []int
		err := Downstream{Dyn: dyn}.Apply(t.Context(), m, func(done, total int) {
			if total != 6 {
				t.Errorf("total %d", total)
			}
			progress = append(progress, done)
		})
		if err == nil && !slices.Equal(progress, []int{1, 2, 3, 4, 5, 6}) {
			t.Errorf("progress %v", progress)
		}
		return sent, err
	}
	sent, err := run(nil)
	if err != nil {
		t.Fatal(err)
	}
	first, middle := slices.Sorted(slices.Values(sent[:2])), slices.Sorted(slices.Values(sent[2:5]))
	if !slices.Equal(first, []string{"clusterroles/cattle-admin", "namespaces/cattle-system"}) ||
		!slices.Equal(middle, []string{"clusterrolebindings/cattle-admin-binding", "secrets/cattle-credentials", "serviceaccounts/cattle"}) ||
		sent[5] != "deployments/cattle-cluster-agent" {
		t.Errorf("sent in the order %q", sent)
	}
	sent, err = run(map[string]bool{"cattle-credentials": true, "cattle": true})
	if err == nil || !strings.Contains(err.Error(), `serviceaccounts "cattle"`) || slices.Contains(sent, "deployments/cattle-cluster-agent") {
		t.Errorf("two failures in one stage: %v; sent %q", err, sent)
	}
}
