package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"
)

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// newCompletionCmd is `kubectl <plugin> completion SHELL`. Cobra's own
// would complete a command named after the root ("regtoken"), which no
// shell runs: the scripts here complete the binary, kubectl-<plugin>,
// and the help says how `kubectl <plugin> <TAB>` works (kubectl asks the
// kubectl_complete-<plugin> shim).
func newCompletionCmd(p Plugin) *cobra.Command {
	bin := p.Binary()
	return &cobra.Command{
		Use:   "completion SHELL",
		Short: "Print the shell completion script for " + bin,
		Long: LongDesc(fmt.Sprintf(`
			Print the completion script of %[1]s for bash, zsh, fish or
			powershell. Loaded into the shell, it completes "%[1]s <TAB>".

			For "kubectl %[2]s <TAB>", kubectl (1.26 or newer) runs an
			executable named kubectl_complete-%[2]s from PATH: put the shim of
			that name that ships in every release archive next to %[1]s.`, bin, p.Name)),
		Example: templates.Examples(fmt.Sprintf(`
			# Load completion into the current bash session
			source <(kubectl %[1]s completion bash)

			# Install it for zsh
			kubectl %[1]s completion zsh > "${fpath[1]}/_%[2]s"`, p.Name, bin)),
		ValidArgs:             completionShells,
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCompletion(cmd.Root(), bin, args[0], cmd.OutOrStdout())
		},
	}
}

// writeCompletion generates the script of shell for root as if root were
// named bin.
func writeCompletion(root *cobra.Command, bin, shell string, out io.Writer) error {
	use := root.Use
	root.Use = bin
	defer func() { root.Use = use }()
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(out, true)
	case "zsh":
		return root.GenZshCompletion(out)
	case "fish":
		return root.GenFishCompletion(out, true)
	default:
		return root.GenPowerShellCompletionWithDesc(out)
	}
}
