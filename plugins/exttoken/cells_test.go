package exttoken

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// Free server text in a table cell (an ext token's kind and user, a v3
// token's kind, user and cluster, a setting's value) is escaped to one
// line and cut to printer.CellWidth, as descriptions are: a line break
// would break the table, and one long value would pad every row.
func TestFreeTextCellsAreEscapedAndCut(t *testing.T) {
	hostile := "a\nb\x1b]0;pwned\x07" + strings.Repeat("x", 200)
	cell := printer.Cell(hostile)
	for _, c := range []struct {
		name  string
		args  []string
		obj   runtime.Object
		cells int // how many cells hold the text
	}{
		{"list --show-expiry: kind and user", []string{"list", "--show-expiry", "-o", "wide"},
			extTok("t1", hostile, time.Hour, 0, kindOf(hostile)), 2},
		{"legacy list: kind, user and cluster, and the never-expiring summary's kind", []string{"legacy", "list", "-o", "wide"},
			v3Tok("t1", hostile, time.Hour, 0, set(hostile, "metadata", "labels", "authn.management.cattle.io/kind"), set(hostile, "clusterName"), set(hostile, "userId")), 4},
		{"settings: value", []string{"settings"}, settingObj("auth-token-max-ttl-minutes", hostile, "0"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, newRancher(t, c.obj), c.args...)
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			if n := strings.Count(res.Stdout, cell); n != c.cells {
				t.Errorf("want %d cells %q, found %d in\n%s", c.cells, cell, n, res.Stdout)
			}
			if strings.ContainsAny(res.Stdout, "\x1b\x07") || strings.Contains(res.Stdout, strings.Repeat("x", 100)) {
				t.Errorf("raw or uncut server text in\n%s", res.Stdout)
			}
		})
	}
}
