package regtoken

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// addInstallFlags binds the values-file and helm flags create, values and
// helm share to the engine's install options.
func addInstallFlags(cmd *cobra.Command, o *fleet.InstallOptions) {
	fs := cmd.Flags()
	if o.Mode == fleet.WriteValues {
		fs.StringVar(&o.ValuesFile, "values-file", fleet.DefaultValuesFile, "Where to write values.yaml (mode 0600); '-' writes it to stdout, with apiServerURL and apiServerCA filled in, and the helm command then reads it from stdin.")
		fs.BoolVar(&o.Force, "force", false, "Overwrite an existing values file (and CA file).")
	} else {
		fs.StringVar(&o.ValuesFile, "values-file", fleet.DefaultValuesFile, "The values.yaml the printed helm command uses (written by create or values); refused when it belongs to another token.")
	}
	fs.StringArrayVar(&o.Labels, "label", nil, "Label KEY=VALUE for the Fleet Cluster, passed to helm as --set-string labels.KEY=VALUE (repeatable).")
	fs.StringVar(&o.ClientID, "client-id", "", "spec.clientID of a Cluster created upstream beforehand (helm --set-string clientID=...); no quotes, backslashes or control characters.")
	fs.StringVar(&o.APIServerURL, "api-server-url", "", "URL of the Fleet manager's API server for the agent; default: values.yaml's, else the kubeconfig's server when values.yaml has none.")
	fs.StringVar(&o.APIServerCAFile, "api-server-ca-file", "", "PEM file of that API server's CA (helm --set-file apiServerCA=...); default: values.yaml's, else the kubeconfig's CA.")
	fs.StringVar(&o.ChartVersion, "chart-version", "", "fleet-agent chart version for helm --version (default: the newest).")
	_ = cmd.MarkFlagFilename("values-file", "yaml", "yml")
	_ = cmd.MarkFlagFilename("api-server-ca-file", "pem", "crt")
}
