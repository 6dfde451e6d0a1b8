//go:build e2e

package regtoken

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Values that mean something to a shell or to helm — command
// substitution, quotes, spaces, newlines, backslashes, commas — in every
// free-form input that reaches the printed helm command (client ID, API
// server URL, chart version, the values file's path) stay literal: bash
// reads back exactly the argv expected, written out here by hand, and
// nothing runs. (Label values cannot carry these: Fleet makes them
// Kubernetes labels, so create refuses them; see TestBadInput. The fuzz
// test FuzzHelmCommand covers arbitrary label keys and values.)
func TestHostileValuesStayLiteral(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "hostile")
	startEmulator(t, emulatorOpts(ns))
	r := newRunner(t)
	marks := t.TempDir()
	// Relative marker files: bash runs in marks, so a value that ran as a
	// command would create one there.
	mark := func(n string) string { return "mark-" + n }

	dir := "dir with 'quote' and $(touch " + mark("dir") + ")"
	if err := os.Mkdir(filepath.Join(r.Dir, dir), 0o700); err != nil {
		t.Fatal(err)
	}
	valuesFile := dir + "/va lues\n`touch " + mark("file") + "`.yaml"
	// No '"', '\' or control characters: the chart cannot carry them
	// (refused, see TestBadInput).
	clientID := "$(touch " + mark("client") + ") it's `quoted` back, comma"
	url := "https://fleet.example.com/k8s/clusters/c-1?next=$(touch%20x)"
	version := "1.0; touch " + mark("version")

	res := kubectl(r, "create", "hostile", "-n", ns, "--ttl", "1h", "--values-file", valuesFile,
		"--client-id", clientID, "--api-server-url", url, "--chart-version", version)
	mustSucceed(t, res, "create with hostile values")

	want := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait",
		// helm's --set parser: backslash and comma escaped.
		"--set-string", "clientID=$(touch " + mark("client") + ") it's `quoted` back\\, comma",
		"--set-string", "apiServerURL=https://fleet.example.com/k8s/clusters/c-1?next=$(touch%20x)",
		// helm's --values list is CSV: a path with a line break is quoted.
		"--values", "\"dir with 'quote' and $(touch " + mark("dir") + ")/va lues\n`touch " + mark("file") + "`.yaml\"",
		"--version", "1.0; touch " + mark("version"),
		"fleet-agent", "fleet/fleet-agent"}
	if argv := bashArgvIn(t, marks, helmInstallLine(t, res.Stdout)); !slices.Equal(argv, want) {
		t.Errorf("helm argv:\n got %q\nwant %q", argv, want)
	}
	for _, m := range []string{"dir", "file", "client", "version"} {
		if _, err := os.Stat(filepath.Join(marks, mark(m))); err == nil {
			t.Errorf("%s: a value was run as a command", m)
		}
	}
	if m := fileMode(t, filepath.Join(r.Dir, valuesFile)); m != 0o600 {
		t.Errorf("values file mode %o", m)
	}
	got, _ := os.ReadFile(filepath.Join(r.Dir, valuesFile))
	if string(got) != string(valuesSecret(t, ns, "hostile").Data["values"]) {
		t.Error("the values file differs from the Secret")
	}
}
