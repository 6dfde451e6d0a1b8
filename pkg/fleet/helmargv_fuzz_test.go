package fleet

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// FuzzHelmCommand checks that the printed helm install, run by a real
// bash, yields exactly the argv we built, for any label, client ID, URL,
// path and version; and that helm's own parsing of each --set-string,
// --set-file and --values argument gives back the value we meant.
// Seeds live in testdata/fuzz/FuzzHelmCommand.
func FuzzHelmCommand(f *testing.F) {
	f.Add("env", "prod", "client-1", "https://fleet.example.com:6443", "ca.pem", "values.yaml", "0.16.1")
	f.Add("example.com/tier", "$(touch /tmp/pwned)", "`id`", "https://h/?a=1,b=2", "dir with space/ca.pem", "-v.yaml", "1.0; rm -rf /")
	f.Fuzz(func(t *testing.T, key, value, clientID, url, caFile, valuesFile, version string) {
		for _, s := range []string{key, value, clientID, url, caFile, valuesFile, version} {
			if strings.ContainsRune(s, 0) {
				return // no process argument can hold a NUL byte
			}
		}
		if valuesFile == "" {
			valuesFile = "values.yaml"
		}
		h := HelmInstall{Labels: []Label{{key, value}}, ClientID: clientID, APIServerURL: url, APIServerCAFile: caFile, ValuesFile: valuesFile, ChartVersion: version}
		argv := h.Argv()
		if got := bashArgv(t, shellquote.Join(h.Argv())); !slices.Equal(got, argv) {
			t.Fatalf("bash reads the printed line as\n %q\nwant %q\nline: %s", got, argv, shellquote.Join(h.Argv()))
		}
		for _, s := range []string{key, value, clientID, url, caFile, valuesFile} {
			if !utf8.ValidString(s) {
				return // helm reads runes: invalid UTF-8 cannot reach it intact (create refuses it)
			}
		}
		want := map[string]string{"labels." + key: value}
		if clientID != "" {
			want["clientID"] = clientID
		}
		if url != "" {
			want["apiServerURL"] = url
		}
		if caFile != "" {
			want["apiServerCA"] = caFile
		}
		for i := 0; i < len(argv)-1; i++ {
			switch argv[i] {
			case "--set-string", "--set-file":
				path, v, err := helmSet(argv[i+1])
				if err != nil {
					t.Fatalf("helm cannot read %s %q: %v", argv[i], argv[i+1], err)
				}
				k := strings.Join(path[:1], "")
				if len(path) == 2 && path[0] == "labels" {
					k = "labels." + path[1]
				} else if len(path) != 1 {
					t.Fatalf("helm reads %q as the nested key %q", argv[i+1], path)
				}
				if w, ok := want[k]; !ok || w != v {
					t.Fatalf("helm reads %s %q as %s=%q; want %q", argv[i], argv[i+1], k, v, w)
				}
				delete(want, k)
				i++
			case "--values":
				if strings.ContainsRune(valuesFile, '\r') {
					break // encoding/csv folds \r\n; create refuses such paths
				}
				got, err := helmValuesList(argv[i+1])
				if err != nil || len(got) != 1 || got[0] != flagSafePath(valuesFile) {
					t.Fatalf("helm reads --values %q as %q (%v), want [%q]", argv[i+1], got, err, flagSafePath(valuesFile))
				}
			}
		}
		if len(want) > 0 && key != "" {
			t.Fatalf("not passed to helm: %q", want)
		}
		if argv[len(argv)-2] != "fleet-agent" || argv[len(argv)-1] != "fleet/fleet-agent" {
			t.Fatalf("release and chart are not last: %q", argv)
		}
	})
}
