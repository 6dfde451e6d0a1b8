package rancherimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// Manifest is what /v3/import rendered: it holds the token.
type Manifest struct {
	raw     []byte
	Objects []*unstructured.Unstructured
}

// Bytes is the manifest as Rancher sent it, for a user who asked for it.
func (m *Manifest) Bytes() []byte { return m.raw }

// ParseManifest decodes the YAML documents of a manifest. Its errors name
// no content (the Secret in it holds the token).
func ParseManifest(raw []byte) (*Manifest, error) {
	m := &Manifest{raw: raw}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for i := 1; ; i++ {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the import manifest is not valid YAML (document %d): is the address Rancher's?", i)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("the import manifest's document %d is not a Kubernetes object (no apiVersion, kind or name): is the address Rancher's?", i)
		}
		m.Objects = append(m.Objects, u)
	}
	if len(m.Objects) == 0 {
		return nil, errors.New("the import manifest is empty: is the address Rancher's?")
	}
	return m, nil
}

// builtinMapper maps the kinds Rancher's manifests hold, so applying
// needs no discovery round trip.
var builtinMapper = func() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	add := func(group, version, kind, resource string, scope meta.RESTScope) {
		gv := schema.GroupVersion{Group: group, Version: version}
		m.AddSpecific(gv.WithKind(kind), gv.WithResource(resource), gv.WithResource(resource[:len(resource)-1]), scope)
	}
	add("", "v1", "Namespace", "namespaces", meta.RESTScopeRoot)
	add("", "v1", "ServiceAccount", "serviceaccounts", meta.RESTScopeNamespace)
	add("", "v1", "Secret", "secrets", meta.RESTScopeNamespace)
	add("", "v1", "Service", "services", meta.RESTScopeNamespace)
	add("", "v1", "ConfigMap", "configmaps", meta.RESTScopeNamespace)
	add("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", meta.RESTScopeRoot)
	add("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", meta.RESTScopeRoot)
	add("rbac.authorization.k8s.io", "v1", "Role", "roles", meta.RESTScopeNamespace)
	add("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", meta.RESTScopeNamespace)
	add("apps", "v1", "Deployment", "deployments", meta.RESTScopeNamespace)
	add("apps", "v1", "DaemonSet", "daemonsets", meta.RESTScopeNamespace)
	add("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", meta.RESTScopeNamespace)
	add("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", meta.RESTScopeRoot)
	return m
}()

// Downstream is the cluster being imported.
type Downstream struct {
	Dyn dynamic.Interface
	// Mapper maps kinds builtinMapper does not know (discovery); nil
	// refuses them.
	Mapper meta.RESTMapper
}

func (d Downstream) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := builtinMapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil || d.Mapper == nil {
		return m, err
	}
	return d.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// Apply applies each object server-side, as kubectl apply --server-side
// does, with our field manager. Force takes over fields another manager
// set: the manifest is Rancher's word, and a re-run must repair an agent
// someone changed.
//
// The objects go in three stages, each stage's objects at once and in the
// manifest's order within it: what others live in or refer to by name
// (namespaces, cluster roles, priority classes), then the rest, then the
// workloads, whose pods need everything before them. Three round trips
// instead of one per object; the first failure in manifest order is the
// one reported.
func (d Downstream) Apply(ctx context.Context, m *Manifest, progress func(done, total int)) error {
	var mu sync.Mutex
	done := 0
	for _, stage := range stages(m.Objects) {
		errs := make([]error, len(stage))
		var g errgroup.Group
		for i, obj := range stage {
			g.Go(func() error {
				if errs[i] = d.applyOne(ctx, obj); errs[i] == nil && progress != nil {
					mu.Lock()
					done++
					progress(done, len(m.Objects))
					mu.Unlock()
				}
				return nil
			})
		}
		_ = g.Wait() // errors are kept per object, to report the first in order
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// applyOne applies one object server-side.
func (d Downstream) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := d.mapping(gvk)
	if err != nil {
		return fmt.Errorf("the import manifest holds a %s the cluster does not serve: %v", gvk.Kind, apierror.OneLine(err.Error()))
	}
	var ri dynamic.ResourceInterface = d.Dyn.Resource(mapping.Resource)
	ns := obj.GetNamespace()
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = "default"
		}
		ri = d.Dyn.Resource(mapping.Resource).Namespace(ns)
	}
	if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return apierror.Wrap(err, apierror.Op{Verb: "apply", Resource: mapping.Resource.GroupResource(), Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()})
	}
	return nil
}

// stages splits objects into Apply's three stages, each in manifest order.
func stages(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	var first, rest, workloads []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "ClusterRole", "PriorityClass", "CustomResourceDefinition":
			first = append(first, o)
		case "Deployment", "DaemonSet", "StatefulSet", "Job":
			workloads = append(workloads, o)
		default:
			rest = append(rest, o)
		}
	}
	return slices.DeleteFunc([][]*unstructured.Unstructured{first, rest, workloads}, func(s []*unstructured.Unstructured) bool { return len(s) == 0 })
}
