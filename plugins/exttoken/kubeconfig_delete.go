package exttoken

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// KubeconfigDeleteOptions is `kubectl exttoken kubeconfig delete`.
type KubeconfigDeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Names  []string
	DryRun string

	kubeconfigs kubeconfigClient
}

// NewCmdKubeconfigDelete builds `kubectl exttoken kubeconfig delete`.
func NewCmdKubeconfigDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &KubeconfigDeleteOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:     "delete NAME... [--dry-run]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Delete Rancher kubeconfigs, revoking their tokens",
		Long: cli.LongDesc(`
			Delete kubeconfigs by name (kubeconfig-abcde, or
			kubeconfig.ext.cattle.io/kubeconfig-abcde as create -o name prints
			it). Rancher deletes each kubeconfig's tokens with it, so every copy
			of the kubeconfig stops working at once; each line names the tokens
			that went. One failure does not stop the others; any failure exits 1
			with one line naming them. --dry-run (client) sends nothing;
			--dry-run=server lets the server check each delete.`),
		Example: templates.Examples(`
			# Revoke a CI kubeconfig and its tokens
			kubectl exttoken kubeconfig delete kubeconfig-abcde

			# The name as create -o name printed it
			kubectl exttoken kubeconfig delete kubeconfig.ext.cattle.io/kubeconfig-abcde`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeKubeconfigs(f, cli.ManyNames),
		RunE:              cli.RunE(o),
	}
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	return cmd
}

// Complete takes the names and builds the client.
func (o *KubeconfigDeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	var err error
	o.kubeconfigs, err = newKubeconfigClient(o.f)
	return err
}

// Validate checks every name before the first delete.
func (o *KubeconfigDeleteOptions) Validate() error {
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	for i, n := range o.Names {
		name, err := kubeconfigName(n)
		if err != nil {
			return err
		}
		o.Names[i] = name
	}
	return nil
}

// Run looks each kubeconfig up (to name its tokens and pin its UID),
// then deletes them one by one.
func (o *KubeconfigDeleteOptions) Run(ctx context.Context) error {
	targets := make([]deleter.Target, 0, len(o.Names))
	for _, n := range o.Names {
		tg := deleter.Target{Name: objectName(kubeconfigResource, n), Key: n}
		// A kubeconfig that cannot be read is still tried: the delete
		// then says why it failed.
		if u, err := o.kubeconfigs.get(ctx, n); err == nil {
			tg.UID = u.GetUID()
			if toks := kubeconfigFrom(u).Tokens; len(toks) > 0 {
				tg.Name += fmt.Sprintf(" and its tokens (%s)", strings.Join(toks, ", "))
			}
		}
		targets = append(targets, tg)
	}
	d := deleter.Deleter{Out: o.Out, Verb: "deleted", DryRun: o.DryRun,
		Do: func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error {
			return o.kubeconfigs.delete(ctx, t.Key, opts)
		}}
	_, err := d.Run(ctx, targets)
	return err
}
