//go:build e2e

package realfleet

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

var registrationGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrations"}

// until watches objects (after listing them) until cond holds for one
// event's object, or fails the test after limit.
func until(t *testing.T, what string, limit time.Duration, lw cache.ListerWatcher, obj runtime.Object, cond func(runtime.Object) bool) runtime.Object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ev, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(ev watch.Event) (bool, error) {
		return ev.Type != watch.Deleted && cond(ev.Object), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return ev.Object
}

// untilGone watches until the named object is deleted (or is not there).
func untilGone(t *testing.T, what string, limit time.Duration, lw cache.ListerWatcher, obj runtime.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, err := watchtools.UntilWithSync(ctx, lw, obj, func(store cache.Store) (bool, error) { return len(store.List()) == 0, nil },
		func(ev watch.Event) (bool, error) { return ev.Type == watch.Deleted, nil })
	if err != nil {
		t.Fatalf("waiting until %s is gone: %v", what, err)
	}
}

func byName(name string) func(*metav1.ListOptions) {
	return func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
}

// secretLW watches one Secret.
func secretLW(c kubernetes.Interface, ns, name string) cache.ListerWatcher {
	return cache.NewFilteredListWatchFromClient(c.CoreV1().RESTClient(), "secrets", ns, byName(name))
}

// deploymentLW watches one Deployment.
func deploymentLW(c kubernetes.Interface, ns, name string) cache.ListerWatcher {
	return cache.NewFilteredListWatchFromClient(c.AppsV1().RESTClient(), "deployments", ns, byName(name))
}

// dynamicLW watches a Fleet resource upstream, with optional list options.
func dynamicLW(gvr schema.GroupVersionResource, ns string, opts func(*metav1.ListOptions)) cache.ListerWatcher {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			opts(&o)
			return dyn.Resource(gvr).Namespace(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			opts(&o)
			return dyn.Resource(gvr).Namespace(ns).Watch(ctx, o)
		},
	}
}

// agentCredential waits until plane i's agent has stored its credential
// (Secret fleet-agent) for cluster.
func agentCredential(t *testing.T, i int, cluster string, limit time.Duration) {
	t.Helper()
	until(t, "the agent's credential on "+down.Clusters[i].Name, limit, secretLW(downClient(i), "cattle-fleet-system", "fleet-agent"), &corev1.Secret{},
		func(o runtime.Object) bool { return string(o.(*corev1.Secret).Data["clusterName"]) == cluster })
}

// grantedRegistration waits for a granted ClusterRegistration made with
// the token and returns it.
func grantedRegistration(t *testing.T, ns, token string, limit time.Duration) *unstructured.Unstructured {
	t.Helper()
	lw := dynamicLW(registrationGVR, ns, func(o *metav1.ListOptions) { o.LabelSelector = "fleet.cattle.io/registration-token=" + token })
	return until(t, "a granted registration with token "+token, limit, lw, &unstructured.Unstructured{}, func(o runtime.Object) bool {
		g, _, _ := unstructured.NestedBool(o.(*unstructured.Unstructured).Object, "status", "granted")
		return g
	}).(*unstructured.Unstructured)
}

// takenOver waits until Fleet's agent bundle owns plane i's fleet-agent
// Deployment (helm release fleet-agent-<cluster>).
func takenOver(t *testing.T, i int, cluster string, limit time.Duration) {
	t.Helper()
	until(t, "Fleet's takeover of the agent on "+down.Clusters[i].Name, limit, deploymentLW(downClient(i), "cattle-fleet-system", "fleet-agent"), &appsv1.Deployment{},
		func(o runtime.Object) bool {
			return o.(*appsv1.Deployment).Annotations["meta.helm.sh/release-name"] == "fleet-agent-"+cluster
		})
}
