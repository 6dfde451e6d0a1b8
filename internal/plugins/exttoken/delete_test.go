package exttoken

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestDeleterReportsEachItem: item by item, preconditions passed on, one
// failure does not stop the rest, and the error counts.
func TestDeleterReportsEachItem(t *testing.T) {
	var out bytes.Buffer
	var calls []string
	d := deleter{
		streams: genericiooptions.IOStreams{Out: &out}, resource: "token.ext.cattle.io", dryRun: "none",
		del: func(_ context.Context, tg target, opts metav1.DeleteOptions) error {
			calls = append(calls, tg.name)
			if tg.uid != "" && (opts.Preconditions == nil || *opts.Preconditions.UID != tg.uid) {
				t.Errorf("no UID precondition for %s", tg.name)
			}
			if tg.name == "token-bad" {
				return errors.New("token \"token-bad\" not found")
			}
			return nil
		},
	}
	err := d.run(context.Background(), []target{{name: "token-a", uid: "1"}, {name: "token-bad"}, {name: "token-c"}})
	if len(calls) != 3 || err == nil || !strings.Contains(err.Error(), "deleted 2 of 3") {
		t.Errorf("calls %v, err %v", calls, err)
	}
	if !strings.Contains(out.String(), `token.ext.cattle.io "token-a" deleted`) || !strings.Contains(out.String(), `"token-c" deleted`) {
		t.Errorf("output %q", out.String())
	}
	calls, out = nil, bytes.Buffer{}
	d.dryRun = "client"
	if err := d.run(context.Background(), []target{{name: "token-a"}}); err != nil || len(calls) != 0 || !strings.Contains(out.String(), "(dry run)") {
		t.Errorf("client dry run: calls %v err %v out %q", calls, err, out.String())
	}
	if err := validateDelete(nil, false, "--expired", "none", 500, validateTokenName); err == nil {
		t.Error("nothing to delete accepted")
	}
}
