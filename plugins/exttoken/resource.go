package exttoken

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// The resources are known, so clients are built for them directly: no
// discovery, no RESTMapper (docs/rancher-tokens.md §2, §7, §8).
var (
	tokensGVR   = schema.GroupVersionResource{Group: "ext.cattle.io", Version: "v1", Resource: "tokens"}
	legacyGVR   = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "tokens"}
	settingsGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "settings"}
	featuresGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "features"}
)

// Labels Rancher puts on ext tokens (§2) and v3 tokens (§7).
const (
	labelUserID      = "cattle.io/user-id"
	labelKind        = "authn.management.cattle.io/kind"
	labelV3UserID    = "authn.management.cattle.io/token-userId"
	tokensPath       = "/apis/ext.cattle.io/v1/tokens"
	extTokenResource = "token.ext.cattle.io" // as kubectl names one object
	legacyResource   = "token.management.cattle.io"
)

// lastApplied is the annotation kubectl apply keeps a copy of the applied
// object in: a token applied with its value carries the value there too.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// notServed is the line for a cluster without Rancher's ext token API:
// it is served by Rancher 2.12+ on its local (management) cluster only.
const notServed = "Rancher's ext token API is not served by this cluster (it needs Rancher 2.12 or later; point --context at Rancher's local cluster)"

// scrub removes every copy of a secret from an ext token before anything
// can print it: the value and bearer token (create responses only), the
// hash (returned by get/list up to v2.15.0, §12) and the same fields in
// the last-applied-configuration annotation.
func scrub(u *unstructured.Unstructured) {
	removeFields(u.Object, extSecretFields)
	scrubLastApplied(u, extSecretFields)
}

// scrubLegacy removes what must never be printed of a v3 token: the token
// itself (plaintext unless token-hashing is on, §7) and providerInfo
// (which carries OIDC access tokens), wherever a copy is kept.
func scrubLegacy(u *unstructured.Unstructured) {
	removeFields(u.Object, legacySecretFields)
	scrubLastApplied(u, legacySecretFields)
}

var (
	extSecretFields    = [][]string{{"status", "value"}, {"status", "bearerToken"}, {"status", "hash"}}
	legacySecretFields = [][]string{{"token"}, {"providerInfo"}}
)

func removeFields(obj map[string]any, fields [][]string) {
	for _, f := range fields {
		unstructured.RemoveNestedField(obj, f...)
	}
}

// scrubLastApplied rewrites the last-applied annotation without the
// secret fields; an annotation that is not JSON is replaced as a whole.
func scrubLastApplied(u *unstructured.Unstructured, fields [][]string) {
	ann := u.GetAnnotations()
	s, ok := ann[lastApplied]
	if !ok {
		return
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		ann[lastApplied] = "<redacted: not JSON>"
	} else {
		removeFields(obj, fields)
		b, _ := json.Marshal(obj)
		ann[lastApplied] = string(b)
	}
	u.SetAnnotations(ann)
}

// tokenClient is the ext token resource's client: every error explained
// in one line, every object scrubbed before it is returned.
type tokenClient struct {
	ri dynamic.ResourceInterface
	// f gives follow-up hints the user's connection flags.
	f cli.Clients
}

func newTokenClient(f cli.Clients) (tokenClient, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return tokenClient{}, err
	}
	return tokenClient{ri: dyn.Resource(tokensGVR), f: f}, nil
}

// command is a kubectl exttoken command line for a follow-up, with the
// user's connection flags (cli.HintCommand).
func command(f cli.Clients, words ...string) string {
	return cli.HintCommand(f, append([]string{"kubectl", "exttoken"}, words...)...)
}

func (c tokenClient) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	u, err := c.ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.wrap(err, "get", name)
	}
	scrub(u)
	return u, nil
}

// create returns the create response unscrubbed: its value is what the
// caller must hand over.
func (c tokenClient) create(ctx context.Context, obj *unstructured.Unstructured, opts metav1.CreateOptions) (*unstructured.Unstructured, error) {
	u, err := c.ri.Create(ctx, obj, opts)
	return u, c.wrap(err, "create", "")
}

func (c tokenClient) patch(ctx context.Context, name string, patch []byte) (*unstructured.Unstructured, error) {
	u, err := c.ri.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, c.wrap(err, "patch", name)
	}
	scrub(u)
	return u, nil
}

func (c tokenClient) delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.wrap(c.ri.Delete(ctx, name, opts), "delete", name)
}

// each lists tokens page by page, scrubbed, calling fn for each.
func (c tokenClient) each(ctx context.Context, selector string, chunk int64, fn func(*unstructured.Unstructured) error) error {
	return c.eachPage(ctx, selector, chunk, fn, nil)
}

// eachPage is each with endPage told when a page's items are done.
func (c tokenClient) eachPage(ctx context.Context, selector string, chunk int64, fn func(*unstructured.Unstructured) error, endPage func(last bool)) error {
	err := eachItem(ctx, c.ri, selector, chunk, func(u *unstructured.Unstructured) error {
		scrub(u)
		return fn(u)
	}, endPage)
	return c.wrap(err, "list", "")
}

