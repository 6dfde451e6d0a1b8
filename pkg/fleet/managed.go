package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fanout"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// Manager-initiated registration (docs/fleet-registration.md §8.10-11):
// per downstream cluster a static credential minted there, a kubeconfig
// Secret and a Fleet Cluster naming it; Fleet's controller deploys the
// agent. These are the steps of enroll --mode manager; the sequence
// (Validate, preflight, per-cluster fan-out, result) is enroll's.

// The permissions manager mode needs, upstream and downstream.
var (
	AccessCreateClusters = Access{"create", ClusterGVR.Group, ClusterGVR.Resource, "create the Fleet Clusters"}
	AccessListClusters   = Access{"list", ClusterGVR.Group, ClusterGVR.Resource, "find the clusters registered already (a re-run resumes)"}
	AccessWatchClusters  = Access{"watch", ClusterGVR.Group, ClusterGVR.Resource, "wait by watch until the agents check in"}
	AccessCreateSecrets  = Access{"create", "", "secrets", "write the kubeconfig Secrets the Fleet controller deploys the agents with"}

	AccessCreateServiceAccounts = Access{"create", "", "serviceaccounts", "create the ServiceAccount the Fleet controller deploys the agent as"}
	AccessCreateSATokens        = Access{"create", "", "serviceaccounts/token", "mint the Fleet controller's token (a TokenRequest)"}
	AccessCreateBindings        = Access{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "bind that ServiceAccount to cluster-admin"}
)

// minCredentialTTL is the shortest token the API server issues
// (TokenRequest's expirationSeconds is at least 600).
const minCredentialTTL = 10 * time.Minute

// managedState is what manager mode knows of one cluster between the
// preflight and its run.
type managedState struct {
	kc kubeconfig.Cluster // the context's server and CA
	// needCredential: no kubeconfig Secret exists (a new cluster, or one
	// whose Secret was deleted: repaired).
	needCredential bool
	needCluster    bool
	secretExists   bool // a Secret of ours without its Cluster (an interrupted run)
	relabel        bool // --label differs from the Cluster's labels
	checkedIn      bool
}

// validateMode refuses the flags of the other mode, with one line each.
func (e *Enroller) validateMode() error {
	switch e.Mode {
	case "", ModeAgent:
		switch {
		case e.CredentialTTL != "":
			return errors.New("--credential-ttl applies to --mode manager (the credential minted in each cluster); in agent mode the token's lifetime is --ttl: leave out --credential-ttl")
		case e.KubeconfigSecretNamespace != "":
			return errors.New("--kubeconfig-secret-namespace applies to --mode manager: leave it out, or pass --mode manager")
		}
		return nil
	case ModeManager:
	default:
		return fmt.Errorf("--mode %q is not a mode: pass --mode agent (helm installs the agent, which registers with a token) or --mode manager (Fleet's controller deploys the agent with a credential minted in each cluster)", e.Mode)
	}
	agentOnly := []struct {
		set  bool
		flag string
	}{
		{e.TokenName != "", "--token-name"}, {e.ReuseToken != "", "--reuse-token"}, {e.TTL != "", "--ttl"}, {e.KeepToken, "--keep-token"},
		{e.Helm != "", "--helm"}, {e.Chart != "" && e.Chart != AgentChart, "--chart"}, {e.Install.ChartVersion != "", "--chart-version"},
		{e.RepoURL != "" && e.RepoURL != HelmRepoURL, "--repo-url"}, {e.WaveSize > 0, "--wave-size"},
	}
	for _, f := range agentOnly {
		if f.set {
			return fmt.Errorf("%s applies to --mode agent (a token and a helm install); --mode manager uses neither: leave out %s", f.flag, f.flag)
		}
	}
	if e.Reregister {
		return errors.New("--reregister applies to --mode agent; a cluster registered in manager mode is redeployed with kubectl regtoken repair CONTEXT: leave out --reregister")
	}
	return nil
}

