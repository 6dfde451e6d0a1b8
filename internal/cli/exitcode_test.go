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
