package fleet

import (
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// bashArgv is the argv a real bash hands helm for the printed line.
func bashArgv(t testing.TB, line string) []string {
	t.Helper()
	t.Helper()
	return shelltest.Argv(t, "", line, "helm")
}

// helmSet decodes one --set-string/--set-file argument the way helm's
// strvals parser reads it: key segments split at unescaped '.', the key
// ends at '=', '\' escapes the next character, a value ends at an
// unescaped ',' and an unescaped leading '{' starts a list.
func helmSet(arg string) (path []string, value string, err error) {
	r := []rune(arg)
	i := 0
	var seg []rune
	for ; i < len(r); i++ {
		switch c := r[i]; c {
		case '\\':
			i++
			if i == len(r) {
				return nil, "", errors.New("trailing backslash in key")
			}
			seg = append(seg, r[i])
		case '.':
			path = append(path, string(seg))
			seg = nil
		case '=':
			path = append(path, string(seg))
			goto value
		case '[', ',':
			return nil, "", errors.New("unescaped " + string(c) + " in key")
		default:
			seg = append(seg, c)
		}
	}
	return nil, "", errors.New("no '=' in " + arg)
value:
	i++
	if i < len(r) && r[i] == '{' {
		return nil, "", errors.New("value parses as a list")
	}
	var v []rune
	for ; i < len(r); i++ {
		switch c := r[i]; c {
		case '\\':
			i++
			if i == len(r) {
				return nil, "", errors.New("trailing backslash in value")
			}
			v = append(v, r[i])
		case ',':
			return nil, "", errors.New("unescaped ',' in value: helm would start another key")
		default:
			v = append(v, c)
		}
	}
	return path, string(v), nil
}

// helmValuesList decodes --values as pflag's string slice does (one CSV
// record).
func helmValuesList(arg string) ([]string, error) {
	return csv.NewReader(strings.NewReader(arg)).Read()
}

func TestHelmInstallArgv(t *testing.T) {
	h := HelmInstall{
		Labels:          []Label{{"env", "prod"}, {"example.com/tier", "gold"}},
		ClientID:        "id-1",
		APIServerURL:    "https://fleet.example.com:6443",
		APIServerCAFile: "ca.pem",
		ValuesFile:      "values.yaml",
		ChartVersion:    "0.16.1",
	}
	want := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait",
		"--set-string", "labels.env=prod",
		"--set-string", `labels.example\.com/tier=gold`,
		"--set-string", "clientID=id-1",
		"--set-string", "apiServerURL=https://fleet.example.com:6443",
		"--set-file", "apiServerCA=ca.pem",
		"--values", "values.yaml",
		"--version", "0.16.1",
		"fleet-agent", "fleet/fleet-agent"}
	if got := h.Argv(); !slices.Equal(got, want) {
		t.Errorf("Argv:\n got %q\nwant %q", got, want)
	}
	if got := bashArgv(t, shellquote.Join(h.Argv())); !slices.Equal(got, want) {
		t.Errorf("bash reads Line() as\n %q\nwant %q", got, want)
	}
	minimal := HelmInstall{ValuesFile: "values.yaml"}.Argv()
	if want := []string{"helm", "-n", "cattle-fleet-system", "install", "--create-namespace", "--wait", "--values", "values.yaml", "fleet-agent", "fleet/fleet-agent"}; !slices.Equal(minimal, want) {
		t.Errorf("minimal Argv %q, want %q", minimal, want)
	}
	if got, want := RepoAddArgv(), []string{"helm", "repo", "add", "fleet", "https://rancher.github.io/fleet-helm-charts/"}; !slices.Equal(got, want) {
		t.Errorf("RepoAddArgv %q, want %q", got, want)
	}
}

// What helm makes of the escaped arguments is what was meant.
func TestHelmEscapingRoundTrips(t *testing.T) {
	for _, c := range []struct{ key, value string }{
		{"example.com/tier", "gold"},
		{`a\b`, `c\d`},
		{"k=v", "x=y"},
		{"list[0]", "{a,b}"},
		{"comma,key", "comma,value"},
		{"k", "{not a list}"},
		{"k", ""},
	} {
		arg := "labels." + helmKey(c.key) + "=" + helmValue(c.value)
		path, value, err := helmSet(arg)
		if err != nil {
			t.Errorf("%q: %v", arg, err)
			continue
		}
		if !slices.Equal(path, []string{"labels", c.key}) || value != c.value {
			t.Errorf("%q decodes to %q=%q, want [labels %q]=%q", arg, path, value, c.key, c.value)
		}
	}
	for _, p := range []string{"values.yaml", "a,b.yaml", `we"ird.yaml`, " lead.yaml", "new\nline.yaml", "-dash.yaml"} {
		got, err := helmValuesList(helmListItem(flagSafePath(p)))
		want := flagSafePath(p)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("--values %q decodes to %q (%v), want [%q]", p, got, err, want)
		}
	}
}
