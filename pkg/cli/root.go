// Package cli is the command plumbing every plugin shares: the root
// command with kubectl's connection flags, -v, help that reads
// `kubectl <plugin> ...`, the version and completion subcommands, and the
// runner that turns errors into one line and exit code 1.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/util/templates"

	// Every auth provider a kubeconfig may name (oidc, exec, ...).
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/version"
)

// MaxVerbosity caps -v: client-go logs request and response bodies from
// level 8 on, and ours carry token values.
const MaxVerbosity = 7

// Plugin describes one plugin binary.
type Plugin struct {
	Name    string // "regtoken": invoked as `kubectl regtoken`
	Short   string
	Long    string
	Example string
}

// Binary is the executable's name, kubectl-<name>.
func (p Plugin) Binary() string { return "kubectl-" + p.Name }

// NewRoot builds the root command with kubectl's connection flags (those
// of f) bound once, the version subcommand and kubectl's help layout.
// Subcommands get their clients from f.
func NewRoot(p Plugin, streams genericiooptions.IOStreams, f Clients) *cobra.Command {
	root := &cobra.Command{
		Use:          p.Name,
		Short:        p.Short,
		Long:         LongDesc(p.Long),
		Example:      templates.Examples(p.Example),
		SilenceUsage: true,
		// Suggest "get" for "gte", as kubectl does.
		SuggestionsMinimumDistance: 2,
		SilenceErrors:              true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl " + p.Name,
		},
		// Without a subcommand, show help (exit 0), as kubectl does.
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
		Args: rootArgs,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)

	flags := root.PersistentFlags()
	f.Flags().AddFlags(flags)
	addKlogFlags(root)
	registerConnectionCompletions(root, f)

	root.AddCommand(version.NewCmd(p.Binary(), streams), newCompletionCmd(p))
	root.SetFlagErrorFunc(flagError)
	return root
}

func addKlogFlags(root *cobra.Command) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for _, name := range []string{"v", "vmodule"} {
		root.PersistentFlags().AddGoFlag(fs.Lookup(name))
	}
	root.PersistentFlags().Lookup("v").Usage = "Number for the log level verbosity (capped at " + strconv.Itoa(MaxVerbosity) + ": higher levels would log token values)."
	prev := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		v := fs.Lookup("v")
		level, _ := strconv.Atoi(v.Value.String())
		if level > MaxVerbosity {
			_ = v.Value.Set(strconv.Itoa(MaxVerbosity))
			fmt.Fprintf(cmd.ErrOrStderr(), "-v=%d capped at -v=%d: request and response bodies can hold token values\n", level, MaxVerbosity)
		}
		if level == 0 {
			// client-go's own retries (e.g. a watch while the server
			// restarts) are not the user's business unless asked for.
			klog.SetOutput(io.Discard)
			_ = fs.Set("logtostderr", "false")
			_ = fs.Set("alsologtostderr", "false")
			_ = fs.Set("stderrthreshold", "FATAL")
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}
