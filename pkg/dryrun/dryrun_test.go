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

func TestValidateClient(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{None, ""},
		{Client, ""},
		{Server, `--dry-run=server is not possible: the supervisor has no dry run; use --dry-run=client to see what would be done`},
		{"all", `invalid --dry-run "all": use "none" or "client"`},
	} {
		got := ""
		if err := ValidateClient(tc.v, "the supervisor has no dry run"); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("ValidateClient(%q) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
