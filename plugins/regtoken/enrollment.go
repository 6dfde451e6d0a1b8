package regtoken

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// Where the fleet-agent keeps its own credential once registered
// (docs/fleet-registration.md §7.6): while it works, the agent does not
// register again, whatever token it is given.
const agentCredentialSecret = "fleet-agent"

// restartedAtAnnotation is what kubectl rollout restart sets on the pod
// template; enroll --reregister restarts the agent the same way.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// The states of one downstream cluster in enroll's table and result.
const (
	statusPending           = "Pending"
	statusRegistered        = "Registered"
	statusAlreadyRegistered = "AlreadyRegistered"
	statusInstalled         = "Installed"
	statusFailed            = "Failed"
)

// enrollGVK names the one object enroll prints with -o json|yaml.
var enrollGVK = resultGVK.GroupVersion().WithKind("Enrollment")

// Enrollment is enroll's result: the token and what happened on every
// downstream cluster. It never holds the token value.
type Enrollment struct {
	metav1.TypeMeta `json:",inline"`
	Token           string `json:"token"`
	Namespace       string `json:"namespace"`
	// Expires is RFC3339, or empty for a token that never expires.
	Expires     string   `json:"expires"`
	Created     bool     `json:"created"`
	HelmRepoAdd []string `json:"helmRepoAdd"`
	// HelmRepoUpdate follows HelmRepoAdd: an add of a known repository
	// does not refresh its index.
	HelmRepoUpdate []string           `json:"helmRepoUpdate"`
	Clusters       []*EnrolledCluster `json:"clusters"`
	Warnings       []string           `json:"warnings"`
	Notes          []string           `json:"notes"`
}

// EnrolledCluster is one downstream context.
type EnrolledCluster struct {
	Context string `json:"context"`
	// ClientID is the Fleet Cluster's spec.clientID: --client-id, else
	// the UID of the cluster's kube-system namespace, as the agent uses.
	ClientID string `json:"clientID"`
	// Helm is the argv run (nil when helm was not run).
	Helm         []string `json:"helm"`
	Release      string   `json:"release"`
	Registration string   `json:"registration,omitempty"`
	Cluster      string   `json:"cluster"`
	Status       string   `json:"status"`
	Error        string   `json:"error,omitempty"`

	clients    cli.Clients
	core       corev1client.CoreV1Interface
	dyn        dynamic.Interface
	configured bool // ClientID came from --client-id
	started    time.Time
	last       *Registration // the newest registration seen
}

// DeepCopyObject makes Enrollment a runtime.Object for the printers.
func (e *Enrollment) DeepCopyObject() runtime.Object {
	c := *e
	c.HelmRepoAdd = slices.Clone(e.HelmRepoAdd)
	c.HelmRepoUpdate = slices.Clone(e.HelmRepoUpdate)
	c.Warnings = slices.Clone(e.Warnings)
	c.Notes = slices.Clone(e.Notes)
	c.Clusters = make([]*EnrolledCluster, len(e.Clusters))
	for i, cl := range e.Clusters {
		cc := *cl
		cc.Helm = slices.Clone(cl.Helm)
		c.Clusters[i] = &cc
	}
	return &c
}

func (c *EnrolledCluster) fail(err error) {
	c.Status = statusFailed
	c.Error = apierror.OneLine(err.Error())
}

// connect builds the downstream clients of c's context.
func (c *EnrolledCluster) connect(f cli.Clients) error {
	multi, ok := f.(cli.Contexts)
	if !ok {
		return errors.New("this client cannot reach other kubeconfig contexts")
	}
	var err error
	if c.clients, err = multi.ForContext(c.Context); err != nil {
		return err
	}
	if c.core, err = c.clients.CoreV1(); err != nil {
		return err
	}
	c.dyn, err = c.clients.Dynamic()
	return err
}

// kubeSystemUID is the UID of the cluster's kube-system namespace: the
// agent's client ID when none is configured (§7.1), and what tells two
// contexts of one cluster apart.
func kubeSystemUID(ctx context.Context, core corev1client.CoreV1Interface) (string, error) {
	ns, err := core.Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return "", apierror.Wrap(err, apierror.Op{Verb: "get", Resource: corev1.Resource("namespaces"), Kind: "Namespace", Name: "kube-system"})
	}
	return string(ns.UID), nil
}

// preflight reads what enroll needs from c before any token exists: the
// kube-system UID, and whether an agent is registered already (its
// credential Secret exists). It returns the kube-system UID.
func (c *EnrolledCluster) preflight(ctx context.Context, systemNS string, reregister bool) (string, error) {
	uid, err := kubeSystemUID(ctx, c.core)
	if err != nil {
		return "", err
	}
	if !c.configured {
		c.ClientID = uid
	}
	s, err := c.core.Secrets(systemNS).Get(ctx, agentCredentialSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return "", apierror.Wrap(err, secretOp("get", systemNS, agentCredentialSecret))
	case !reregister:
		c.Status = statusAlreadyRegistered
		c.Cluster = string(s.Data["clusterName"])
	}
	return uid, nil
}

// reregister makes a registered agent register again (§7.6): without its
// credential Secret and restarted, it registers with the bootstrap values
// helm just installed.
func (c *EnrolledCluster) reregister(ctx context.Context, systemNS string, at time.Time) error {
	err := c.core.Secrets(systemNS).Delete(ctx, agentCredentialSecret, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return apierror.Wrap(err, secretOp("delete", systemNS, agentCredentialSecret))
	}
	// A merge patch of one annotation: what kubectl rollout restart
	// changes, without its strategic-merge machinery.
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartedAtAnnotation, at.Format(time.RFC3339))
	_, err = c.dyn.Resource(deploymentGVR).Namespace(systemNS).Patch(ctx, agentRelease, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-regtoken"})
	if err != nil {
		return apierror.Wrap(err, apierror.Op{Verb: "restart", Resource: deploymentGVR.GroupResource(), Kind: "Deployment", Namespace: systemNS, Name: agentRelease})
	}
	return nil
}

// awaitCredential waits, by watch, until the agent has stored the
// credential of cluster: its Secret fleet-agent naming that cluster
// (docs/fleet-registration.md §7.4). The grant alone does not say so
// (§7.7), and until the agent has it, a second enroll would take the
// cluster for unregistered and install values the running agent never
// reads (§7.6), then wait for a registration that never comes.
func (c *EnrolledCluster) awaitCredential(ctx context.Context, systemNS, cluster string) error {
	secrets := c.core.Secrets(systemNS)
	lw := wait.Named(agentCredentialSecret,
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return secrets.List(ctx, opts)
		},
		secrets.Watch)
	_, err := wait.Until(ctx, lw, "", func(ev watch.Event) (bool, error) {
		s, ok := ev.Object.(*corev1.Secret)
		return ok && ev.Type != watch.Deleted && s.Name == agentCredentialSecret && string(s.Data["clusterName"]) == cluster, nil
	})
	return err
}

// agentAvailable reads the downstream fleet-agent Deployment: found, and
// whether a pod of it is available.
func (c *EnrolledCluster) agentAvailable(ctx context.Context, systemNS string) (found, available bool) {
	u, err := c.dyn.Resource(deploymentGVR).Namespace(systemNS).Get(ctx, agentRelease, metav1.GetOptions{})
	if err != nil {
		return false, false
	}
	n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
	return true, n > 0
}

// downstreamHint is a kubectl command on c's context, with the
// kubeconfig the user named.
func (c *EnrolledCluster) downstreamHint(words ...string) string {
	return cli.HintCommand(c.clients, append([]string{"kubectl"}, words...)...)
}
