package shellquote

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// bashArgv has a real bash parse line as the arguments of printf and
// returns the words it saw, so a test checks quoting against the shell,
// not against our idea of it.
func bashArgv(t testing.TB, line string) []string {
	t.Helper()
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", `printf '%s\0' `+line)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash could not parse %q: %v: %s", line, err, errOut.String())
	}
	s := out.String()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}

func TestQuoteRoundTripsThroughBash(t *testing.T) {
	words := []string{
		"plain", "", " ", "a b", "it's", `"double"`, "$(touch /tmp/pwned)", "`id`", "${HOME}", "$HOME",
		"a\nb", "tab\there", "back\\slash", "*", "?", "[a]", "~", "~root", "#comment", "a;b", "a&&b", "a|b",
		"<in", ">out", "!", "{a,b}", "labels.env=prod", "--set-string", "https://h:6443/x?y=1&z=2", "K10abc::id.secret",
		"'", "''", "\x01ctrl", "ünï", "=", "a=b c",
	}
	got := bashArgv(t, Join(words))
	if len(got) != len(words) {
		t.Fatalf("bash saw %d words, want %d: %q", len(got), len(words), got)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: bash saw %q, want %q (quoted as %s)", i, got[i], words[i], Quote(words[i]))
		}
	}
}

func TestSafeWordsStayBare(t *testing.T) {
	for _, w := range []string{"helm", "--set-string", "labels.env=prod", "fleet/fleet-agent", "https://example.com:6443"} {
		if Quote(w) != w {
			t.Errorf("Quote(%q) = %q, want it bare", w, Quote(w))
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", "$(x)", "a\nb", "\\", "'\"'"} {
		f.Add(s, "second word")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		// bash cannot carry NUL bytes in arguments: no program can get one.
		if strings.ContainsRune(a, 0) || strings.ContainsRune(b, 0) {
			return
		}
		got := bashArgv(t, Join([]string{a, b}))
		if len(got) != 2 || got[0] != a || got[1] != b {
			t.Fatalf("bash saw %q, want %q", got, []string{a, b})
		}
	})
}
