package printer

import (
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// DescribeLine writes one line of a kubectl-describe-style block: the key
// and its colon padded to 15 columns and a space (the longest key,
// bootstrap's "Secret matches:", fills them), then the value escaped to
// one inert line (EscapeText), since describe values are mostly server
// text.
func DescribeLine(w io.Writer, key, value string) {
	fmt.Fprintf(w, "%-15s %s\n", key+":", EscapeText(value))
}

// Stamp is a time as a describe line shows it: RFC3339 in UTC and how
// long before now. The zero time is a timestamp the object lacks,
// <unknown> as in the tables' AGE; a time that is never reached (an
// expiry) is the caller's to say, in the one word (ttl.Never).
func Stamp(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), duration.HumanDuration(now.Sub(t)))
}
