package rancher

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// APIServiceName is Rancher's APIService for the ext group.
const APIServiceName = "v1.ext.cattle.io"

var apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// registerTimeout bounds the wait for kube-apiserver to take the
// APIService up.
const registerTimeout = 60 * time.Second

// Register points APIService v1.ext.cattle.io (group priority 100, as
// Rancher's) at an ExternalName Service for localhost on the emulator's
// port and waits until kube-apiserver reports it Available and has read
// its discovery, so kubectl finds tokens.ext.cattle.io at once.
func (e *Emulator) Register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	e.resetDiscovered()
	ns := e.opts.ServiceNamespace
	if _, err := e.core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("rancher emulator: namespace %s: %w", ns, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: e.opts.ServiceName, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(e.Port), Protocol: corev1.ProtocolTCP}},
		},
	}
	if old, err := e.core.Services(ns).Get(ctx, svc.Name, metav1.GetOptions{}); err == nil {
		old.Spec.Ports = svc.Spec.Ports
		old.Spec.ExternalName, old.Spec.Type = "localhost", corev1.ServiceTypeExternalName
		if _, err := e.core.Services(ns).Update(ctx, old, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("rancher emulator: service: %w", err)
		}
	} else if _, err := e.core.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("rancher emulator: service: %w", err)
	}

	// The serving certificate names localhost and 127.0.0.1 only, not the
	// Service's DNS name the aggregator would verify against a caBundle,
	// hence insecureSkipTLSVerify; the caller's identity is still
	// protected by the front-proxy client certificate we verify.
	apisvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": APIServiceName},
		"spec": map[string]any{
			"group":                 Group,
			"version":               APIVersion,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
			"insecureSkipTLSVerify": true,
			"service": map[string]any{
				"namespace": ns,
				"name":      e.opts.ServiceName,
				"port":      int64(e.Port),
			},
		},
	}}
	api := e.dyn.Resource(apiServicesGVR)
	if old, err := api.Get(ctx, APIServiceName, metav1.GetOptions{}); err == nil {
		apisvc.SetResourceVersion(old.GetResourceVersion())
		if _, err := api.Update(ctx, apisvc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("rancher emulator: APIService: %w", err)
		}
	} else if _, err := api.Create(ctx, apisvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("rancher emulator: APIService: %w", err)
	}

	_, err := wait.Until(ctx, wait.ByName(api, APIServiceName), "", func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		return available(u), nil
	})
	if err != nil {
		return fmt.Errorf("rancher emulator: APIService %s did not become Available: %w", APIServiceName, err)
	}
	select {
	case <-e.discoveredChan():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rancher emulator: kube-apiserver never fetched the ext.cattle.io discovery: %w", ctx.Err())
	}
}

func available(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Available" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// Unregister deletes the APIService and its Service, after which
// kube-apiserver no longer serves ext.cattle.io.
func (e *Emulator) Unregister(ctx context.Context) error {
	err := e.dyn.Resource(apiServicesGVR).Delete(ctx, APIServiceName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err = e.core.Services(e.opts.ServiceNamespace).Delete(ctx, e.opts.ServiceName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
