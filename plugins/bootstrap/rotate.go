package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// RotateOptions is kubectl bootstrap rotate.
type RotateOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	ServerToken     string
	ServerTokenFile string
	NewServerToken  string
	SupervisorURL   string
	Flavor          string
	Output          string
	DryRun          string

	flavor       Flavor
	flavorNote   string
	old          ServerToken
	oldFrom      string
	newToken     string
	generated    bool
	endpoint     string
	kubeconfigCA kubeconfig.CABundle
}

// NewCmdRotate builds kubectl bootstrap rotate.
func NewCmdRotate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RotateOptions{IOStreams: streams, f: f, DryRun: dryrun.None}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the server token of a k3s or rke2 cluster",
		Long: cli.LongDesc(`
			Rotate the server token of a k3s or rke2 cluster through one server's
			supervisor API, as k3s token rotate does on a node, without a shell
			there.

			The old token comes from --server-token, --server-token-file or
			$K3S_TOKEN / $RKE2_TOKEN (never from kubectl's --token), in full form
			(K10<hash>::server:<password>) or as the bare password. The
			supervisor's CA (/cacerts) is trusted only when it matches the old
			token's hash or the kubeconfig's CA, and it must validate the
			server's own certificate; only then is the old token sent.

			The new token is --new-server-token or 32 random hex characters
			made here, never by the server (a server-made token would be known
			only to it). It is printed once on stdout in full form; -o json|yaml
			prints it with the server and CA hash for automation.

			The supervisor is --supervisor-url, else the kubeconfig's server (k3s)
			or the same host on port 9345 (rke2). What the API cannot do is left
			to you and said on stderr: restart every server with the new token,
			update the config files, and keep the old token for snapshots taken
			before.`),
		Example: templates.Examples(`
			# Rotate a k3s server token (the old one from the environment)
			K3S_TOKEN=$(cat old-token) kubectl bootstrap rotate

			# rke2, old token from a file, new token chosen, JSON for automation
			kubectl bootstrap rotate --flavor rke2 --server-token-file old-token --new-server-token "$NEW" -o json

			# Check everything (CA, trust) without rotating
			kubectl bootstrap rotate --server-token-file old-token --dry-run`),
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.ServerToken, "server-token", "", "The current server token (full K10 form or the password). Prefer --server-token-file or $K3S_TOKEN/$RKE2_TOKEN: a flag shows in the process list.")
	fl.StringVar(&o.ServerTokenFile, "server-token-file", "", "A file holding the current server token, e.g. a copy of <data-dir>/server/token.")
	fl.StringVar(&o.NewServerToken, "new-server-token", "", "The new token's password (default: 32 random hex characters). At least "+strconv.Itoa(MinServerTokenLength)+" characters, not the current one, not shaped like a bootstrap token, not starting with K10.")
	fl.StringVar(&o.SupervisorURL, "supervisor-url", "", "https://SERVER:PORT of one server's supervisor (default: the kubeconfig server for k3s, the same host on port 9345 for rke2). No proxy paths.")
	fl.StringVar(&o.Flavor, "flavor", "", "k3s or rke2 (default: detected from the server version).")
	fl.StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml).")
	dryrun.AddClientFlag(cmd, &o.DryRun, "rotated")
	_ = cmd.RegisterFlagCompletionFunc("flavor", cobra.FixedCompletions([]string{string(FlavorK3s), string(FlavorRKE2)}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete resolves the flavor (one GET /version unless --flavor), the old
// token and where it came from, the new token, the supervisor address and
// the kubeconfig CA.
func (o *RotateOptions) Complete(cmd *cobra.Command, _ []string) error {
	if o.Flavor != "" {
		f, err := ParseFlavor(o.Flavor)
		if err != nil {
			return err
		}
		o.flavor = f
	} else {
		var err error
		if o.flavor, o.flavorNote, err = DetectFlavor(cmd.Context(), o.f); err != nil {
			return err
		}
	}
	envName := strings.ToUpper(string(o.flavor)) + "_TOKEN"
	switch {
	case o.ServerToken != "":
		o.oldFrom = "--server-token"
		old, err := ParseServerToken(o.ServerToken, o.oldFrom)
		if err != nil {
			return err
		}
		o.old = old
	case o.ServerTokenFile != "":
		o.oldFrom = "--server-token-file " + o.ServerTokenFile
		b, err := os.ReadFile(o.ServerTokenFile)
		if err != nil {
			return fmt.Errorf("cannot read --server-token-file: %w", err)
		}
		if o.old, err = ParseServerToken(string(b), o.oldFrom); err != nil {
			return err
		}
	case os.Getenv(envName) != "" && o.flavor != FlavorKubeadm:
		o.oldFrom = "$" + envName
		old, err := ParseServerToken(os.Getenv(envName), o.oldFrom)
		if err != nil {
			return err
		}
		o.old = old
	}
	o.newToken = o.NewServerToken
	if o.newToken == "" && !cmd.Flags().Changed("new-server-token") {
		t, err := GenerateServerToken()
		if err != nil {
			return err
		}
		o.newToken, o.generated = t, true
	}
	cluster, err := o.f.CurrentCluster()
	if err != nil {
		return err
	}
	if o.SupervisorURL != "" {
		if o.endpoint, err = JoinAddress(o.SupervisorURL, "--supervisor-url", o.flavor); err != nil {
			return err
		}
	} else if o.flavor != FlavorKubeadm {
		// The kubeconfig server for k3s, the same host on 9345 for rke2:
		// where its nodes join, proxies refused alike.
		if o.endpoint, err = joinAddress(cluster.Server, "", "--supervisor-url", o.flavor); err != nil {
			return err
		}
	}
	if cluster.HasCA() {
		if o.kubeconfigCA, err = cluster.CA(); err != nil {
			return fmt.Errorf("%w: fix the kubeconfig, or pass the old server token in full form (K10…::server:PASSWORD), whose CA hash pins the supervisor", err)
		}
	}
	return nil
}

// Validate checks what Complete found.
func (o *RotateOptions) Validate() error {
	if err := dryrun.ValidateClient(o.DryRun, "the supervisor has no dry run"); err != nil {
		return err
	}
	switch {
	case o.flavor == FlavorKubeadm:
		return fmt.Errorf("kubeadm clusters have no server token to rotate (%s); rotate is for k3s and rke2: pass --flavor k3s|rke2 if the detection is wrong", strings.TrimSuffix(o.flavorNote, " (pass --flavor to choose)"))
	case o.oldFrom == "":
		return fmt.Errorf("no server token given: pass --server-token-file FILE, --server-token or $%s_TOKEN with the current server token", strings.ToUpper(string(o.flavor)))
	case o.Output != "" && o.Output != "json" && o.Output != "yaml":
		return fmt.Errorf("-o %q is not supported by rotate: use json or yaml, or leave -o out", o.Output)
	}
	if !o.generated {
		if err := CheckNewServerToken(o.newToken, o.old.Password); err != nil {
			return err
		}
	}
	return nil
}

// Run rotates and prints the new token once.
func (o *RotateOptions) Run(ctx context.Context) error {
	r, err := RotateServerToken(ctx, o.endpoint, o.flavor, o.old, o.kubeconfigCA, o.newToken, o.DryRun == dryrun.Client)
	if err != nil {
		return err
	}
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(r, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s\n", b)
	case "yaml":
		b, err := yaml.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s", b)
	default:
		if r.Token != "" {
			fmt.Fprintln(o.Out, r.Token)
		}
	}
	fmt.Fprint(o.ErrOut, rotateReport(r))
	return nil
}

// rotateReport is what rotate says on stderr: what happened and the steps
// the API cannot take.
func rotateReport(r Rotation) string {
	program := string(r.Flavor)
	if r.DryRun {
		return fmt.Sprintf("server token of %s not rotated (dry run): the supervisor's CA (hash %s) is trusted via %s and the new token is acceptable\n", r.Server, r.CAHash, r.TrustVia)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server token rotated on %s (CA trusted via %s)\n", r.Server, r.TrustVia)
	fmt.Fprintf(&b, "next, on the nodes (the API cannot do this):\n")
	fmt.Fprintf(&b, "  1. restart every %s server with the new token: set token: in /etc/rancher/%s/config.yaml (or --token) and restart %s\n", program, program, program)
	fmt.Fprintf(&b, "  2. agents that joined with the old server token: update their token the same way and restart them\n")
	fmt.Fprintf(&b, "  3. keep the old token: etcd snapshots taken before now restore only with it\n")
	return b.String()
}