// completeManaged is NewEnroller for manager mode: the management
// clients, the labels and CA flags, the credential's TTL. No helm, no
// chart, no token.
func (e *Enroller) completeManaged() error {
	var err error
	if e.m, err = NewManager(e.f, e.namespace); err != nil {
		return err
	}
	if e.DryRun != dryrun.None {
		if err := e.Install.CompleteLabels(); err != nil {
			return err
		}
	} else if err := e.Install.Complete(e.f); err != nil {
		return err
	}
	e.credTTL = DefaultCredentialTTL
	if e.CredentialTTL != "" {
		v, err := ttl.Parse("--credential-ttl", e.CredentialTTL)
		switch {
		case err != nil:
			return err
		case v.Never:
			return fmt.Errorf("--credential-ttl never is not possible: a TokenRequest token always expires; pass a duration such as 365d (and renew it with kubectl regtoken repair before it ends)")
		case v.Duration < minCredentialTTL:
			return fmt.Errorf("--credential-ttl %s is shorter than the %s the API server issues at least: pass e.g. --credential-ttl 365d", ttl.Format(v.Duration), ttl.Format(minCredentialTTL))
		}
		e.credTTL = v.Duration
	}
	return nil
}

// validateManaged is Validate for manager mode.
func (e *Enroller) validateManaged() error {
	switch {
	case e.Timeout <= 0:
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 10m", e.Timeout)
	case e.Parallel < 1:
		return fmt.Errorf("--parallel %d is less than 1: pass how many clusters may be set up at once, e.g. --parallel 8", e.Parallel)
	}
	if err := ValidateNamespace(e.namespace); err != nil {
		return err
	}
	if err := CheckKubeconfigSecretNamespace(e.namespace, e.KubeconfigSecretNamespace); err != nil {
		return err
	}
	if err := dryrun.ValidateClient(e.DryRun, "the downstream credential has no server dry run"); err != nil {
		return err
	}
	if err := e.Install.ValidateFlags(); err != nil {
		return err
	}
	// The inventory's labels win over --label here too.
	if err := e.resolveLabels(); err != nil {
		return err
	}
	if err := e.resolveContexts(); err != nil {
		return err
	}
	names := map[string]string{}
	for _, cl := range e.clusters {
		cl.Mode = ModeManager
		cl.Release = ""
		cl.Cluster = ClusterNameFor(cl.Context)
		if other, dup := names[cl.Cluster]; dup {
			return fmt.Errorf("contexts %q and %q would both become Fleet Cluster %s: rename one of the contexts (kubectl config rename-context); nothing was created", other, cl.Context, cl.Cluster)
		}
		names[cl.Cluster] = cl.Context
		cl.KubeconfigSecret = KubeconfigSecretName(cl.Cluster)
		kc, err := cl.clients.CurrentCluster()
		if err != nil {
			return err
		}
		if kc.Server == "" {
			return fmt.Errorf("context %q has no server: fix the kubeconfig; nothing was created", cl.Context)
		}
		if kc.HasCA() {
			// Read now: a CA that turns out unusable after the
			// credential is minted would leave it behind.
			if _, err := kc.CA(); err != nil {
				return fmt.Errorf("%w: the Fleet controller could not verify the cluster; fix the context's certificate-authority; nothing was created", err)
			}
		}
		if kubeconfig.IsLoopback(kc.Server) {
			e.loopbackWarnings = append(e.loopbackWarnings, fmt.Sprintf("context %s: server %s is a loopback address: the Fleet controller reaches it only when it runs on this machine; give the context the cluster's own address", cl.Context, kc.Server))
		}
		cl.managed = &managedState{kc: kc}
	}
	return nil
}

// CheckKubeconfigSecretNamespace applies Fleet's rule for
// spec.kubeConfigSecretNamespace (docs/fleet-registration.md §8.10): the
// Cluster's own namespace, or one of Fleet's.
func CheckKubeconfigSecretNamespace(clusterNS, ns string) error {
	if ns == "" || ns == clusterNS {
		return nil
	}
	allowed := []string{"fleet-local", "fleet-default", "cattle-fleet-system", "fleet-system", "cattle-fleet-clusters-system", "fleet-clusters-system"}
	for _, a := range allowed {
		if ns == a {
			return nil
		}
	}
	if strings.HasPrefix(ns, "cluster-") {
		return ValidateNamespace(ns)
	}
	return fmt.Errorf("--kubeconfig-secret-namespace %q is not a namespace Fleet reads kubeconfig Secrets from: pass the Clusters' namespace (-n, the default), %s, or a cluster-* namespace", ns, strings.Join(allowed, ", "))
}

var notNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// ClusterNameFor is the Fleet Cluster name of a kubeconfig context: the
// context name made a DNS label (lower case, other characters '-', at
// most 63 characters).
func ClusterNameFor(contextName string) string {
	n := notNameChars.ReplaceAllString(strings.ToLower(contextName), "-")
	n = strings.Trim(n, "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	if n == "" {
		sum := sha256.Sum256([]byte(contextName))
		n = "cluster-" + hex.EncodeToString(sum[:6])
	}
	return n
}

