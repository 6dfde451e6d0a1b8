package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// The lifecycle of registered clusters, for both modes: list them with
// the kubeconfig context each is, remove one on both sides, repair its
// agent. Upstream plans the same verbs (fleet cluster list|remove).

// SummaryGVK names the objects kubectl regtoken clusters prints with -o.
var (
	SummaryGVK     = ResultGVK.GroupVersion().WithKind("FleetCluster")
	SummaryListGVK = ResultGVK.GroupVersion().WithKind("FleetClusterList")
)

// ClusterSummary is one Fleet Cluster as kubectl regtoken clusters shows
// it. It never holds a credential.
type ClusterSummary struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	// Mode is ModeManager (a kubeconfig Secret) or ModeAgent.
	Mode  string `json:"mode"`
	Ready string `json:"ready"`
	// AgentLastSeen is status.agent.lastSeen, RFC3339, "" before the
	// first check-in.
	AgentLastSeen string `json:"agentLastSeen,omitempty"`
	// RegisteredBy is secret/NAME (manager mode) or token/NAME (agent
	// mode, from the labelled ClusterRegistration), "" when unknown.
	RegisteredBy string `json:"registeredBy,omitempty"`
	// Context is the kubeconfig context whose cluster this is, "" when
	// none was found.
	Context           string `json:"context,omitempty"`
	ClientID          string `json:"clientID,omitempty"`
	CredentialExpires string `json:"credentialExpires,omitempty"`

	secretNamespace string
}

// ClusterSummaryList is the list -o json|yaml prints.
type ClusterSummaryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []ClusterSummary `json:"items"`
}

func (c *ClusterSummary) DeepCopyObject() runtime.Object {
	out := *c
	out.ObjectMeta = *c.DeepCopy()
	return &out
}

func (l *ClusterSummaryList) DeepCopyObject() runtime.Object {
	out := *l
	out.Items = make([]ClusterSummary, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopyObject().(*ClusterSummary)
	}
	return &out
}

// NewSummaryList wraps items for the printers.
func NewSummaryList(items []ClusterSummary) *ClusterSummaryList {
	l := &ClusterSummaryList{Items: items}
	l.SetGroupVersionKind(SummaryListGVK)
	if l.Items == nil {
		l.Items = []ClusterSummary{}
	}
	return l
}

