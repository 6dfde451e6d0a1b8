package exttoken

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Rancher's ext kubeconfigs (docs/rancher-tokens.md §12, §13): a
// Kubeconfig mints one shared ext token of kind kubeconfig plus one
// cluster-scoped token per ACE cluster; the tokens carry the
// Kubeconfig's name in labelKubeconfigID and are deleted with it.
var (
	kubeconfigsGVR = schema.GroupVersionResource{Group: "ext.cattle.io", Version: "v1", Resource: "kubeconfigs"}
	clustersGVR    = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "clusters"}
)

const (
	kubeconfigsPath    = "/apis/ext.cattle.io/v1/kubeconfigs"
	kubeconfigResource = "kubeconfig.ext.cattle.io" // as kubectl names one object
	labelKubeconfigID  = "authn.management.cattle.io/kubeconfig-id"
	// allClusters in spec.clusters (first) asks for every cluster the
	// caller may reach.
	allClusters = "*"
)

// kubeconfigNotServed is the line for a cluster without the API.
const kubeconfigNotServed = "Rancher's ext kubeconfig API (kubeconfigs.ext.cattle.io) is not served by this cluster (it needs Rancher 2.12 or later; point --context at Rancher's local cluster)"

// NewCmdKubeconfig builds `kubectl exttoken kubeconfig` and its
// subcommands.
func NewCmdKubeconfig(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "kubeconfig",
		Aliases: []string{"kubeconfigs"},
		Short:   "Mint, list and revoke Rancher kubeconfigs (kubeconfigs.ext.cattle.io) for CI",
		Long: cli.LongDesc(`
			Work with Rancher's kubeconfigs (kubeconfigs.ext.cattle.io, Rancher
			2.12+): Rancher generates a kubeconfig for the clusters you name,
			backed by tokens it creates for it (one shared token, plus one
			cluster-scoped token per cluster with an authorized cluster
			endpoint), and deletes those tokens when the kubeconfig is
			deleted. A CI job needs no interactive login: mint one, use it,
			delete it.

			The kubeconfig's content is returned once, when it is created; it
			is written to a new file (mode 0600) or, when asked, to stdout.`),
		Example: templates.Examples(`
			# Mint a kubeconfig for one cluster, good for 2 hours
			kubectl exttoken kubeconfig create c-m-abc12 --ttl 2h --kubeconfig-file ci.kubeconfig -o name > ci.kubeconfig.name

			# Use it
			kubectl --kubeconfig ci.kubeconfig get nodes

			# Revoke it and its tokens
			kubectl exttoken kubeconfig delete "$(cat ci.kubeconfig.name)"`),
		Args: cobra.NoArgs,
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(
		NewCmdKubeconfigCreate(f, streams),
		NewCmdKubeconfigList(f, streams),
		NewCmdKubeconfigGet(f, streams),
		NewCmdKubeconfigDescribe(f, streams),
		NewCmdKubeconfigDelete(f, streams),
	)
	return cmd
}

// kubeconfigClient is the Kubeconfig resource's client: Rancher's
// answers explained in one line, objects scrubbed of status.value.
type kubeconfigClient struct {
	ri dynamic.ResourceInterface
	f  cli.Clients // for follow-up hints
}

func newKubeconfigClient(f cli.Clients) (kubeconfigClient, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return kubeconfigClient{}, err
	}
	return kubeconfigClient{ri: dyn.Resource(kubeconfigsGVR), f: f}, nil
}

// kubeconfigSecretFields hold the generated kubeconfig, tokens included.
var kubeconfigSecretFields = [][]string{{"status", "value"}}

// scrubKubeconfig removes every copy of the generated kubeconfig.
func scrubKubeconfig(u *unstructured.Unstructured) {
	removeFields(u.Object, kubeconfigSecretFields)
	scrubLastApplied(u, kubeconfigSecretFields)
}

func (c kubeconfigClient) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	u, err := c.ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.wrap(err, "get", name)
	}
	scrubKubeconfig(u)
	return u, nil
}

// create returns the response unscrubbed: status.value is the kubeconfig
// to hand over.
func (c kubeconfigClient) create(ctx context.Context, obj *unstructured.Unstructured, opts metav1.CreateOptions) (*unstructured.Unstructured, error) {
	u, err := c.ri.Create(ctx, obj, opts)
	return u, c.wrap(err, "create", "")
}

