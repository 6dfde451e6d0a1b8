// Package shellquote quotes words for a POSIX shell, so that a command we
// print can be pasted and runs with exactly the argv we meant, whatever a
// label, URL or token contains.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package shellquote

import "strings"

// Quote returns s as one shell word. Words made only of characters no
// shell treats specially are left bare for readability; anything else is
// single-quoted, the one quoting in which nothing is special.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word and joins them with spaces.
func Join(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " ")
}

func isSafe(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_./:,+@%", r):
		case r == '=':
			// an argument; only a command's leading words are assignments
		default:
			return false
		}
	}
	return true
}
