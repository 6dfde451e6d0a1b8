// Package version holds the build stamp that the release sets through
// -ldflags and the `version` subcommand every plugin shares.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package version

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

// Set by the release build: -X github.com/kubectl-tokens/kubectl-tokens/pkg/version.Version=v1.2.3
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

// Info is what `version -o json|yaml` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the stamp of this binary.
func Get() Info {
	return Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// NewCmd returns the `version` subcommand of the plugin named binary
// (e.g. "kubectl-regtoken"). It never touches the cluster.
func NewCmd(binary string, streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of " + binary,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := Get()
			switch output {
			case "":
				_, err := fmt.Fprintf(streams.Out, "%s %s (commit %s, built %s, %s, %s)\n",
					binary, info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
				return err
			case "json":
				b, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(streams.Out, "%s\n", b)
				return err
			case "yaml":
				b, err := yaml.Marshal(info)
				if err != nil {
					return err
				}
				_, err = streams.Out.Write(b)
				return err
			default:
				return fmt.Errorf("unknown output format %q for version: use json or yaml", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json or yaml.")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
