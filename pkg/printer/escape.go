package printer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/cli-runtime/pkg/printers"
)

// EscapeText makes server-supplied text safe to print by hand on one
// line: ESC and CR as cli-runtime's printers escape them, line breaks and
// tabs shown rather than obeyed, and any other control character (BEL,
// C1 CSI, ...) as \xNN. The table printer escapes only ESC and CR, which
// is enough inside a table; a line written by hand, or a block of lines
// redrawn in place, must also stay one line.
func EscapeText(s string) string {
	return controlHex(printers.EscapeTerminal(strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)))
}

// controlHex spells the control characters EscapeTerminal leaves.
func controlHex(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CellWidth is how many characters of free text (a description) a table
// cell shows: one 100,000-character value would otherwise pad every row
// of the table to its width.
const CellWidth = 64

// Cell is free server text for a table cell: escaped to one line
// (EscapeText) and cut to CellWidth characters, "..." marking the cut.
// The machine formats carry the text whole.
func Cell(s string) string {
	s = EscapeText(s)
	if utf8.RuneCountInString(s) <= CellWidth {
		return s
	}
	r := []rune(s)
	return string(r[:CellWidth-3]) + "..."
}
