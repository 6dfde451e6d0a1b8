package rancherimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// Rancher is Rancher's local cluster, as the user's credential sees it.
type Rancher struct {
	Dyn       dynamic.Interface
	Core      corev1client.CoreV1Interface
	Workspace string // default DefaultWorkspace
}

func (r *Rancher) workspace() string {
	if r.Workspace == "" {
		return DefaultWorkspace
	}
	return r.Workspace
}

func (r *Rancher) provisioning() dynamic.ResourceInterface {
	return r.Dyn.Resource(ProvisioningClustersGVR).Namespace(r.workspace())
}

// ErrNotYours is a provisioning cluster of that name that exists but the
// caller may not read (Rancher answers a non-owner 403, not 404).
var ErrNotYours = errors.New("not yours")

func (r *Rancher) clusterOp(verb, name string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: ProvisioningClustersGVR.GroupResource(), Kind: "Rancher cluster", Namespace: r.workspace(), Name: name,
		NotServed: "Rancher is not installed in this cluster (the current context must be Rancher's local cluster)"}
}

// EnsureCluster creates the provisioning cluster name (an empty spec: a
// generic import) with labels, or reuses the one of that name: an
// existing one must be an import, and gets the labels it lacks. A name
// the caller may not read is told apart from an absent one by the create
// that follows: 409 means it exists and is someone else's.
func (r *Rancher) EnsureCluster(ctx context.Context, name string, labels map[string]string) (created bool, err error) {
	got, err := r.provisioning().Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return false, r.reuse(ctx, got, labels)
	case apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
	case apierrors.IsForbidden(err):
		// Create decides: 409 = exists and not ours, 403 = no right to
		// create clusters at all.
	default:
		return false, apierror.Wrap(err, r.clusterOp("get", name))
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ProvisioningClustersGVR.GroupVersion().String(), "kind": "Cluster",
		"metadata": map[string]any{"name": name, "namespace": r.workspace()},
		"spec":     map[string]any{},
	}}
	if len(labels) > 0 {
		obj.SetLabels(labels)
	}
	_, cerr := r.provisioning().Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case cerr == nil:
		return true, nil
	case apierrors.IsAlreadyExists(cerr) && apierrors.IsForbidden(err):
		return false, apierror.Explained(ErrNotYours, "Rancher cluster %q in namespace %q exists and is not yours (Rancher answers 403 to anyone but its owners): pick another --name, or ask its owner or an admin", name, r.workspace())
	case apierrors.IsAlreadyExists(cerr):
		// Created by someone else between our get and create: reuse it.
		if got, err = r.provisioning().Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, apierror.Wrap(err, r.clusterOp("get", name))
		}
		return false, r.reuse(ctx, got, labels)
	case apierrors.IsForbidden(cerr):
		return false, apierror.Explained(cerr, "you may not create Rancher clusters in namespace %q (403): importing needs Rancher's global role clusters-create; check with kubectl auth can-i create %s -n %s",
			r.workspace(), ProvisioningClustersGVR.GroupResource(), r.workspace())
	}
	return false, apierror.Wrap(cerr, r.clusterOp("create", name))
}

// reuse checks that an existing provisioning cluster is an import and
// adds the labels it lacks (a merge patch of those labels only).
func (r *Rancher) reuse(ctx context.Context, got *unstructured.Unstructured, labels map[string]string) error {
	spec, _, _ := unstructured.NestedMap(got.Object, "spec")
	for _, k := range []string{"rkeConfig", "cloudCredentialSecretName"} {
		if _, ok := spec[k]; ok {
			return fmt.Errorf("the Rancher cluster %q in namespace %q is provisioned by Rancher (spec.%s), not imported: pick another --name", got.GetName(), got.GetNamespace(), k)
		}
	}
	missing := map[string]string{}
	have := got.GetLabels()
	for k, v := range labels {
		if have[k] != v {
			missing[k] = v
		}
	}
	if len(missing) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": maps.Clone(missing)}})
	if err != nil {
		return err
	}
	if _, err := r.provisioning().Patch(ctx, got.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return apierror.Wrap(err, r.clusterOp("patch", got.GetName()))
	}
	return nil
}

// WaitID waits, by watch, for the provisioning cluster's management ID
// (status.clusterName, c-m-…).
func (r *Rancher) WaitID(ctx context.Context, name string) (string, error) {
	var id string
	_, err := wait.Until(ctx, wait.ByName(r.provisioning(), name), "", func(ev watch.Event) (bool, error) {
		if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetName() != name {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("the Rancher cluster %q in namespace %q was deleted while import waited for it", name, r.workspace())
		}
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || u.GetName() != name {
			return false, nil
		}
		id, _, _ = unstructured.NestedString(u.Object, "status", "clusterName")
		return id != "", nil
	})
	if err != nil {
		return "", apierror.Wrap(err, r.clusterOp("watch", name))
	}
	return id, nil
}

// Condition is the state of one management cluster condition.
type Condition struct {
	Status, Reason, Message string
}

// ClusterState is what the management cluster says of the import.
type ClusterState struct {
	AgentDeployed, Ready Condition
}

// Active is Ready=True.
func (s ClusterState) Active() bool { return s.Ready.Status == "True" }

func stateOf(u *unstructured.Unstructured) ClusterState {
	var s ClusterState
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		cond := Condition{}
		cond.Status, _ = m["status"].(string)
		cond.Reason, _ = m["reason"].(string)
		cond.Message, _ = m["message"].(string)
		switch m["type"] {
		case "AgentDeployed":
			s.AgentDeployed = cond
		case "Ready":
			s.Ready = cond
		}
	}
	return s
}

func mgmtOp(verb, id string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: ManagementClustersGVR.GroupResource(), Kind: "Rancher management cluster", Name: id}
}

// State reads the management cluster's conditions.
func (r *Rancher) State(ctx context.Context, id string) (ClusterState, error) {
	u, err := r.Dyn.Resource(ManagementClustersGVR).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return ClusterState{}, apierror.Wrap(err, mgmtOp("get", id))
	}
	return stateOf(u), nil
}

// WaitReady waits, by watch, until the management cluster is Ready,
// calling onChange with every new state (AgentDeployed first).
func (r *Rancher) WaitReady(ctx context.Context, id string, onChange func(ClusterState)) error {
	var last ClusterState
	_, err := wait.Until(ctx, wait.ByName(r.Dyn.Resource(ManagementClustersGVR), id), "", func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || u.GetName() != id {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("the Rancher management cluster %s was deleted while import waited for it", id)
		}
		s := stateOf(u)
		if s != last && onChange != nil {
			onChange(s)
		}
		last = s
		return s.Active(), nil
	})
	return apierror.Wrap(err, mgmtOp("watch", id))
}
