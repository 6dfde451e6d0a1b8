package regtoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
)

// DeleteOptions is `kubectl regtoken delete`.
type DeleteOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams

	Names         []string
	Expired       bool
	AllNamespaces bool
	DryRun        string
	namespace     string
}

// NewDeleteCmd builds `kubectl regtoken delete`.
func NewDeleteCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "delete (NAME... | --expired [-A]) [--dry-run]",
		Short: "Delete registration tokens by name, or all expired ones",
		Long: templates.LongDesc(`
			Delete Fleet ClusterRegistrationTokens. The Fleet controller then removes
			what it made for each (ServiceAccount, Role, RoleBinding, values Secret),
			so the token can no longer register clusters; clusters already
			registered keep working.

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
		ValidArgsFunction: completeTokenNames(f, true),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Expired, "expired", false, "Delete every token past its expiry.")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --expired: look in all namespaces.")
	dryrun.AddFlag(cmd, &o.DryRun, "deleted")
	return cmd
}

// Complete takes the names and namespace.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	if o.AllNamespaces {
		return nil
	}
	ns, _, err := o.f.Namespace()
	o.namespace = ns
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
			return errNoName
		}
	}
	return dryrun.Validate(o.DryRun)
}

type target struct {
	namespace, name string
	uid             types.UID
	why             string
}

// Run deletes the tokens, reporting each on its own line.
func (o *DeleteOptions) Run(ctx context.Context) error {
	client, err := tokenClient(o.f)
	if err != nil {
		return err
	}
	var targets []target
	if o.Expired {
		list, err := client.Namespace(o.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return apierror.Wrap(err, tokenOp("list", o.namespace, ""))
		}
		now := time.Now()
		for i := range list.Items {
			tok, err := toToken(&list.Items[i])
			if err != nil {
				return err
			}
			if tok.Expired(now) {
				at, _ := tok.ExpiresAt()
				targets = append(targets, target{tok.Namespace, tok.Name, tok.UID, "expired " + at.UTC().Format(time.RFC3339)})
			}
		}
		if len(targets) == 0 {
			where := "in namespace " + o.namespace
			if o.AllNamespaces {
				where = "in any namespace"
			}
			fmt.Fprintf(o.streams.ErrOut, "No expired ClusterRegistrationTokens %s.\n", where)
			return nil
		}
	} else {
		for _, n := range o.Names {
			targets = append(targets, target{namespace: o.namespace, name: n})
		}
	}
	suffix := dryrun.Suffix(o.DryRun)
	opts := metav1.DeleteOptions{DryRun: dryrun.Request(o.DryRun)}
	var failed []string
	for _, t := range targets {
		if o.DryRun != dryrun.Client {
			del := opts
			if t.uid != "" {
				// Only the token we judged expired, not a new one of that name.
				uid := t.uid
				del.Preconditions = &metav1.Preconditions{UID: &uid}
			}
			if err := client.Namespace(t.namespace).Delete(ctx, t.name, del); err != nil {
				failed = append(failed, apierror.Wrap(err, tokenOp("delete", t.namespace, t.name)).Error())
				continue
			}
		}
		why := ""
		if t.why != "" {
			why = ", " + t.why
		}
		fmt.Fprintf(o.streams.Out, "%s %q deleted from namespace %s%s%s\n", objectRef, t.name, t.namespace, why, suffix)
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}
