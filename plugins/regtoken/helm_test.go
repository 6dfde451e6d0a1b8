package regtoken

import (
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestHelmPrintsTheInstallForAToken(t *testing.T) {
	inTempDir(t)
	f := ready("edge-1", "24h", fleetValues("edge-1")).factory(t)
	res := run(t, f, "helm", "edge-1", "--label", "env=prod", "--chart-version", "0.16.1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "helm", res.String())
	wantRequests(t, f.Requests(), "get clusterregistrationtokens.fleet.cattle.io fleet-default/edge-1", "get secrets fleet-default/edge-1")
}

func TestHelmHelp(t *testing.T) {
	golden(t, "helm-help", run(t, world{}.factory(t), "helm", "--help").Stdout)
}

// The chart refuses any namespace but internal.systemNamespace.
func TestHelmNamespaceIsTheControllersSystemNamespace(t *testing.T) {
	inTempDir(t)
	v := fleetValues("edge-1")
	v["internal"] = map[string]any{"systemNamespace": "fleet-system"}
	f := ready("edge-1", "", v).factory(t)
	res := run(t, f, "helm", "edge-1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	if argv := helmArgv(t, res.Stdout); !slices.Equal(argv[:3], []string{"helm", "-n", "fleet-system"}) {
		t.Errorf("helm argv %q, want -n fleet-system", argv)
	}
	if !strings.Contains(res.Stderr, "note: the Fleet controller runs in namespace fleet-system") {
		t.Errorf("no note on the namespace: %s", res.Stderr)
	}
}

// A ≤v0.15 controller writes no tokenName; the chart requires it.
func TestHelmSetsTokenNameForControllersThatDoNotWriteIt(t *testing.T) {
	inTempDir(t)
	v := fleetValues("edge-1")
	delete(v, "tokenName")
	f := ready("edge-1", "", v).factory(t)
	res := run(t, f, "helm", "edge-1")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	if got := flagValues(helmArgv(t, res.Stdout), "--set-string"); !slices.Equal(got, []string{"tokenName=edge-1"}) {
		t.Errorf("--set-string %q, want tokenName=edge-1", got)
	}
	var about []string
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(l, "tokenName") {
			about = append(about, l)
		}
	}
	if len(about) != 1 || !strings.HasPrefix(about[0], "note: ") || strings.Contains(res.Stderr, "warning") {
		t.Errorf("want one note on tokenName and no warning, got:\n%s", res.Stderr)
	}
}

func TestHelmOfAnExpiredTokenIsRefused(t *testing.T) {
	inTempDir(t)
	res := run(t, ready("old", "30m", fleetValues("old")).factory(t), "helm", "old")
	if res.Exit != 1 || res.Stdout != "" || !strings.Contains(res.Stderr, "expired at 2026-11-28T09:30:00Z (ttl 30m)") {
		t.Fatalf("%s", res)
	}
}

func writeValuesFile(t *testing.T, path string, v map[string]any) {
	t.Helper()
	raw, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// helm --values-file F, where F holds another token's values, would
// register the cluster with that token.
func TestHelmRefusesAValuesFileOfAnotherToken(t *testing.T) {
	other := fleetValues("edge-2")
	other["token"] = "another-credential"
	stale := fleetValues("edge-1")
	stale["token"] = "an-older-credential"
	for name, c := range map[string]struct {
		file map[string]any
		want string
	}{
		"another name":       {other, `belongs to token "edge-2" in namespace "fleet-default"`},
		"another namespace":  {func() map[string]any { v := fleetValues("edge-1"); v["clusterNamespace"] = "elsewhere"; return v }(), `namespace "elsewhere"`},
		"another credential": {stale, "holds another credential"},
	} {
		t.Run(name, func(t *testing.T) {
			inTempDir(t)
			writeValuesFile(t, "v.yaml", c.file)
			res := run(t, ready("edge-1", "", fleetValues("edge-1")).factory(t), "helm", "edge-1", "--values-file", "v.yaml")
			if res.Exit != 1 || !strings.Contains(res.Stderr, c.want) || !strings.Contains(res.Stderr, "kubectl regtoken values edge-1 -n fleet-default --values-file edge-1-values.yaml") {
				t.Fatalf("want %q, got %s", c.want, res)
			}
		})
	}
	t.Run("its own file", func(t *testing.T) {
		inTempDir(t)
		writeValuesFile(t, "v.yaml", fleetValues("edge-1"))
		if res := run(t, ready("edge-1", "", fleetValues("edge-1")).factory(t), "helm", "edge-1", "--values-file", "v.yaml"); res.Exit != 0 {
			t.Fatalf("%s", res)
		}
	})
}

func TestHelmOfATokenWithoutValuesSaysToWait(t *testing.T) {
	inTempDir(t)
	f := world{tokens: tokensOf(tokenObj("edge-1", "", ""))}.factory(t)
	res := run(t, f, "helm", "edge-1")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "has no values yet") || !strings.Contains(res.Stderr, "kubectl regtoken values edge-1 -n fleet-default") {
		t.Fatalf("%s", res)
	}
}

// The controller's apiServerURL is server-supplied text: quoted in a note,
// its terminal control sequences are escaped.
func TestHelmEscapesServerTextInNotes(t *testing.T) {
	inTempDir(t)
	v := fleetValues("edge-1")
	v["apiServerURL"] = "https://evil.example.com/\x1b]0;pwned\x07"
	f := ready("edge-1", "", v).factory(t)
	res := run(t, f, "helm", "edge-1", "--api-server-url", "https://fleet.example.com:6443")
	if res.Exit != 0 || strings.Contains(res.Stderr, "\x1b") || !strings.Contains(res.Stderr, "overrides the controller's apiServerURL https://evil.example.com/^[]0;pwned") {
		t.Fatalf("%q", res.Stderr)
	}
}