// Unstructured is the list as the printers take it (the name printer
// takes no other list).
func (l *ClusterSummaryList) Unstructured() (*unstructured.UnstructuredList, error) {
	out := &unstructured.UnstructuredList{Object: map[string]any{"metadata": map[string]any{}}}
	out.SetGroupVersionKind(l.GroupVersionKind())
	for i := range l.Items {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&l.Items[i])
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// Summarize reads a Fleet Cluster; token is the registration token of an
// agent-mode cluster, when known.
func Summarize(c *unstructured.Unstructured, token string) ClusterSummary {
	s := ClusterSummary{Mode: ModeAgent, Ready: "Unknown"}
	s.SetGroupVersionKind(SummaryGVK)
	s.Name, s.Namespace, s.Labels, s.CreationTimestamp = c.GetName(), c.GetNamespace(), c.GetLabels(), c.GetCreationTimestamp()
	s.ClientID, _, _ = unstructured.NestedString(c.Object, "spec", "clientID")
	s.AgentLastSeen = lastSeen(c)
	secret, _, _ := unstructured.NestedString(c.Object, "spec", "kubeConfigSecret")
	if secret != "" || c.GetAnnotations()[ModeAnnotation] == ModeManager {
		s.Mode = ModeManager
		s.RegisteredBy = "secret/" + secret
		s.secretNamespace, _, _ = unstructured.NestedString(c.Object, "spec", "kubeConfigSecretNamespace")
		if s.secretNamespace == "" {
			s.secretNamespace = c.GetNamespace()
		}
	} else if token != "" {
		s.RegisteredBy = "token/" + token
	}
	s.CredentialExpires = c.GetAnnotations()[CredentialExpiresAnnotation]
	s.Context = c.GetAnnotations()[ContextAnnotation]
	conds, _, _ := unstructured.NestedSlice(c.Object, "status", "conditions")
	for _, x := range conds {
		if m, ok := x.(map[string]any); ok && m["type"] == "Ready" {
			if st, ok := m["status"].(string); ok && st != "" {
				s.Ready = st
			}
		}
	}
	return s
}

// KubeconfigSecret is a manager-mode Cluster's kubeconfig Secret
// (namespace, name); ok is false for agent mode.
func (s *ClusterSummary) KubeconfigSecret() (namespace, name string, ok bool) {
	name, ok = strings.CutPrefix(s.RegisteredBy, "secret/")
	return s.secretNamespace, name, ok && s.Mode == ModeManager && name != ""
}

// CredentialExpiresWithin tells whether a manager-mode credential expires
// within d of now (or has expired).
func (s *ClusterSummary) CredentialExpiresWithin(now time.Time, d time.Duration) bool {
	if s.CredentialExpires == "" {
		return false
	}
	at, err := time.Parse(time.RFC3339, s.CredentialExpires)
	return err == nil && !at.After(now.Add(d))
}

// ListClusters lists the Fleet Clusters of m's namespace ("" for all) as
// summaries, with the token that registered each agent-mode cluster
// (best effort: one list of registrations).
func (m *Manager) ListClusters(ctx context.Context) ([]ClusterSummary, error) {
	list, err := m.Dyn.Resource(ClusterGVR).Namespace(m.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apierror.Wrap(err, ClusterOp("list", m.Namespace, ""))
	}
	tokens := map[string]string{}
	if regs, err := m.Dyn.Resource(RegistrationGVR).Namespace(m.Namespace).List(ctx, metav1.ListOptions{LabelSelector: RegistrationLabel}); err == nil {
		sort.SliceStable(regs.Items, func(i, j int) bool {
			return regs.Items[i].GetCreationTimestamp().Time.Before(regs.Items[j].GetCreationTimestamp().Time)
		})
		for _, r := range regs.Items {
			if c, _, _ := unstructured.NestedString(r.Object, "status", "clusterName"); c != "" {
				tokens[r.GetNamespace()+"/"+c] = r.GetLabels()[RegistrationLabel]
			}
		}
	}
	out := make([]ClusterSummary, 0, len(list.Items))
	for i := range list.Items {
		c := &list.Items[i]
		out = append(out, Summarize(c, tokens[c.GetNamespace()+"/"+c.GetName()]))
	}
	slices.SortFunc(out, func(a, b ClusterSummary) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// The context matching asks at most ContextProbeParallel contexts at
// once, each for at most ContextProbeTimeout (kubectl regtoken clusters'
// help says so).
const (
	ContextProbeParallel = 8
	ContextProbeTimeout  = 5 * time.Second
)

// ContextUIDs reads the kube-system UID of every kubeconfig context but
// the current one, as the context matching bounds it: best effort, a
// context that does not answer is left out.
func ContextUIDs(ctx context.Context, f cli.Clients) map[string]string {
	names, current, err := f.KubeconfigContexts()
	if err != nil {
		return nil
	}
	uids := make([]string, len(names))
	var g errgroup.Group
	g.SetLimit(ContextProbeParallel)
	for i, name := range names {
		if name == current {
			continue
		}
		g.Go(func() error {
			c, err := f.ForContext(name)
			if err != nil {
				return nil
			}
			core, err := c.CoreV1()
			if err != nil {
				return nil
			}
			cctx, cancel := context.WithTimeout(ctx, ContextProbeTimeout)
			defer cancel()
			uids[i], _ = KubeSystemUID(cctx, core)
			return nil
		})
	}
	_ = g.Wait()
	out := map[string]string{}
	for i, uid := range uids {
		if uid != "" {
			if _, dup := out[uid]; !dup {
				out[uid] = names[i]
			}
		}
	}
	return out
}

// MatchContexts fills in each summary's Context from its client ID (the
// kube-system UID unless --client-id chose another); the context
// recorded at enroll --mode manager stays where no UID matches.
func MatchContexts(items []ClusterSummary, byUID map[string]string) {
	for i := range items {
		if ctx, ok := byUID[items[i].ClientID]; ok {
			items[i].Context = ctx
		}
	}
}

// Target is one cluster to remove or repair: its Fleet Cluster (nil when
// none matched) and its kubeconfig context ("" when none matched).
type Target struct {
	Arg       string
	Context   string
	Namespace string
	Cluster   *unstructured.Unstructured
	Summary   ClusterSummary
	clients   cli.Clients
	dyn       dynamic.Interface
}

// Mode is the target's registration mode ("" without a Cluster).
func (t *Target) Mode() string {
	if t.Cluster == nil {
		return ""
	}
	return t.Summary.Mode
}

// ClusterName is the Fleet Cluster's name, or "<none>".
func (t *Target) ClusterName() string {
	if t.Cluster == nil {
		return "<none>"
	}
	return t.Cluster.GetName()
}

// ResolveTargets turns each CONTEXT|CLUSTER argument into a target: a
// kubeconfig context (other than the current one) is matched to its
// Fleet Cluster in m's namespace by client ID (the kube-system UID) or
// the context enroll recorded; a Cluster name is matched to its context
// the same way. One Cluster list serves every argument.
func (m *Manager) ResolveTargets(ctx context.Context, args []string, what string) ([]*Target, error) {
	names, current, err := m.f.KubeconfigContexts()
	if err != nil {
		return nil, err
	}
	list, err := m.Dyn.Resource(ClusterGVR).Namespace(m.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apierror.Wrap(err, ClusterOp("list", m.Namespace, ""))
	}
	byName := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		byName[list.Items[i].GetName()] = &list.Items[i]
	}
	targets := make([]*Target, len(args))
	var uids map[string]string // kube-system UID → context, read once if needed
	seen := map[string]bool{}
	for i, arg := range args {
		if seen[arg] {
			return nil, fmt.Errorf("%q is given twice: name each cluster once", arg)
		}
		seen[arg] = true
		t := &Target{Arg: arg, Namespace: m.Namespace}
		targets[i] = t
		switch {
		case arg == current:
			return nil, fmt.Errorf("context %q is the Fleet management cluster (the current context): name downstream contexts or Fleet Clusters, or pass --context with the management cluster's; nothing was %s", arg, what)
		case slices.Contains(names, arg):
			t.Context = arg
			if err := t.connect(m.f); err != nil {
				return nil, err
			}
			core, err := t.clients.CoreV1()
			if err != nil {
				return nil, err
			}
			uid, err := KubeSystemUID(ctx, core)
			if err != nil {
				return nil, fmt.Errorf("context %s: %w; nothing was %s", arg, err, what)
			}
			for _, c := range list.Items {
				id, _, _ := unstructured.NestedString(c.Object, "spec", "clientID")
				if id == uid || (t.Cluster == nil && c.GetAnnotations()[ContextAnnotation] == arg) {
					t.Cluster = &c
				}
			}
		case byName[arg] != nil:
			t.Cluster = byName[arg]
			s := Summarize(t.Cluster, "")
			ctxName := s.Context
			if uids == nil {
				uids = ContextUIDs(ctx, m.f)
			}
			if c, ok := uids[s.ClientID]; ok {
				ctxName = c
			}
			if ctxName != "" && slices.Contains(names, ctxName) && ctxName != current {
				t.Context = ctxName
				if err := t.connect(m.f); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("%q is neither a context of the kubeconfig nor a Fleet Cluster in namespace %s: list them with %s; nothing was %s", arg, m.Namespace, Hint(m.f, "clusters", "-n", m.Namespace), what)
		}
		if t.Cluster != nil {
			t.Summary = Summarize(t.Cluster, "")
		}
	}
	return targets, nil
}

func (t *Target) connect(f cli.Clients) error {
	var err error
	if t.clients, err = f.ForContext(t.Context); err != nil {
		return err
	}
	t.dyn, err = t.clients.Dynamic()
	return err
}

// objRef is one object a removal deletes.
type objRef struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
	// selector deletes what a label selector lists instead of name (the
	// helm release records).
	selector string
	keep     func(u *unstructured.Unstructured) bool
}

var (
	serviceAccountGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	configMapGVR      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	namespaceGVR      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	networkPolicyGVR  = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
)

// agentObjects are the downstream objects of the agent, whoever applied
// them (docs/fleet-registration.md §8.4, §8.11): helm's release
// fleet-agent, the release fleet-agent-CLUSTER Fleet took it over into,
// and the objects Fleet's controller applies directly in manager mode.
// The Deployment goes first, so that no agent runs while the rest goes.
// The helm release records go too: that is what helm uninstall removes
// besides the objects, and without helm on this machine.
func agentObjects(cluster string) []objRef {
	ns := AgentNamespace
	releases := []string{AgentRelease}
	if cluster != "" {
		releases = append(releases, AgentRelease+"-"+cluster)
	}
	refs := []objRef{
		{gvr: DeploymentGVR, namespace: ns, name: AgentRelease},
		{gvr: secretGVR, namespace: ns, name: "fleet-agent-bootstrap"},
		{gvr: secretGVR, namespace: ns, name: AgentCredentialSecret},
		{gvr: configMapGVR, namespace: ns, name: AgentRelease},
		{gvr: serviceAccountGVR, namespace: ns, name: AgentRelease},
		{gvr: networkPolicyGVR, namespace: ns, name: "default-allow-all"},
		{gvr: secretGVR, namespace: ns, selector: "owner=helm", keep: func(u *unstructured.Unstructured) bool {
			return !slices.Contains(releases, u.GetLabels()["name"])
		}},
		{gvr: clusterRoleBindingGVR, name: ns + "-fleet-agent-role-binding"},
		{gvr: clusterRoleGVR, name: ns + "-fleet-agent-role"},
		// The fleet-agent chart's own names (its rbac.yaml).
		{gvr: clusterRoleBindingGVR, name: "fleet-agent-system-fleet-agent-role-binding"},
		{gvr: clusterRoleGVR, name: "fleet-agent-system-fleet-agent-role"},
	}
	return refs
}

// credentialObjects are what enroll --mode manager minted downstream.
func credentialObjects() []objRef {
	return []objRef{
		{gvr: clusterRoleBindingGVR, name: CredentialAccount},
		{gvr: serviceAccountGVR, namespace: CredentialNamespace, name: CredentialAccount},
	}
}

// Step is one deletion of a removal, as printed: "KIND/NAME deleted ...".
type Step struct {
	Ref   string // resource.group/name
	Where string // "from namespace X on context Y", "from namespace X"
	// Kept: the object stays, and Where says why.
	Kept bool
}

func (s Step) String() string {
	if s.Kept {
		return s.Ref + " " + s.Where
	}
	return s.Ref + " deleted " + s.Where
}

// RemoveOptions shape a removal.
type RemoveOptions struct {
	// DryRun only reads: each step is an object that exists.
	DryRun bool
}

// Remove takes one target out on both sides: the Fleet Cluster (and, in
// manager mode, the kubeconfig Secret enroll wrote) upstream first, so
// that Fleet deploys nothing more, then the agent downstream and the
// credential minted there. It returns the steps done (with DryRun: the
// objects that would go); an error says what is left.
func (m *Manager) Remove(ctx context.Context, t *Target, o RemoveOptions) ([]Step, error) {
	var steps []Step
	do := func(dyn dynamic.Interface, ref objRef, where string) error {
		done, err := deleteRef(ctx, dyn, ref, o.DryRun)
		for _, n := range done {
			steps = append(steps, Step{Ref: refName(ref.gvr, n), Where: where})
		}
		return err
	}
	if t.Cluster != nil {
		where := "from namespace " + t.Namespace
		if err := do(m.Dyn, objRef{gvr: ClusterGVR, namespace: t.Namespace, name: t.Cluster.GetName()}, where); err != nil {
			return steps, err
		}
		if sns, name, ok := t.Summary.KubeconfigSecret(); ok {
			s, err := m.Core.Secrets(sns).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return steps, apierror.Wrap(err, SecretOp("get", sns, name))
			case s.Labels[ManagedByLabel] != ManagedByValue:
				// Not ours (Rancher's, or written by hand): say so, keep it.
				steps = append(steps, Step{Ref: "secret/" + name, Kept: true, Where: "kept in namespace " + sns + ": kubectl regtoken did not write it"})
			case o.DryRun:
				steps = append(steps, Step{Ref: "secret/" + name, Where: "from namespace " + sns})
			default:
				err := m.Core.Secrets(sns).Delete(ctx, name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					return steps, apierror.Wrap(err, SecretOp("delete", sns, name))
				}
				steps = append(steps, Step{Ref: "secret/" + name, Where: "from namespace " + sns})
			}
		}
	}
	if t.Context == "" {
		return steps, nil
	}
	cluster := ""
	if t.Cluster != nil {
		cluster = t.Cluster.GetName()
	}
	on := " on context " + t.Context
	for _, ref := range append(agentObjects(cluster), credentialObjects()...) {
		where := "on context " + t.Context
		if ref.namespace != "" {
			where = "from namespace " + ref.namespace + on
		}
		if err := do(t.dyn, ref, where); err != nil {
			return steps, err
		}
	}
	// The agent's namespace goes when nothing else runs in it (helm's
	// --create-namespace or Fleet's manifests made it for the agent).
	deps, err := t.dyn.Resource(DeploymentGVR).Namespace(AgentNamespace).List(ctx, metav1.ListOptions{})
	if err == nil && len(slices.DeleteFunc(deps.Items, func(u unstructured.Unstructured) bool { return u.GetName() == AgentRelease && o.DryRun })) == 0 {
		// Fleet's manifests apply the namespace's default ServiceAccount
		// too (§8.11); it goes with the namespace, never without it.
		for _, ref := range []objRef{{gvr: serviceAccountGVR, namespace: AgentNamespace, name: "default"}, {gvr: namespaceGVR, name: AgentNamespace}} {
			where := "on context " + t.Context
			if ref.namespace != "" {
				where = "from namespace " + ref.namespace + on
			}
			if err := do(t.dyn, ref, where); err != nil {
				return steps, err
			}
		}
	}
	return steps, nil
}

// deleteRef deletes one object, or the objects a selector lists (minus
// keep), and returns the names deleted; with dryRun it only reads.
func deleteRef(ctx context.Context, dyn dynamic.Interface, ref objRef, dryRun bool) ([]string, error) {
	ri := dyn.Resource(ref.gvr).Namespace(ref.namespace)
	op := apierror.Op{Verb: "delete", Resource: ref.gvr.GroupResource(), Kind: ref.gvr.Resource, Namespace: ref.namespace, Name: ref.name}
	names := []string{ref.name}
	if ref.selector != "" {
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: ref.selector})
		if err != nil {
			op.Verb = "list"
			return nil, apierror.Wrap(err, op)
		}
		names = nil
		for i := range list.Items {
			if ref.keep == nil || !ref.keep(&list.Items[i]) {
				names = append(names, list.Items[i].GetName())
			}
		}
		sort.Strings(names)
	}
	var done []string
	for _, n := range names {
		var err error
		if dryRun {
			_, err = ri.Get(ctx, n, metav1.GetOptions{})
		} else {
			bg := metav1.DeletePropagationBackground
			err = ri.Delete(ctx, n, metav1.DeleteOptions{PropagationPolicy: &bg})
		}
		switch {
		case err == nil:
			done = append(done, n)
		case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		default:
			op.Name = n
			return done, apierror.Wrap(err, op)
		}
	}
	return done, nil
}

