package cli

import (
	"strings"
)

// LongDesc formats a command's long help: the common indentation of a Go
// raw string removed, and each paragraph's lines joined into one (the
// terminal wraps). Unlike kubectl's templates.LongDesc it renders no
// markdown, so "<placeholders>" and "<TAB>" survive and no line gains a
// stray leading space. A paragraph whose lines are indented further, or
// that is a list ("- ", "* "), keeps its lines.
func LongDesc(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	var paras [][]string
	var cur []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, strings.TrimRight(l[indent:], " \t"))
	}
	if cur != nil {
		paras = append(paras, cur)
	}
	out := make([]string, 0, len(paras))
	for _, p := range paras {
		if keepsLines(p) {
			out = append(out, strings.Join(p, "\n"))
			continue
		}
		out = append(out, strings.Join(p, " "))
	}
	return strings.Join(out, "\n\n")
}

func keepsLines(p []string) bool {
	for _, l := range p {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") {
			return true
		}
	}
	return false
}