func (c kubeconfigClient) delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.wrap(c.ri.Delete(ctx, name, opts), "delete", name)
}

func (c kubeconfigClient) list(ctx context.Context, selector string, chunk int64) ([]unstructured.Unstructured, error) {
	var items []unstructured.Unstructured
	err := eachItem(ctx, c.ri, selector, chunk, func(u *unstructured.Unstructured) error {
		scrubKubeconfig(u)
		items = append(items, *u)
		return nil
	}, nil)
	return items, c.wrap(err, "list", "")
}

// exceedsRE reads Rancher's "spec.ttl %d exceeds max ttl %d" (seconds).
var exceedsRE = regexp.MustCompile(`spec\.ttl (\d+) exceeds max ttl (\d+)`)

// wrap explains Rancher's answers to Kubeconfig requests (§12, §13): one
// line each, with what to do.
func (c kubeconfigClient) wrap(err error, verb, name string) error {
	if err == nil {
		return nil
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		msg := st.Status().Message
		switch {
		case strings.Contains(msg, "is not a Rancher user"):
			return apierror.Explained(err, "%s: only Rancher users can create kubeconfigs; use a kubeconfig Rancher issued to your Rancher user (this credential is not one)", msg)
		case strings.Contains(msg, "error getting request token"):
			return apierror.Explained(err, "%s: Rancher creates kubeconfigs only for requests it authenticated with a Rancher token, and up to 2.14 not with an ext token (rancher/rancher#53948); use a kubeconfig from Rancher's UI or a v3 API key, or Rancher 2.15+ for ext tokens", msg)
		case strings.Contains(msg, "spec.clusters must be unique"):
			return apierror.Explained(err, "Rancher refused: %s; name each cluster once", msg)
		case st.Status().Code == 400 && strings.HasPrefix(msg, "cluster ") && strings.HasSuffix(msg, " not found"):
			cluster := strings.TrimSuffix(strings.TrimPrefix(msg, "cluster "), " not found")
			return apierror.Explained(err, "Rancher has no cluster %q (%s): name clusters by ID, listed by kubectl get clusters.management.cattle.io", cluster, msg)
		case strings.Contains(msg, "is not allowed to access cluster"):
			return apierror.Explained(err, "%s: leave that cluster out, or ask a Rancher administrator for access to it", msg)
		case strings.HasPrefix(msg, "invalid currentContext"):
			return apierror.Explained(err, "Rancher refused --current-context (%s): it must name one of the kubeconfig's entries, one of the clusters given; or leave it out", msg)
		case strings.Contains(msg, "can't be negative"):
			return apierror.Explained(err, "Rancher refused the TTL (%s): Rancher kubeconfigs always expire; pass a duration such as --ttl 8h", msg)
		case exceedsRE.MatchString(msg):
			m := exceedsRE.FindStringSubmatch(msg)
			asked, _ := strconv.ParseInt(m[1], 10, 64)
			max, _ := strconv.ParseInt(m[2], 10, 64)
			return apierror.Explained(err, "%s", ttlTooLong(asked, max, msg))
		case strings.Contains(msg, "at least one cluster is required when includeDefaultEntry is false"):
			return apierror.Explained(err, "Rancher refused: %s; name a cluster, or drop --include-default-entry=false", msg)
		case name != "" && apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
			return apierror.Explained(err, "kubeconfig %q not found: check the name; list yours with %s", name, command(c.f, "kubeconfig", "list"))
		}
	}
	return apierror.Wrap(err, apierror.Op{Verb: verb, Resource: kubeconfigsGVR.GroupResource(), Kind: "kubeconfig", Name: name, NotServed: kubeconfigNotServed})
}

// ttlTooLong is the refusal of a TTL above the server's maximum, with the
// server's numbers (seconds) and why: the local check and the server's
// 400 say the same.
func ttlTooLong(asked, max int64, why string) string {
	return fmt.Sprintf("--ttl %s (%d s) exceeds this Rancher's maximum for kubeconfigs, %s (%d s; %s): pass --ttl %s or less",
		formatSeconds(asked), asked, formatSeconds(max), max, why, formatSeconds(max))
}

