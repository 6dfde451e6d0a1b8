package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The request classes decide what counts as discovery, which a target is
// judged on.
func TestRequestClass(t *testing.T) {
	for uri, want := range map[string]string{
		"/api?timeout=32s":               "discovery",
		"/apis":                          "discovery",
		"/api/v1":                        "discovery",
		"/apis/fleet.cattle.io":          "discovery",
		"/apis/fleet.cattle.io/v1alpha1": "discovery",
		"/openapi/v3":                    "discovery",
		"/openapi/v3/apis/fleet.cattle.io/v1alpha1?hash=x": "discovery",
		"/openapi/v2":         "discovery",
		"/version?timeout=5s": "version",
		"/api/v1/namespaces":  "object",
		"/api/v1/namespaces/kube-system/secrets?limit=500":                      "object",
		"/apis/ext.cattle.io/v1/tokens":                                         "object",
		"/apis/fleet.cattle.io/v1alpha1/namespaces/a/clusterregistrationtokens": "object",
	} {
		if got := requestClass(uri); got != want {
			t.Errorf("requestClass(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestSummarizeAndRatios(t *testing.T) {
	s := summarize([]float64{5, 1, 3, 2, 4})
	if s.Median != 3 || s.Min != 1 || s.Max != 5 || s.N != 5 {
		t.Errorf("odd count: %+v", s)
	}
	if s := summarize([]float64{4, 1, 3, 2}); s.Median != 2.5 {
		t.Errorf("even count median = %v, want 2.5", s.Median)
	}
	if s := summarize(nil); s.N != 0 {
		t.Errorf("empty: %+v", s)
	}
	r := pairRatios([]float64{10, 20, 30}, []float64{5, 0, 10})
	if len(r) != 2 || r[0] != 2 || r[1] != 3 {
		t.Errorf("pairRatios skips a zero divisor and pairs by round: %v", r)
	}
}

// The audit reader keeps the bench user's completed requests received
// after the flow started and ignores everything else in the window.
func TestAuditSince(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	start := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	line := func(stage, user, verb, uri, ua string, at time.Time) string {
		return `{"kind":"Event","auditID":"x","stage":"` + stage + `","requestURI":"` + uri + `","verb":"` + verb +
			`","user":{"username":"` + user + `"},"userAgent":"` + ua + `","responseStatus":{"code":200},"requestReceivedTimestamp":"` +
			at.Format(time.RFC3339Nano) + `","stageTimestamp":"` + at.Add(3*time.Millisecond).Format(time.RFC3339Nano) + `"}` + "\n"
	}
	before := line("ResponseComplete", benchUser, "get", "/api/v1/namespaces/a", "kubectl/v1.32.4", start.Add(-time.Second))
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &auditLog{path: path, user: benchUser}
	off, err := a.offset()
	if err != nil {
		t.Fatal(err)
	}
	rest := line("ResponseComplete", benchUser, "create", "/api/v1/namespaces/kube-system/secrets", "kubectl-bootstrap/dev", start.Add(time.Millisecond)) +
		line("ResponseComplete", "admin", "get", "/api/v1/namespaces/x/secrets/y", "bench/v0", start.Add(2*time.Millisecond)) +
		line("ResponseComplete", benchUser, "get", "/api?timeout=32s", "kubectl/v1.32.4 (linux/amd64)", start.Add(3*time.Millisecond)) +
		line("ResponseComplete", benchUser, "get", "/version", "kubectl-dispatcher/v1.0", start.Add(4*time.Millisecond)) +
		line("ResponseComplete", benchUser, "get", "/api/v1/namespaces/b", "kubectl/v1.32.4", start.Add(-time.Millisecond)) +
		`{"kind":"Event","stage":"ResponseCompl` // a line still being written
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(rest); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	evs, err := a.since(off, start)
	if err != nil {
		t.Fatal(err)
	}
	fc := countFlow(evs)
	if fc.Total != 3 || fc.Object != 1 || fc.Discovery != 1 || fc.Version != 1 {
		t.Fatalf("counted %+v, want 3 requests: 1 object, 1 discovery, 1 version", fc)
	}
	if fc.ByClient["kubectl-bootstrap"] != 1 || fc.ByClient["kubectl"] != 1 || fc.ByClient["kubectl-dispatcher"] != 1 {
		t.Errorf("by client: %v", fc.ByClient)
	}
	if fc.ServerMs < 8.9 || fc.ServerMs > 9.1 {
		t.Errorf("server time %v ms, want 9 (3 × 3 ms)", fc.ServerMs)
	}
	if !strings.HasPrefix(fc.Lines[0], "kubectl-bootstrap CREATE /api/v1/namespaces/kube-system/secrets") {
		t.Errorf("first line %q", fc.Lines[0])
	}
}

func TestModuleOf(t *testing.T) {
	for sym, want := range map[string]string{
		"k8s.io/api/core/v1.(*PodSpec).Unmarshal":                  "k8s.io/api",
		"type:*k8s.io/api/core/v1.Pod":                             "k8s.io/api",
		"github.com/google/gnostic-models/openapiv3.NewSchema":     "github.com/google/gnostic-models",
		"sigs.k8s.io/kustomize/kyaml/openapi.init":                 "sigs.k8s.io/kustomize/kyaml",
		"sigs.k8s.io/json/internal/golang/encoding/json.Unmarshal": "sigs.k8s.io/json",
		"golang.org/x/net/idna.idnaValues":                         "golang.org/x/net",
		"crypto/internal/fips140/sha3.keccakF1600.abi0":            "std:crypto",
		"go:func.*": "Go runtime and func metadata",
		"k8s.io/apimachinery/pkg/util/sets.Set[go.shape.string].Insert": "k8s.io/apimachinery",
	} {
		if got := moduleOf(sym); got != want {
			t.Errorf("moduleOf(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestPprofParsing(t *testing.T) {
	top := `Duration: 1.46s, Total samples = 480ms (32.92%)
Showing nodes accounting for 330ms, 68.75% of 480ms total
      flat  flat%   sum%        cum   cum%
      30ms  6.25%  6.25%      120ms 25.00%  runtime.mallocgc
         0     0%  6.25%      380ms 79.17%  main.run
      20ms  4.17% 10.42%       20ms  4.17%  aeshashbody`
	if d, ok := totalSamples(top); !ok || d != 480*time.Millisecond {
		t.Errorf("totalSamples = %v, %v", d, ok)
	}
	if got := topFunctions(top, 5); got != "runtime.mallocgc 6.25%, aeshashbody 4.17%" {
		t.Errorf("topFunctions = %q", got)
	}
}

func TestDisplayArgv(t *testing.T) {
	got := displayArgv([]string{"/x/bin/testbin/kubeadm", "token", "list", "--kubeconfig", "/tmp/k"})
	if got != "kubeadm token list" {
		t.Errorf("displayArgv = %q", got)
	}
}

// The default request budget's floor: two writes a cluster, the burst
// free, the rest at the budget's rate.
func TestBudgetFloorOfTheDefaultRequestBudget(t *testing.T) {
	for n, want := range map[int]time.Duration{20: 0, 50: 0, 100: 2 * time.Second, 1000: 38 * time.Second} {
		if got := budgetFloor(n); got != want {
			t.Errorf("budgetFloor(%d) = %s, want %s", n, got, want)
		}
	}
}

// column summarizes one measure of every split, in order.
func TestColumnSummarizesOneMeasureOfEverySplit(t *testing.T) {
	type split struct{ a, b float64 }
	s := column([]split{{1, 10}, {3, 30}, {2, 20}}, func(x split) float64 { return x.b })
	if s.Median != 20 || s.Min != 10 || s.Max != 30 {
		t.Errorf("column = %+v", s)
	}
}