// KubeconfigSecretName is the Secret of cluster's kubeconfig.
func KubeconfigSecretName(cluster string) string { return cluster + "-kubeconfig" }

// ManagedPlan is what a client dry run of manager mode prints: the
// objects it would write, computed without a request.
func (e *Enroller) ManagedPlan() (lines, notes []string) {
	suffix := dryrun.Suffix(dryrun.Client)
	secretNS := e.secretNamespace()
	for _, cl := range e.clusters {
		lines = append(lines,
			fmt.Sprintf("serviceaccount/%s created in namespace %s on context %s%s", CredentialAccount, CredentialNamespace, cl.Context, suffix),
			fmt.Sprintf("clusterrolebinding/%s created (to %s) on context %s%s", CredentialAccount, CredentialRole, cl.Context, suffix),
			fmt.Sprintf("secret/%s created in namespace %s%s", cl.KubeconfigSecret, secretNS, suffix),
			fmt.Sprintf("cluster.fleet.cattle.io/%s created in namespace %s%s", cl.Cluster, e.namespace, suffix))
	}
	notes = append(notes, fmt.Sprintf("each credential is a TokenRequest token of ServiceAccount %s/%s valid for %s; the Fleet controller then deploys the agents", CredentialNamespace, CredentialAccount, ttl.Format(e.credTTL)))
	return lines, notes
}

func (e *Enroller) secretNamespace() string {
	if e.KubeconfigSecretNamespace != "" {
		return e.KubeconfigSecretNamespace
	}
	return e.namespace
}

// runManaged is Run for manager mode: the preflight, then every pending
// cluster at once (at most --parallel), each writing its credential,
// Secret and Cluster and waiting for the agent's check-in.
func (e *Enroller) runManaged(ctx context.Context, res *Enrollment) (*Enrollment, *Token, error) {
	res.Mode = ModeManager
	res.Warnings = append(res.Warnings, e.loopbackWarnings...)
	if err := e.preflightManaged(ctx, res); err != nil {
		return nil, nil, err
	}
	for _, w := range res.Warnings {
		e.warn(w)
	}
	pool := fanout.New(e.Parallel, e.MaxFailures.Limit(len(e.pending())), e.MaxFailures.String())
	for _, cl := range e.clusters {
		if cl.Status != StatusPending {
			e.changed(cl, cl.Status, cl.Error)
			continue
		}
		pool.Go(func(start fanout.Start) { e.enrollManaged(ctx, cl, pool, start) })
	}
	pool.Wait()
	return res, nil, nil
}

