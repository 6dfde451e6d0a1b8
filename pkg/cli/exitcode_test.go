package cli

import (
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestRunExitsWithTheCodeOfAnExitWithoutAnErrorLine(t *testing.T) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error {
		return &Exit{Code: 3, Message: "2 tokens expire within 7d"}
	}}
	if code := Run(root, nil, streams, nil); code != 3 || out.String() != "" || errOut.String() != "2 tokens expire within 7d\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestFailIfAnyExits3OnlyWhenSetAndSomethingWasShown(t *testing.T) {
	for _, tc := range []struct {
		set  bool
		n    int
		want string // "" : nil
	}{
		{true, 2, "exit 3: bootstrap tokens shown: 2; exit 3 (--fail-if-any)"},
		{true, 0, ""},
		{false, 5, ""},
	} {
		err := FailIfAny(tc.set, tc.n, "bootstrap tokens")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("FailIfAny(%v, %d) = %q, want %q", tc.set, tc.n, got, tc.want)
		}
	}
}
