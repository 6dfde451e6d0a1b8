package cli

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Cobra's argument errors, reworded as kubectl says them.
var argErrors = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^accepts (\d+) arg\(s\), received (\d+)$`), "takes exactly $1 argument(s), got $2"},
	{regexp.MustCompile(`^accepts at most (\d+) arg\(s\), received (\d+)$`), "takes at most $1 argument(s), got $2"},
	{regexp.MustCompile(`^requires at least (\d+) arg\(s\), only received (\d+)$`), "needs at least $1 argument(s), got $2"},
	{regexp.MustCompile(`^accepts between (\d+) and (\d+) arg\(s\), received (\d+)$`), "takes $1 to $2 arguments, got $3"},
	{regexp.MustCompile(`^unknown command "(.*)" for ".*"$`), "has no argument or subcommand \"$1\""},
	{regexp.MustCompile(`^invalid argument "(.*)" for ".*"$`), "does not accept \"$1\""},
}

// usageError turns an argument error of cmd into one line: the command,
// what was wrong, its usage line and where to read more.
func usageError(cmd *cobra.Command, err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	for _, e := range argErrors {
		if e.re.MatchString(msg) {
			msg = e.re.ReplaceAllString(msg, e.with)
			break
		}
	}
	path := cmd.CommandPath()
	return fmt.Errorf("%s %s; usage: %s; see '%s --help'", path, msg, useLine(cmd), path)
}

// flagError is the root's flag error function: cobra's message (unknown
// flag, bad value) plus where to read more, for every command.
func flagError(cmd *cobra.Command, err error) error {
	return fmt.Errorf("%s; see '%s --help'", strings.Join(strings.Fields(err.Error()), " "), cmd.CommandPath())
}

// rootArgs refuses an unknown subcommand of the root as kubectl does,
// with cobra's suggestions on the same line.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	return fmt.Errorf("%s; see '%s --help' for the commands", msg, cmd.CommandPath())
}

func useLine(cmd *cobra.Command) string {
	return strings.TrimSuffix(cmd.UseLine(), " [flags]")
}

// explainArgErrors makes every command's argument check fail with
// usageError; run once the tree is complete.
func explainArgErrors(c *cobra.Command) {
	if c.Args != nil && c.HasParent() {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError(cmd, err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		explainArgErrors(sub)
	}
}