// preflightManaged reads, all at once, what can refuse the run before
// anything is written: the permissions upstream, the Clusters there (a
// re-run resumes), the management cluster's kube-system, and per
// downstream cluster its kube-system UID and permissions.
func (e *Enroller) preflightManaged(ctx context.Context, res *Enrollment) error {
	var mgmtUID string
	var access, listErr error
	var existing []unstructured.Unstructured
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		mgmtUID, _ = KubeSystemUID(gctx, e.m.Core)
		return nil
	})
	g.Go(func() error {
		checks := []Access{AccessCreateClusters, AccessListClusters, AccessCreateSecrets}
		if e.WaitRegistration {
			checks = append(checks, AccessWatchClusters)
		}
		access = e.m.CheckAccess(gctx, "enroll --mode manager", checks...)
		return nil
	})
	g.Go(func() error {
		list, err := e.m.Dyn.Resource(ClusterGVR).Namespace(e.namespace).List(gctx, metav1.ListOptions{})
		if err != nil {
			listErr = apierror.Wrap(err, ClusterOp("list", e.namespace, ""))
			return nil
		}
		existing = list.Items
		return nil
	})
	for _, cl := range e.clusters {
		g.Go(func() error {
			uid, err := KubeSystemUID(gctx, cl.core)
			if err != nil {
				cl.fail(fmt.Errorf("context %s: %w", cl.Context, err))
				return nil
			}
			cl.kubeSystemUID = uid
			if !cl.configured {
				cl.ClientID = uid
			}
			return nil
		})
	}
	_ = g.Wait()
	if access != nil {
		return access
	}
	if listErr != nil {
		return listErr
	}
	if err := checkDistinctClusters(e.clusters, mgmtUID); err != nil {
		return err
	}
	byID, byName := map[string]*unstructured.Unstructured{}, map[string]*unstructured.Unstructured{}
	for i := range existing {
		c := &existing[i]
		byName[c.GetName()] = c
		if id, _, _ := unstructured.NestedString(c.Object, "spec", "clientID"); id != "" {
			byID[id] = c
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	for _, cl := range e.clusters {
		if cl.Status != StatusPending {
			continue
		}
		g.Go(func() error {
			if err := e.planManaged(gctx, cl, byID[cl.ClientID], byName[cl.Cluster]); err != nil {
				cl.fail(err)
			}
			return nil
		})
	}
	_ = g.Wait()
	return nil
}

// planManaged decides what one cluster needs: a Cluster with its client
// ID may exist already (a re-run), with or without its Secret.
func (e *Enroller) planManaged(ctx context.Context, cl *EnrolledCluster, byID, byName *unstructured.Unstructured) error {
	st := cl.managed
	switch {
	case byID != nil:
		cl.Cluster = byID.GetName()
		secret, _, _ := unstructured.NestedString(byID.Object, "spec", "kubeConfigSecret")
		if secret == "" {
			cl.Mode, cl.Status = ModeAgent, StatusAlreadyRegistered
			cl.KubeconfigSecret = ""
			return nil
		}
		cl.KubeconfigSecret = secret
		st.checkedIn = CheckedIn(byID)
		st.relabel = len(e.labelsFor(cl)) > 0 && !hasLabels(byID.GetLabels(), e.labelsFor(cl))
		cl.CredentialExpires = byID.GetAnnotations()[CredentialExpiresAnnotation]
		secretNS, _, _ := unstructured.NestedString(byID.Object, "spec", "kubeConfigSecretNamespace")
		if secretNS == "" {
			secretNS = byID.GetNamespace()
		}
		_, err := e.m.Core.Secrets(secretNS).Get(ctx, secret, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			st.needCredential = true
		case err != nil:
			return apierror.Wrap(err, SecretOp("get", secretNS, secret))
		case st.checkedIn && !st.relabel:
			cl.Status = StatusAlreadyRegistered
		}
		return nil
	case byName != nil:
		id, _, _ := unstructured.NestedString(byName.Object, "spec", "clientID")
		return fmt.Errorf("the Fleet Cluster %s/%s exists with another client ID (%s), not this cluster's %s: remove it (%s) or rename the context; nothing was created", e.namespace, cl.Cluster, id, cl.ClientID, Hint(e.f, "remove", cl.Cluster, "-n", e.namespace))
	}
	st.needCredential, st.needCluster = true, true
	s, err := e.m.Core.Secrets(e.secretNamespace()).Get(ctx, cl.KubeconfigSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return apierror.Wrap(err, SecretOp("get", e.secretNamespace(), cl.KubeconfigSecret))
	case s.Labels[ManagedByLabel] != ManagedByValue:
		return fmt.Errorf("Secret %s/%s exists and was not written by kubectl regtoken: Fleet Cluster %s would use it; delete or rename it, or rename the context; nothing was created", e.secretNamespace(), cl.KubeconfigSecret, cl.Cluster)
	default:
		st.secretExists = true
	}
	// The downstream permissions: a refusal fails this cluster alone,
	// before anything is written to it.
	if err := CheckAccessOn(ctx, cl.clients, cl.dyn, CredentialNamespace, "enroll --mode manager on context "+cl.Context, AccessCreateServiceAccounts, AccessCreateSATokens); err != nil {
		return err
	}
	return CheckAccessOn(ctx, cl.clients, cl.dyn, "", "enroll --mode manager on context "+cl.Context, AccessCreateBindings)
}

// hasLabels tells whether m carries every given label.
func hasLabels(m map[string]string, given []Label) bool {
	for _, l := range given {
		if v, ok := m[l.Key]; !ok || v != l.Value {
			return false
		}
	}
	return true
}

// CheckedIn tells whether a Fleet Cluster's agent has reported: its
// status.agent.lastSeen is set.
func CheckedIn(c *unstructured.Unstructured) bool {
	return lastSeen(c) != ""
}

func lastSeen(c *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(c.Object, "status", "agent", "lastSeen")
	return s
}

// enrollManaged is one cluster's manager-mode registration.
func (e *Enroller) enrollManaged(ctx context.Context, cl *EnrolledCluster, pool *fanout.Pool, start fanout.Start) {
	st := cl.managed
	var wrote []string
	fail := func(err error) {
		pool.Fail()
		if len(wrote) > 0 {
			err = fmt.Errorf("%w; %s exist: a re-run goes on from there, or remove them with %s", err, strings.Join(wrote, ", "), Hint(e.f, "remove", cl.Context, "-n", e.namespace))
		}
		cl.fail(err)
		e.changed(cl, cl.Status, cl.Error)
	}
	// The writes take one of --parallel slots; the wait for the agent,
	// which is Fleet's work, does not.
	release, ok := e.takeSlot(ctx, cl, start, fail, "before the cluster was set up")
	if !ok {
		return
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	secretNS := e.secretNamespace()
	if st.needCredential {
		e.changed(cl, "minting a credential (ServiceAccount "+CredentialNamespace+"/"+CredentialAccount+")", "")
		cred, err := mintCredential(ctx, cl.core, cl.dyn, e.credTTL)
		if err != nil {
			wrote = append(wrote, fmt.Sprintf("perhaps ServiceAccount %s/%s and ClusterRoleBinding %s on context %s", CredentialNamespace, CredentialAccount, CredentialAccount, cl.Context))
			fail(err)
			return
		}
		wrote = append(wrote, fmt.Sprintf("ServiceAccount %s/%s and ClusterRoleBinding %s on context %s", CredentialNamespace, CredentialAccount, CredentialAccount, cl.Context))
		cl.CredentialExpires = cred.Expires.Format(time.RFC3339)
		if err := e.writeKubeconfigSecret(ctx, cl, cred); err != nil {
			fail(err)
			return
		}
		wrote = append(wrote, fmt.Sprintf("Secret %s/%s", secretNS, cl.KubeconfigSecret))
	}
	if st.needCluster {
		e.changed(cl, "creating Fleet Cluster "+cl.Cluster, "")
		if err := e.createCluster(ctx, cl); err != nil {
			fail(err)
			return
		}
		wrote = append(wrote, fmt.Sprintf("Fleet Cluster %s/%s", e.namespace, cl.Cluster))
	} else if st.relabel || st.needCredential {
		if err := e.patchCluster(ctx, cl); err != nil {
			fail(err)
			return
		}
	}
	release()
	released = true
	if !e.WaitRegistration {
		cl.Status = StatusInstalled
		e.changed(cl, cl.Status, "as "+cl.Cluster)
		return
	}
	if !st.checkedIn {
		e.changed(cl, "waiting for Fleet to deploy the agent", "")
		if err := e.awaitCheckIn(ctx, cl, ""); err != nil {
			fail(err)
			return
		}
	}
	cl.Status = StatusRegistered
	if st.checkedIn && !st.needCredential {
		// Only the labels changed: the agent was registered already.
		cl.Status = StatusAlreadyRegistered
	}
	e.changed(cl, cl.Status, "as "+cl.Cluster)
}

// writeKubeconfigSecret writes (or, after an interrupted run, replaces)
// the Secret Fleet reads the cluster's kubeconfig from.
func (e *Enroller) writeKubeconfigSecret(ctx context.Context, cl *EnrolledCluster, cred *MintedCredential) error {
	kc, err := credentialKubeconfig(cl.managed.kc, cred.Token)
	if err != nil {
		return err
	}
	ns := e.secretNamespace()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: cl.KubeconfigSecret, Namespace: ns,
			Labels:      map[string]string{ManagedByLabel: ManagedByValue},
			Annotations: map[string]string{ContextAnnotation: cl.Context, CredentialExpiresAnnotation: cl.CredentialExpires}},
		Data: map[string][]byte{KubeconfigKey: kc},
	}
	if u := e.Install.APIServerURL; u != "" {
		s.Data[APIServerURLKey] = []byte(u)
	}
	if ca := e.Install.flagCA; len(ca) > 0 {
		s.Data[APIServerCAKey] = ca
	}
	secrets := e.m.Core.Secrets(ns)
	_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: FieldManager})
		return apierror.Wrap(err, SecretOp("update", ns, cl.KubeconfigSecret))
	}
	return apierror.Wrap(err, SecretOp("create", ns, cl.KubeconfigSecret))
}