func refName(gvr schema.GroupVersionResource, name string) string {
	kind := map[string]string{"deployments": "deployment", "secrets": "secret", "configmaps": "configmap", "serviceaccounts": "serviceaccount",
		"networkpolicies": "networkpolicy", "clusterroles": "clusterrole", "clusterrolebindings": "clusterrolebinding", "namespaces": "namespace",
		"clusters": "cluster"}[gvr.Resource]
	if kind == "" {
		kind = gvr.Resource
	}
	if gvr.Group != "" {
		kind += "." + gvr.Group
	}
	return kind + "/" + name
}

// Redeploy makes Fleet deploy a manager-mode cluster's agent again
// (spec.redeployAgentGeneration + 1; docs/fleet-registration.md §8.11)
// and waits by watch until the new agent has checked in. checking is told
// once the bump is written.
func (m *Manager) Redeploy(ctx context.Context, t *Target, checking func(string)) error {
	c := t.Cluster
	if c == nil || t.Summary.Mode != ModeManager {
		return errors.New("not a manager-mode Cluster")
	}
	gen, _, _ := unstructured.NestedInt64(c.Object, "spec", "redeployAgentGeneration")
	before := lastSeen(c)
	patch := fmt.Sprintf(`{"spec":{"redeployAgentGeneration":%d}}`, gen+1)
	ri := m.Dyn.Resource(ClusterGVR).Namespace(t.Namespace)
	if _, err := ri.Patch(ctx, c.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return apierror.Wrap(err, ClusterOp("patch", t.Namespace, c.GetName()))
	}
	if checking != nil {
		checking(fmt.Sprintf("spec.redeployAgentGeneration is %d; waiting for the new agent to check in", gen+1))
	}
	return AwaitCheckIn(ctx, ri, c.GetName(), before, nil)
}