// eachItem lists ri page by page (--chunk-size, following the server's
// continue tokens) and calls fn for each item; endPage, when not nil, is
// told once a page's items are done, last when no page follows (a prune
// starts a page's deletes then). A page is fetched only after the last
// one is handed on, which costs a prune nothing: its fn only queues.
func eachItem(ctx context.Context, ri dynamic.ResourceInterface, selector string, chunk int64, fn func(*unstructured.Unstructured) error, endPage func(last bool)) error {
	opts := metav1.ListOptions{LabelSelector: selector, Limit: chunk}
	for {
		list, err := listThrottled(ctx, func() (*unstructured.UnstructuredList, error) { return ri.List(ctx, opts) })
		if err != nil {
			return err
		}
		for i := range list.Items {
			if err := fn(&list.Items[i]); err != nil {
				return err
			}
		}
		opts.Continue = list.GetContinue()
		if endPage != nil {
			endPage(opts.Continue == "")
		}
		if opts.Continue == "" {
			return nil
		}
	}
}

// listThrottled retries a page the server throttled (429) after
// client-go's own retries (it retries only answers with Retry-After, ten
// times): waiting as asked, else doubling from a second, up to listRetries.
func listThrottled(ctx context.Context, list func() (*unstructured.UnstructuredList, error)) (*unstructured.UnstructuredList, error) {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		obj, err := list()
		if err == nil || !apierrors.IsTooManyRequests(err) || attempt >= listRetries {
			return obj, err
		}
		d := backoff
		if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
			d = time.Duration(s) * time.Second
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// listRetries is how often a throttled page is asked for again.
const listRetries = 8

// wrap explains an ext token API error, turning Rancher's own messages
// into what the user can do about them before the generic explanation.
func (c tokenClient) wrap(err error, verb, name string) error {
	if err == nil {
		return nil
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		msg := st.Status().Message
		switch {
		case strings.Contains(msg, "is not a Rancher user"):
			return apierror.Explained(err, "%s: only Rancher users can own tokens; use a kubeconfig Rancher issued to your Rancher user (this credential is not one)", msg)
		case strings.Contains(msg, "missing authentication token ID"):
			return apierror.Explained(err, "%s: Rancher creates tokens only for requests authenticated with a Rancher token; use a kubeconfig from Rancher (UI or an ext token) instead of a direct cluster credential", msg)
		case strings.Contains(msg, "forbidden to extend time-to-live"):
			return apierror.Explained(err, "cannot extend token %q: Rancher only lets a token's TTL shrink (server: forbidden to extend time-to-live); create a new token with the longer --ttl instead", name)
		case strings.Contains(msg, "is immutable"):
			return apierror.Explained(err, "cannot change token %q: %s; only description, enabled and a shorter ttl can change", name, msg)
		case strings.Contains(msg, "unable to create token for other user"):
			return apierror.Explained(err, "Rancher refused: unable to create token for other user; tokens are always created for the calling user")
		case strings.Contains(msg, "operation references a disabled user"):
			return apierror.Explained(err, "Rancher refused: operation references a disabled user; an administrator must enable the user first")
		case strings.Contains(msg, "failed to process list options"):
			return apierror.Explained(err, "Rancher could not apply the label selector (%s): this Rancher version accepts only key=value selectors for non-admins", msg)
		case st.Status().Code == 400 && strings.HasPrefix(msg, "cluster ") && strings.HasSuffix(msg, " not found"):
			cluster := strings.TrimSuffix(strings.TrimPrefix(msg, "cluster "), " not found")
			return apierror.Explained(err, "Rancher has no cluster %q (%s): check --cluster-name against kubectl get clusters.management.cattle.io", cluster, msg)
		case strings.Contains(msg, "is not allowed to access cluster"):
			return apierror.Explained(err, "%s: a token can be scoped only to a cluster you may access; ask a Rancher administrator or drop --cluster-name", msg)
		case name != "" && apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
			return apierror.Explained(err, "token %q not found: check the name; list yours with %s", name, command(c.f, "list"))
		}
	}
	return apierror.Wrap(err, apierror.Op{Verb: verb, Resource: tokensGVR.GroupResource(), Kind: "token", Name: name, NotServed: notServed})
}

// legacyClient is the v3 token resource's client.
type legacyClient struct {
	ri dynamic.ResourceInterface
	f  cli.Clients // for follow-up hints
}

func newLegacyClient(f cli.Clients) (legacyClient, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return legacyClient{}, err
	}
	return legacyClient{ri: dyn.Resource(legacyGVR), f: f}, nil
}

func (c legacyClient) each(ctx context.Context, selector string, chunk int64, fn func(*unstructured.Unstructured) error) error {
	return c.eachPage(ctx, selector, chunk, fn, nil)
}

// eachPage is each with endPage told when a page's items are done.
func (c legacyClient) eachPage(ctx context.Context, selector string, chunk int64, fn func(*unstructured.Unstructured) error, endPage func(last bool)) error {
	err := eachItem(ctx, c.ri, selector, chunk, func(u *unstructured.Unstructured) error {
		scrubLegacy(u)
		return fn(u)
	}, endPage)
	return c.wrap(err, "list", "")
}

func (c legacyClient) delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.wrap(c.ri.Delete(ctx, name, opts), "delete", name)
}

func (c legacyClient) wrap(err error, verb, name string) error {
	if err == nil {
		return nil
	}
	if name != "" && apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
		return apierror.Explained(err, "v3 token %q not found: check the name; list them with %s", name, command(c.f, "legacy", "list"))
	}
	return apierror.Wrap(err, apierror.Op{Verb: verb, Resource: legacyGVR.GroupResource(), Kind: "v3 token", Name: name,
		NotServed: "Rancher's management API (tokens.management.cattle.io) is not served by this cluster; point --context at Rancher's local cluster"})
}

func settingOp(verb, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: settingsGVR.GroupResource(), Kind: "setting", Name: name,
		NotServed: "Rancher's settings (settings.management.cattle.io) are not served by this cluster; point --context at Rancher's local cluster"}
}
