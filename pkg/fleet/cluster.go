package fleet

import (
	"context"
	"encoding/json"
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
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// Where the fleet-agent keeps its own credential once registered
// (docs/fleet-registration.md §7.6): while it works, the agent does not
// register again, whatever token it is given.
const AgentCredentialSecret = "fleet-agent"

// RestartedAtAnnotation is what kubectl rollout restart sets on the pod
// template; enroll --reregister restarts the agent the same way.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// The states of one downstream cluster in enroll's table and result.
const (
	StatusPending           = "Pending"
	StatusRegistered        = "Registered"
	StatusAlreadyRegistered = "AlreadyRegistered"
	StatusInstalled         = "Installed"
	StatusFailed            = "Failed"
	// StatusNotStarted is a cluster --max-failures kept from starting.
	StatusNotStarted = "NotStarted"
)

// EnrollGVK names the one object enroll prints with -o json|yaml.
var EnrollGVK = ResultGVK.GroupVersion().WithKind("Enrollment")

// Enrollment is enroll's result: the token and what happened on every
// downstream cluster. It never holds the token value.
type Enrollment struct {
	metav1.TypeMeta `json:",inline"`
	Token           string `json:"token"`
	Namespace       string `json:"namespace"`
	// Mode is "manager" for enroll --mode manager (no token then).
	Mode string `json:"mode,omitempty"`
	// Expires is RFC3339, or empty for a token that never expires.
	Expires     string   `json:"expires"`
	Created     bool     `json:"created"`
	HelmRepoAdd []string `json:"helmRepoAdd"`
	// HelmRepoUpdate follows HelmRepoAdd: an add of a known repository
	// does not refresh its index.
	HelmRepoUpdate []string           `json:"helmRepoUpdate"`
	Clusters       []*EnrolledCluster `json:"clusters"`
	// TokenDeleted says the token this run created was deleted at its
	// end, every cluster holding its own credential.
	TokenDeleted bool `json:"tokenDeleted"`
	// TokenGone says the token was deleted by someone else (or expired)
	// while the agents registered: a re-run needs a new one.
	TokenGone bool `json:"tokenGone,omitempty"`
	// Waves are the tokens of a run in waves (--wave-size), in order.
	Waves    []EnrollWave `json:"waves,omitempty"`
	Warnings []string     `json:"warnings"`
	Notes    []string     `json:"notes"`

	values   *Result // the token's values and the install built from them
	headline string  // the token line said before the installs
}

// Failed tells whether the cluster counts as a failure of the run: it
// failed, is another manager's, or was not started.
func (cl *EnrolledCluster) Failed() bool {
	return cl.Status == StatusFailed || cl.Status == StatusRegisteredElsewhere || cl.Status == StatusNotStarted
}

// EnrollWave is one wave of a run in waves: its token, its clusters, and
// whether the token was deleted at its end.
type EnrollWave struct {
	Token        string   `json:"token"`
	Clusters     []string `json:"clusters"`
	TokenDeleted bool     `json:"tokenDeleted"`
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
	// Mode, KubeconfigSecret and CredentialExpires (RFC3339) are set
	// for manager mode (managed.go).
	Mode              string `json:"mode,omitempty"`
	KubeconfigSecret  string `json:"kubeconfigSecret,omitempty"`
	CredentialExpires string `json:"credentialExpires,omitempty"`

	clients    cli.Clients
	core       corev1client.CoreV1Interface
	dyn        dynamic.Interface
	configured bool // ClientID came from --client-id
	// previous is the working credential --reregister replaces, kept
	// until the new one is stored.
	previous *Credential
	// installedLabels are the labels the installed chart has, kept by
	// --reregister unless --label is given.
	installedLabels map[string]string
	// removed: --reregister deleted the previous credential.
	removed       bool
	kubeSystemUID string
	last          *Registration // the newest registration seen
	managed       *managedState // manager mode's plan
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
	c.Status = StatusFailed
	c.Error = apierror.OneLine(err.Error())
}

// connect builds the downstream clients of c's context.
func (c *EnrolledCluster) connect(f cli.Clients) error {
	var err error
	if c.clients, err = f.ForContext(c.Context); err != nil {
		return err
	}
	if c.core, err = c.clients.CoreV1(); err != nil {
		return err
	}
	c.dyn, err = c.clients.Dynamic()
	return err
}

// KubeSystemUID is the UID of the cluster's kube-system namespace: the
// agent's client ID when none is configured (§7.1), and what tells two
// contexts of one cluster apart.
func KubeSystemUID(ctx context.Context, core corev1client.CoreV1Interface) (string, error) {
	ns, err := core.Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return "", apierror.Wrap(err, apierror.Op{Verb: "get", Resource: corev1.Resource("namespaces"), Kind: "Namespace", Name: "kube-system"})
	}
	return string(ns.UID), nil
}

