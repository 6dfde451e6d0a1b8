package bootstrap

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/pager"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

var secretsResource = schema.GroupResource{Resource: "secrets"}

// secretOp names a call on one token's Secret for apierror.
func secretOp(verb, id string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: secretsResource, Kind: "Secret", Namespace: Namespace, Name: SecretName(id)}
}

// tokenSelector is kubeadm's list selector: only Secrets of the bootstrap
// token type, filtered by the server.
var tokenSelector = fields.OneTermEqualSelector("type", string(TokenSecretType)).String()

// listTokenSecrets lists the bootstrap token Secrets in kube-system in
// chunks of chunkSize (0: one request), sorted by name.
func listTokenSecrets(ctx context.Context, core corev1client.CoreV1Interface, chunkSize int64) ([]corev1.Secret, error) {
	secrets := core.Secrets(Namespace)
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return secrets.List(ctx, opts)
	})
	p.PageSize = chunkSize
	obj, _, err := p.List(ctx, metav1.ListOptions{FieldSelector: tokenSelector})
	if err != nil {
		return nil, apierror.Wrap(err, apierror.Op{Verb: "list", Resource: secretsResource, Namespace: Namespace})
	}
	// One page comes back as a SecretList, several as a generic list.
	objs, err := meta.ExtractList(obj)
	if err != nil {
		return nil, fmt.Errorf("listing bootstrap token Secrets: %w", err)
	}
	items := make([]corev1.Secret, 0, len(objs))
	for _, o := range objs {
		s, ok := o.(*corev1.Secret)
		if !ok {
			return nil, fmt.Errorf("listing bootstrap token Secrets: unexpected %T in the list", o)
		}
		items = append(items, *s)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}

// eachTokenSecret calls fn with each bootstrap token Secret in
// kube-system, in the server's (name) order, fetched in pages of
// chunkSize (0: one request). The next page is fetched while fn works on
// this one, and nothing is kept: memory holds a page or two, whatever
// the count.
func eachTokenSecret(ctx context.Context, core corev1client.CoreV1Interface, chunkSize int64, fn func(*corev1.Secret) error) error {
	secrets := core.Secrets(Namespace)
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return secrets.List(ctx, opts)
	})
	p.PageSize = chunkSize
	p.PageBufferSize = 1
	err := p.EachListItem(ctx, metav1.ListOptions{FieldSelector: tokenSelector}, func(o runtime.Object) error {
		s, ok := o.(*corev1.Secret)
		if !ok {
			return fmt.Errorf("listing bootstrap token Secrets: unexpected %T in the list", o)
		}
		if s.Type != TokenSecretType {
			return nil // the server filters by type; a server (or fake) that did not
		}
		return fn(s)
	})
	return apierror.Wrap(err, apierror.Op{Verb: "list", Resource: secretsResource, Namespace: Namespace})
}

// getTokenSecret fetches token id's Secret; found is false when there is
// none (not an error).
func getTokenSecret(ctx context.Context, core corev1client.CoreV1Interface, id string) (s *corev1.Secret, found bool, err error) {
	s, err = core.Secrets(Namespace).Get(ctx, SecretName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, apierror.Wrap(err, secretOp("get", id))
	}
	return s, true, nil
}

// addNamespaceFlag gives a command that reads or writes tokens its own
// -n, bound to the same value as kubectl's global one, whose help and
// completion offer the one namespace it accepts (the global -n completes
// every namespace of the cluster).
func addNamespaceFlag(cmd *cobra.Command, f cli.Clients) {
	ns := f.Flags().Namespace
	if ns == nil {
		return
	}
	cmd.Flags().StringVarP(ns, "namespace", "n", *ns, "Only "+Namespace+", where the API server reads bootstrap tokens; any other is refused.")
	_ = cmd.RegisterFlagCompletionFunc("namespace", flagValues(Namespace))
}

// checkNamespace refuses a -n other than kube-system rather than ignore
// it: the authenticator, kubeadm and k3s read bootstrap tokens from
// kube-system only.
func checkNamespace(f cli.Clients) error {
	if ns := f.Flags().Namespace; ns != nil && *ns != "" && *ns != Namespace {
		return fmt.Errorf("bootstrap tokens live only in %s, where the API server reads them: drop -n %s", Namespace, *ns)
	}
	return nil
}

// now is the one clock the commands read; tests set it so that TTLs and
// expirations in golden files do not move.
var now = time.Now

// hint is a kubectl bootstrap command line for a follow-up, with the
// connection flags the user passed (cli.HintCommand), so it asks the same
// cluster.
func hint(f cli.Clients, words ...string) string {
	return cli.HintCommand(f, append([]string{"kubectl", "bootstrap"}, words...)...)
}

// listHint is the follow-up that lists the tokens.
func listHint(f cli.Clients) string { return hint(f, "list") }

// notFound is the one error for a token that has no Secret.
func notFound(f cli.Clients, id string) error {
	return apierror.Explained(nil, "bootstrap token %q not found (no Secret %s/%s): list them with %s", id, Namespace, SecretName(id), listHint(f))
}
