package exttoken

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// defaultSettings are the token settings as a fresh Rancher has them:
// every value unset, so each is its documented default; newer adds the
// settings only newer Rancher has.
func defaultSettings(newer bool) []runtime.Object {
	var objs []runtime.Object
	for _, info := range knownSettings {
		if info.Newer && !newer {
			continue
		}
		objs = append(objs, settingObj(info.Name, "", info.Default))
	}
	return append(objs, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "management.cattle.io/v3", "kind": "Feature",
		"metadata": map[string]any{"name": "token-hashing"}, "spec": map[string]any{"value": nil}, "status": map[string]any{"default": false}}})
}

// Every example in settings' and settings set's help works when pasted
// on a Rancher with default settings, older or newer.
func TestSettingsHelpExamplesWorkWhenPastedOnDefaultSettings(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	settings := NewCmdSettings(clitest.NewFactory(clitest.Options{}), streams)
	set, _, err := settings.Find([]string{"set"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, example := range []string{settings.Example, set.Example} {
		for _, line := range strings.Split(example, "\n") {
			line = strings.TrimSpace(line)
			rest, ok := strings.CutPrefix(line, "kubectl exttoken ")
			if !ok {
				continue
			}
			n++
			for _, newer := range []bool{false, true} {
				f := newRancher(t, defaultSettings(newer)...)
				if res := run(t, f, shelltest.Argv(t, "", rest)...); res.Exit != 0 {
					t.Errorf("example %q (newer Rancher %t): %s", line, newer, res)
				}
			}
		}
	}
	if n < 4 {
		t.Fatalf("found %d examples in settings' help, want 4 or more", n)
	}
}

// -o wide adds what 0 means and whether each setting was customized: it
// is not the table again.
func TestSettingsWideAddsZeroMeansAndCustomized(t *testing.T) {
	var objs []runtime.Object
	for _, o := range defaultSettings(true) {
		if o.(*unstructured.Unstructured).GetName() == "auth-user-session-ttl-minutes" {
			o = settingObj("auth-user-session-ttl-minutes", "480", "960") // customized
		}
		objs = append(objs, o)
	}
	f := newRancher(t, objs...)
	table, wide := run(t, f, "settings"), run(t, f, "settings", "-o", "wide")
	if table.Exit != 0 || wide.Exit != 0 || table.Stdout == wide.Stdout {
		t.Fatalf("table:\n%s\nwide:\n%s", table, wide)
	}
	clitest.Golden(t, "settings-wide", wide.String())
}
