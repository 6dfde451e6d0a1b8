//go:build e2e

package regtoken

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
)

// putToken creates a token through the API (no controller in the
// namespace) with ttl ("" = none) and, when ready, status.secretName.
func putToken(t *testing.T, ns, name, ttl string, ready bool) *unstructured.Unstructured {
	t.Helper()
	obj := putTokenObject(ns, name, ttl)
	ri := dyn.Resource(fleet.GVR).Namespace(ns)
	got, err := ri.Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating token %s: %v", name, err)
	}
	if ready {
		// The controller writes the values Secret before the status.
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: fleet.ValuesSecretType, Data: map[string][]byte{"values": []byte("token: x\n")}}
		if _, err := kube.CoreV1().Secrets(ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
			t.Fatalf("values Secret of token %s: %v", name, err)
		}
		_ = unstructured.SetNestedField(got.Object, name, "status", "secretName")
		if got, err = ri.UpdateStatus(context.Background(), got, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("status of token %s: %v", name, err)
		}
	}
	return got
}

// putTokenObject is a token object with ttl ("" = none).
func putTokenObject(ns, name, ttl string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{},
	}}
	if ttl != "" {
		_ = unstructured.SetNestedField(obj.Object, ttl, "spec", "ttl")
	}
	return obj
}

func tokenExists(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := dyn.Resource(fleet.GVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// rows maps NAME to the other cells of a --no-headers table.
func rows(t *testing.T, stdout string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

func TestListGetDelete(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "list")
	r := newRunner(t)
	putToken(t, ns, "never", "", false)
	putToken(t, ns, "zero", "0", false)
	putToken(t, ns, "old", "1ns", true) // expired at creation
	day := putToken(t, ns, "day", "24h", true)

	res := kubectl(r, "list", "-n", ns)
	mustSucceed(t, res, "list")
	if header := strings.Fields(strings.SplitN(res.Stdout, "\n", 2)[0]); strings.Join(header, " ") != "NAME TTL EXPIRES SECRET AGE" {
		t.Errorf("list header %q", header)
	}
	got := rows(t, kubectl(r, "list", "-n", ns, "--no-headers").Stdout)
	for name, want := range map[string][]string{
		"never": {"<none>", "never", "pending"},
		"zero":  {"0", "never", "pending"},
		"old":   {"1ns", "expired", "ready"},
		"day":   {"24h", "in 23h", "ready"},
	} {
		cells := got[name]
		if name == "day" && len(cells) >= 4 {
			cells = append([]string{cells[0], cells[1] + " " + cells[2]}, cells[3:]...)
		}
		if len(cells) < 3 || strings.Join(cells[:3], "|") != strings.Join(want, "|") {
			t.Errorf("list row %s = %q, want %q", name, got[name], want)
		}
	}

	// SECRET is ready only while the values Secret exists: the real
	// server answers the metadata-only list, by type, of the Secrets.
	if err := kube.CoreV1().Secrets(ns).Delete(context.Background(), "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, kubectl(r, "list", "-n", ns, "--no-headers").Stdout); len(got["old"]) < 3 || got["old"][2] != "missing" || len(got["day"]) < 4 || got["day"][3] != "ready" {
		t.Errorf("after the values Secret of old was deleted: old %q, day %q; want old missing, day ready", got["old"], got["day"])
	}

	wide := kubectl(r, "list", "-n", ns, "-o", "wide")
	mustSucceed(t, wide, "list -o wide")
	if header := strings.Fields(strings.SplitN(wide.Stdout, "\n", 2)[0]); strings.Join(header, " ") != "NAME TTL EXPIRES SECRET AGE SECRET-NAME EXPIRES-AT REGISTERED" {
		t.Errorf("wide header %q", header)
	}
	wantAt := day.GetCreationTimestamp().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if !strings.Contains(wide.Stdout, "day ") || !strings.Contains(wide.Stdout, wantAt) {
		t.Errorf("wide output lacks day's expiry %s:\n%s", wantAt, wide.Stdout)
	}

	all := kubectl(r, "list", "-A")
	mustSucceed(t, all, "list -A")
	if !strings.HasPrefix(all.Stdout, "NAMESPACE ") || !strings.Contains(all.Stdout, ns) {
		t.Errorf("list -A lacks the NAMESPACE column:\n%s", all.Stdout)
	}

	// --chunk-size pages the list (client-go's pager): four tokens in
	// pages of one are four requests with continue tokens, one table.
	paged := kubectl(r, "list", "-n", ns, "--chunk-size", "1", "-o", "name", "-v=6")
	mustSucceed(t, paged, "list --chunk-size 1")
	if n := strings.Count(paged.Stderr, "limit=1"); n < 4 || !strings.Contains(paged.Stderr, "continue=") || strings.Count(paged.Stdout, "\n") != 4 {
		t.Errorf("list --chunk-size 1: %d paged requests, stdout:\n%s", n, paged.Stdout)
	}
	names := kubectl(r, "list", "-n", ns, "-o", "name")
	mustSucceed(t, names, "list -o name")
	for _, n := range []string{"never", "zero", "old", "day"} {
		if !strings.Contains(names.Stdout, "clusterregistrationtoken.fleet.cattle.io/"+n+"\n") {
			t.Errorf("-o name lacks %s:\n%s", n, names.Stdout)
		}
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	js := kubectl(r, "list", "-n", ns, "-o", "json")
	if err := json.Unmarshal([]byte(js.Stdout), &list); err != nil || len(list.Items) != 4 {
		t.Errorf("list -o json: %v, %d items", err, len(list.Items))
	}

	get := kubectl(r, "get", "day", "-n", ns, "-o", "yaml")
	mustSucceed(t, get, "get -o yaml")
	// A List: the token first, then its registrations (none here).
	var gotList struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := yaml.Unmarshal([]byte(get.Stdout), &gotList); err != nil || gotList.Kind != "List" || len(gotList.Items) != 1 || gotList.Items[0]["kind"] != "ClusterRegistrationToken" {
		t.Errorf("get -o yaml: %v\n%s", err, get.Stdout)
	}
	if row := rows(t, kubectl(r, "get", "day", "-n", ns, "--no-headers").Stdout); len(row) != 1 || row["day"] == nil {
		t.Errorf("get table: %q", row)
	}
	missing := kubectl(r, "get", "nope", "-n", ns)
	if missing.Code != 1 || !strings.Contains(missing.Stderr, `ClusterRegistrationToken "nope" not found in namespace "`+ns+`": list them with kubectl regtoken list -n `+ns) {
		t.Errorf("get of a missing token: %s", missing)
	}

	// --expired: the dry run names only the expired token and deletes
	// nothing; then it goes, and only it.
	dry := kubectl(r, "delete", "--expired", "-n", ns, "--dry-run")
	mustSucceed(t, dry, "delete --expired --dry-run")
	if !strings.Contains(dry.Stdout, "clusterregistrationtoken.fleet.cattle.io/old deleted") || strings.Count(dry.Stdout, "\n") != 1 || !strings.Contains(dry.Stdout, "(dry run)") {
		t.Errorf("delete --expired --dry-run:\n%s", dry.Stdout)
	}
	if !tokenExists(t, ns, "old") {
		t.Fatal("--dry-run deleted the token")
	}
	server := kubectl(r, "delete", "zero", "-n", ns, "--dry-run=server")
	mustSucceed(t, server, "delete --dry-run=server")
	if !tokenExists(t, ns, "zero") {
		t.Fatal("--dry-run=server deleted the token")
	}
	mustSucceed(t, kubectl(r, "delete", "--expired", "-n", ns), "delete --expired")
	if tokenExists(t, ns, "old") || !tokenExists(t, ns, "day") || !tokenExists(t, ns, "never") {
		t.Error("delete --expired removed the wrong tokens")
	}
	none := kubectl(r, "delete", "--expired", "-n", ns)
	if none.Code != 0 || !strings.Contains(none.Stderr, "No expired") {
		t.Errorf("delete --expired with none expired: %s", none)
	}
	del := kubectl(r, "delete", "day", "never", "-n", ns)
	mustSucceed(t, del, "delete two names")
	if tokenExists(t, ns, "day") || tokenExists(t, ns, "never") {
		t.Error("delete left a named token")
	}
	gone := kubectl(r, "delete", "day", "-n", ns)
	if gone.Code != 1 || strings.Count(gone.Stderr, "\n") != 1 || !strings.Contains(gone.Stderr, "not found") {
		t.Errorf("delete of a missing token: %s", gone)
	}
}

// Token names complete from the cluster.
func TestCompletionOfTokenNames(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "complete")
	putToken(t, ns, "alpha", "", false)
	putToken(t, ns, "beta", "", false)
	r := newRunner(t)
	for _, sub := range []string{"get", "describe", "values", "helm", "delete"} {
		res := r.Kubectl("regtoken", "__complete", "--kubeconfig", env.Kubeconfig, "-n", ns, sub, "")
		mustSucceed(t, res, "__complete "+sub)
		if !strings.Contains(res.Stdout, "alpha\n") || !strings.Contains(res.Stdout, "beta\n") {
			t.Errorf("completion of %s: %q", sub, res.Stdout)
		}
	}
	res := r.Kubectl("regtoken", "__complete", "--kubeconfig", env.Kubeconfig, "-n", ns, "delete", "alpha", "")
	if strings.Contains(res.Stdout, "alpha\n") || !strings.Contains(res.Stdout, "beta\n") {
		t.Errorf("delete completion offers a name already given: %q", res.Stdout)
	}
}
