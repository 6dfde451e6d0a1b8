package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRequestBudgetSetsTheManagementClientsRate(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443'}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: t}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		budget *RequestBudget
		qps    float32
		burst  int
	}{
		{"without --qps, the plugins' default", nil, 50, 100},
		{"--qps 7 --burst 9", &RequestBudget{QPS: 7, Burst: 9}, 7, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFactory("kubectl-test")
			f.ConfigFlags.KubeConfig = &kc
			if tc.budget != nil {
				tc.budget.Apply(f)
			}
			cfg, err := f.RESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.QPS != tc.qps || cfg.Burst != tc.burst {
				t.Fatalf("qps %g burst %d, want %g %d", cfg.QPS, cfg.Burst, tc.qps, tc.burst)
			}
		})
	}
	for _, b := range []RequestBudget{{QPS: 0, Burst: 1}, {QPS: 1, Burst: 0}} {
		if err := b.Validate(); err == nil {
			t.Errorf("%+v was accepted", b)
		}
	}
}
