package dryrun

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestFlag(t *testing.T) {
	for args, want := range map[string]string{"": None, "--dry-run": Client, "--dry-run=server": Server, "--dry-run=client": Client, "--dry-run=none": None} {
		var got string
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		AddFlag(cmd, &got, "created")
		var argv []string
		if args != "" {
			argv = []string{args}
		}
		if err := cmd.ParseFlags(argv); err != nil {
			t.Fatal(err)
		}
		if got != want || Validate(got) != nil {
			t.Errorf("%q: got %q, want %q", args, got, want)
		}
	}
	if Validate("yes") == nil {
		t.Error("--dry-run=yes accepted")
	}
	if len(Request(Server)) != 1 || Request(Client) != nil || Request(None) != nil {
		t.Error("only a server dry run is sent as one")
	}
}