// Credential is what the downstream fleet-agent Secret says of the
// registration it holds (docs/fleet-registration.md §7.4): the Fleet
// Cluster and the management server its kubeconfig talks to.
type Credential struct {
	ClusterNamespace, ClusterName string
	Server                        string
	secret                        *corev1.Secret
}

// readCredential reads the agent's credential Secret; nil when there is
// none.
func (c *EnrolledCluster) readCredential(ctx context.Context, systemNS string) (*Credential, error) {
	s, err := c.core.Secrets(systemNS).Get(ctx, AgentCredentialSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apierror.Wrap(err, SecretOp("get", systemNS, AgentCredentialSecret))
	}
	cred := &Credential{ClusterNamespace: string(s.Data["clusterNamespace"]), ClusterName: string(s.Data["clusterName"]), secret: s}
	if cfg, err := clientcmd.Load(s.Data["kubeconfig"]); err == nil {
		for _, cl := range cfg.Clusters {
			cred.Server = cl.Server
			break
		}
	}
	return cred, nil
}

// identity is what the installed chart says the cluster is: its client
// ID and labels, from the agent's ConfigMap (the chart's config). found
// is false when no agent is installed.
func (c *EnrolledCluster) identity(ctx context.Context, systemNS string) (clientID string, labels map[string]string, found bool, err error) {
	cm, err := c.core.ConfigMaps(systemNS).Get(ctx, AgentRelease, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: corev1.Resource("configmaps"), Kind: "ConfigMap", Namespace: systemNS, Name: AgentRelease})
	}
	var cfg struct {
		ClientID string            `json:"clientID"`
		Labels   map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(cm.Data["config"]), &cfg); err != nil {
		return "", nil, true, fmt.Errorf("the installed agent's config (ConfigMap %s/%s) cannot be read: %s; pass --client-id and --label to say the cluster's identity", systemNS, AgentRelease, apierror.OneLine(err.Error()))
	}
	return cfg.ClientID, cfg.Labels, true, nil
}

// backupCredential keeps the agent's working credential in memory before
// --reregister removes it, so that a new registration that fails does not
// cut the cluster off: restoreCredential puts it back.
func (c *EnrolledCluster) restoreCredential(ctx context.Context, systemNS string, at time.Time) error {
	if c.previous == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s := c.previous.secret.DeepCopy()
	s.ResourceVersion, s.UID, s.CreationTimestamp, s.ManagedFields = "", "", metav1.Time{}, nil
	secrets := c.core.Secrets(systemNS)
	if err := secrets.Delete(ctx, AgentCredentialSecret, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return apierror.Wrap(err, SecretOp("delete", systemNS, AgentCredentialSecret))
	}
	if _, err := secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
		return apierror.Wrap(err, SecretOp("create", systemNS, AgentCredentialSecret))
	}
	return c.restartAgent(ctx, systemNS, at)
}