func formatSeconds(s int64) string { return formatTTL(s * msPerSecond) }

// kubeconfigTTLMax is the largest TTL in seconds Rancher accepts for a
// Kubeconfig and why, read from the settings (§8, §12): on 2.12–2.15 the
// default kubeconfig-default-token-ttl-minutes, clamped to
// auth-token-max-ttl-minutes, is also the maximum; where
// kubeconfig-max-token-ttl-minutes exists (main) that is the maximum.
// ok is false when the settings cannot be read, or there is no maximum.
func kubeconfigTTLMax(ctx context.Context, f cli.Clients) (max int64, why string, ok bool) {
	dyn, err := f.Dynamic()
	if err != nil {
		return 0, "", false
	}
	ri := dyn.Resource(settingsGVR)
	minutes := func(name string) (int64, bool) {
		info, _ := lookupSetting(name)
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return 0, false
		}
		return settingFrom(info, u).minutes()
	}
	if limit, found := minutes("kubeconfig-max-token-ttl-minutes"); found {
		if limit <= 0 {
			return 0, "", false
		}
		return limit * 60, fmt.Sprintf("kubeconfig-max-token-ttl-minutes=%d", limit), true
	}
	def, found := minutes("kubeconfig-default-token-ttl-minutes")
	if !found {
		return 0, "", false
	}
	why = fmt.Sprintf("kubeconfig-default-token-ttl-minutes=%d", def)
	if limit, found := minutes("auth-token-max-ttl-minutes"); found && limit > 0 && (def <= 0 || def > limit) {
		def, why = limit, fmt.Sprintf("kubeconfig-default-token-ttl-minutes clamped to auth-token-max-ttl-minutes=%d", limit)
	}
	if def <= 0 {
		return 0, "", false
	}
	return def * 60, why, true
}

// kubeconfigView is what the commands read from a Kubeconfig.
type kubeconfigView struct {
	Name, User, Description, CurrentContext, Summary string
	Clusters, Tokens                                 []string
	TTL                                              int64 // seconds
	Created                                          time.Time
	DefaultEntry                                     string // "true", "false" or "" (not sent / before 2.15)
}

func kubeconfigFrom(u *unstructured.Unstructured) kubeconfigView {
	k := kubeconfigView{Name: u.GetName(), User: u.GetLabels()[labelUserID], Created: u.GetCreationTimestamp().Time}
	k.Description, _, _ = unstructured.NestedString(u.Object, "spec", "description")
	k.CurrentContext, _, _ = unstructured.NestedString(u.Object, "spec", "currentContext")
	k.Summary, _, _ = unstructured.NestedString(u.Object, "status", "summary")
	k.Clusters, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "clusters")
	k.Tokens, _, _ = unstructured.NestedStringSlice(u.Object, "status", "tokens")
	k.TTL, _, _ = unstructured.NestedInt64(u.Object, "spec", "ttl")
	if b, found, _ := unstructured.NestedBool(u.Object, "spec", "includeDefaultEntry"); found {
		k.DefaultEntry = strconv.FormatBool(b)
	}
	return k
}

// expiresAt is creation plus the TTL in seconds.
func (k kubeconfigView) expiresAt() (time.Time, bool) { return expiry(k.Created, k.TTL*msPerSecond) }

// kubeconfigName accepts NAME and kubeconfig.ext.cattle.io/NAME (what -o
// name prints), refusing what cannot be a name.
func kubeconfigName(arg string) (string, error) {
	name := arg
	for _, prefix := range []string{kubeconfigResource + "/", "kubeconfigs.ext.cattle.io/", "kubeconfig/"} {
		name = strings.TrimPrefix(name, prefix)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("invalid kubeconfig name %q: names look like kubeconfig-abcde (%s); list yours with kubectl exttoken kubeconfig list", arg, errs[0])
	}
	return name, nil
}

// completeKubeconfigs completes Kubeconfig names.
func completeKubeconfigs(f cli.Clients, arity cli.Arity) cobra.CompletionFunc {
	return cli.CompleteNames(arity, func(ctx context.Context) ([]string, error) {
		return names(ctx, f, kubeconfigsGVR, func(*unstructured.Unstructured) bool { return true })
	})
}