// createCluster creates the Fleet Cluster that names the Secret.
func (e *Enroller) createCluster(ctx context.Context, cl *EnrolledCluster) error {
	spec := map[string]any{"kubeConfigSecret": cl.KubeconfigSecret, "clientID": cl.ClientID}
	if e.KubeconfigSecretNamespace != "" {
		spec["kubeConfigSecretNamespace"] = e.KubeconfigSecretNamespace
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ClusterGVR.GroupVersion().String(), "kind": "Cluster",
		"metadata": map[string]any{"name": cl.Cluster, "namespace": e.namespace},
		"spec":     spec,
	}}
	labels := map[string]string{}
	for _, l := range e.labelsFor(cl) {
		labels[l.Key] = l.Value
	}
	obj.SetLabels(labels)
	obj.SetAnnotations(map[string]string{ModeAnnotation: ModeManager, ContextAnnotation: cl.Context, CredentialExpiresAnnotation: cl.CredentialExpires})
	_, err := e.m.Dyn.Resource(ClusterGVR).Namespace(e.namespace).Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
	return apierror.Wrap(err, ClusterOp("create", e.namespace, cl.Cluster))
}

// patchCluster brings a registered Cluster's labels to --label (keys not
// given are kept) and records a new credential's expiry.
func (e *Enroller) patchCluster(ctx context.Context, cl *EnrolledCluster) error {
	meta := map[string]any{}
	if labels := e.labelsFor(cl); len(labels) > 0 {
		m := map[string]any{}
		for _, l := range labels {
			m[l.Key] = l.Value
		}
		meta["labels"] = m
	}
	if cl.managed.needCredential {
		meta["annotations"] = map[string]any{CredentialExpiresAnnotation: cl.CredentialExpires}
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	_, err = e.m.Dyn.Resource(ClusterGVR).Namespace(e.namespace).Patch(ctx, cl.Cluster, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err == nil && cl.managed.relabel {
		e.note(fmt.Sprintf("context %s: the labels of Fleet Cluster %s were updated", cl.Context, cl.Cluster))
	}
	return apierror.Wrap(err, ClusterOp("patch", e.namespace, cl.Cluster))
}

// awaitCheckIn waits, by watch, until the Fleet Cluster's agent has
// reported (status.agent.lastSeen set, and other than before when before
// is not ""), telling the progress when the agent is deployed.
func (e *Enroller) awaitCheckIn(ctx context.Context, cl *EnrolledCluster, before string) error {
	err := AwaitCheckIn(ctx, e.m.Dyn.Resource(ClusterGVR).Namespace(e.namespace), cl.Cluster, before, func() {
		e.changed(cl, "agent deployed; waiting for its first check-in", "")
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the agent of Fleet Cluster %s/%s did not check in within --timeout %s: see the Cluster's conditions (%s) and the Fleet controller's log", e.namespace, cl.Cluster, e.Timeout,
			cli.HintCommand(e.f, "kubectl", "get", "clusters.fleet.cattle.io", cl.Cluster, "-n", e.namespace, "-o", "yaml"))
	case ctx.Err() != nil:
		return e.stopped(ctx, "while waiting for the agent's check-in")
	}
	return err
}

// AwaitCheckIn waits by watch until Cluster name's status.agent.lastSeen
// is set and differs from before; deployed is told once Fleet has
// deployed the agent (status.agentDeployedGeneration).
func AwaitCheckIn(ctx context.Context, clusters interface {
	List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}, name, before string, deployed func()) error {
	told := false
	lw := wait.Named(name,
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return clusters.List(ctx, opts)
		},
		clusters.Watch)
	_, err := wait.Until(ctx, lw, "", func(ev watch.Event) (bool, error) {
		c, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || ev.Type == watch.Deleted || c.GetName() != name {
			if ok && ev.Type == watch.Deleted && c.GetName() == name {
				return false, fmt.Errorf("the Fleet Cluster %s/%s was deleted while waiting for its agent", c.GetNamespace(), name)
			}
			return false, nil
		}
		if seen := lastSeen(c); seen != "" && seen != before {
			return true, nil
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(c.Object, "status", "agentDeployedGeneration"); found && !told && deployed != nil {
			told = true
			deployed()
		}
		return false, nil
	})
	return err
}

// ClusterOp names a Fleet Cluster request for apierror.
func ClusterOp(verb, namespace, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: ClusterGVR.GroupResource(), Kind: "Cluster", Namespace: namespace, Name: name, NotServed: "Fleet is not installed in this cluster (no clusters.fleet.cattle.io)"}
}
