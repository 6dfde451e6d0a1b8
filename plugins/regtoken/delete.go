package regtoken

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
)

// DeleteOptions is `kubectl regtoken delete`.
type DeleteOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Names         []string
	Expired       bool
	AllNamespaces bool
	DryRun        string
	ChunkSize     int64

	namespace string
	client    dynamic.NamespaceableResourceInterface
}

// NewCmdDelete builds `kubectl regtoken delete`.
func NewCmdDelete(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "delete (NAME... | --expired [-A]) [--dry-run]",
		Short: "Delete registration tokens by name, or all expired ones",
		Long: cli.LongDesc(`
			Delete Fleet ClusterRegistrationTokens. The Fleet controller then removes
			what it made for each (ServiceAccount, Role, RoleBinding, values Secret),
			so the token can no longer register clusters; clusters already
			registered keep working.

			Each token gets its own line; a failure does not stop the others, and
			the command then fails with one line: "deleted N of M; failed: ...".

			--expired deletes the tokens past creationTimestamp + ttl (the
			controller deletes them on time itself; this cleans up where it did
			not run). --dry-run (client) only lists what would go; --dry-run=server
			asks the API server without deleting.`),
		Example: templates.Examples(`
			# Delete two tokens
			kubectl regtoken delete my-cluster other-cluster -n fleet-default

			# See which tokens have expired in any namespace, then delete them
			kubectl regtoken delete --expired -A --dry-run
			kubectl regtoken delete --expired -A`),
		ValidArgsFunction: completeTokenNames(f, cli.ManyNames),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Expired, "expired", false, "Delete every token past its expiry.")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --expired: look in all namespaces.")
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	return cmd
}

// Complete resolves the names, namespace and client.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	if !o.AllNamespaces {
		var err error
		if o.namespace, _, err = o.f.Namespace(); err != nil {
			return err
		}
	}
	var err error
	o.client, err = fleet.TokenClient(o.f)
	return err
}

// Validate checks that names and --expired are not mixed.
func (o *DeleteOptions) Validate() error {
	switch {
	case len(o.Names) == 0 && !o.Expired:
		return errors.New("nothing to delete: pass token names or --expired")
	case len(o.Names) > 0 && o.Expired:
		return errors.New("pass either token names or --expired, not both")
	case o.AllNamespaces && !o.Expired:
		return errors.New("-A works only with --expired: name tokens in one namespace with -n")
	}
	for _, n := range o.Names {
		if n == "" {
			return fleet.ErrNoName
		}
	}
	if err := cli.ValidateChunkSize(o.ChunkSize); err != nil {
		return err
	}
	return dryrun.Validate(o.DryRun)
}

// Run deletes the tokens through the shared deleter: one line each, one
// line for the failures.
func (o *DeleteOptions) Run(ctx context.Context) error {
	targets, err := o.targets(ctx)
	if err != nil || len(targets) == 0 {
		return err
	}
	for _, t := range targets {
		if _, name := splitKey(t.Key); strings.HasPrefix(name, fleet.ImportPrefix) {
			fmt.Fprintf(o.ErrOut, "warning: %s is the token Fleet made for the manager-initiated Cluster %s: without it that cluster's agent cannot be re-imported or redeployed until Fleet makes a new one (bump the Cluster's spec.redeployAgentGeneration)\n", name, strings.TrimPrefix(name, fleet.ImportPrefix))
		}
	}
	d := deleter.Deleter{Out: o.Out, Verb: "deleted", DryRun: o.DryRun,
		Do: func(ctx context.Context, t deleter.Target, opts metav1.DeleteOptions) error {
			ns, name := splitKey(t.Key)
			err := o.client.Namespace(ns).Delete(ctx, name, opts)
			if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
				return apierror.Explained(err, "%s %q not found in namespace %q: list them with %s", fleet.Kind, name, ns, fleet.Hint(o.f, "list", "-n", ns))
			}
			return apierror.Wrap(err, fleet.TokenOp("delete", ns, name))
		}}
	_, err = d.Run(ctx, targets)
	return err
}

// targets are the named tokens, or the expired ones (UID as a
// precondition: only the token judged expired, not a new one of that
// name).
func (o *DeleteOptions) targets(ctx context.Context) ([]deleter.Target, error) {
	var targets []deleter.Target
	if !o.Expired {
		for _, n := range o.Names {
			targets = append(targets, deleter.Target{Name: o.display(o.namespace, n), Key: o.namespace + "/" + n})
		}
		return targets, nil
	}
	list, err := fleet.ListTokens(ctx, o.client.Namespace(o.namespace), o.ChunkSize)
	if err != nil {
		return nil, apierror.Wrap(err, fleet.TokenOp("list", o.namespace, ""))
	}
	at := fleet.Now()
	for i := range list.Items {
		tok, err := fleet.ToToken(&list.Items[i])
		if err != nil {
			return nil, err
		}
		if tok.Expired(at) {
			targets = append(targets, deleter.Target{Name: o.display(tok.Namespace, tok.Name), Key: tok.Namespace + "/" + tok.Name, UID: tok.UID})
		}
	}
	if len(targets) == 0 {
		where := "in namespace " + o.namespace
		if o.AllNamespaces {
			where = "in any namespace"
		}
		fmt.Fprintf(o.ErrOut, "No expired ClusterRegistrationTokens %s.\n", where)
	}
	return targets, nil
}

// display names a token as kubectl does; with -A the namespace goes first.
func (o *DeleteOptions) display(ns, name string) string {
	if o.AllNamespaces {
		return ns + "/" + fleet.ObjectRef + "/" + name
	}
	return fleet.ObjectRef + "/" + name
}

func splitKey(key string) (ns, name string) {
	ns, name, _ = strings.Cut(key, "/")
	return ns, name
}