// reregister makes a registered agent register again (§7.6): without its
// credential Secret and restarted, it registers with the bootstrap values
// helm just installed. The old credential stays in c.previous until the
// new registration is stored.
func (c *EnrolledCluster) reregister(ctx context.Context, systemNS string, at time.Time) error {
	err := c.core.Secrets(systemNS).Delete(ctx, AgentCredentialSecret, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return apierror.Wrap(err, SecretOp("delete", systemNS, AgentCredentialSecret))
	}
	return c.restartAgent(ctx, systemNS, at)
}

func (c *EnrolledCluster) restartAgent(ctx context.Context, systemNS string, at time.Time) error {
	// A merge patch of one annotation: what kubectl rollout restart
	// changes, without its strategic-merge machinery.
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, at.Format(time.RFC3339Nano))
	_, err := c.dyn.Resource(DeploymentGVR).Namespace(systemNS).Patch(ctx, AgentRelease, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return apierror.Wrap(err, apierror.Op{Verb: "restart", Resource: DeploymentGVR.GroupResource(), Kind: "Deployment", Namespace: systemNS, Name: AgentRelease})
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
	lw := wait.Named(AgentCredentialSecret,
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return secrets.List(ctx, opts)
		},
		secrets.Watch)
	_, err := wait.Until(ctx, lw, "", func(ev watch.Event) (bool, error) {
		s, ok := ev.Object.(*corev1.Secret)
		return ok && ev.Type != watch.Deleted && s.Name == AgentCredentialSecret && string(s.Data["clusterName"]) == cluster, nil
	})
	return err
}

// agentAvailable reads the downstream fleet-agent Deployment: found, and
// whether a pod of it is available.
func (c *EnrolledCluster) agentAvailable(ctx context.Context, systemNS string) (found, available bool) {
	u, err := c.dyn.Resource(DeploymentGVR).Namespace(systemNS).Get(ctx, AgentRelease, metav1.GetOptions{})
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

// helmHint is a helm command on c's context, with the kubeconfig the user
// named.
func (c *EnrolledCluster) helmHint(words ...string) string {
	argv := append([]string{"helm"}, words...)
	argv = append(argv, "--kube-context", c.Context)
	if k := c.clients.Flags().KubeConfig; k != nil && *k != "" {
		argv = append(argv, "--kubeconfig", *k)
	}
	return shellquote.Join(argv)
}

// management is what the commands of this package call the cluster of
// the current context (cli.CheckDownstream, CheckDistinctClusters).
var management = cli.Management{What: "the Fleet management cluster", Whose: "the management cluster's"}

// checkDistinctClusters is CheckDistinctClusters for enroll's clusters.
func checkDistinctClusters(clusters []*EnrolledCluster, mgmtUID string) error {
	contexts, uids := make([]string, len(clusters)), make([]string, len(clusters))
	for i, cl := range clusters {
		contexts[i], uids[i] = cl.Context, cl.kubeSystemUID
	}
	return CheckDistinctClusters(contexts, uids, mgmtUID, management)
}

// CheckDistinctClusters refuses, once the downstream clusters' kube-system
// UIDs are read, a context of the management cluster (mgmtUID, "" when it
// could not be read; m names it as for cli.CheckDownstream) and two
// contexts of one cluster: cli.CheckDownstream's checks by name miss both
// when the kubeconfig holds two contexts of one server. uids[i] is
// contexts[i]'s, "" when unread (that cluster fails alone).
func CheckDistinctClusters(contexts, uids []string, mgmtUID string, m cli.Management) error {
	owner := map[string]string{}
	for i, uid := range uids {
		switch {
		case uid == "":
		case uid == mgmtUID:
			return fmt.Errorf("context %q reaches %s itself (kube-system UID %s): name downstream contexts; nothing was created", contexts[i], m.What, uid)
		case owner[uid] != "":
			return fmt.Errorf("contexts %q and %q reach the same cluster (kube-system UID %s): name each cluster once; nothing was created", owner[uid], contexts[i], uid)
		default:
			owner[uid] = contexts[i]
		}
	}
	return nil
}
