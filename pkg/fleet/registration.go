package fleet

import (
	"context"
	"fmt"
	"sort"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// A fleet-agent (v0.16+) registers by creating a ClusterRegistration in
// the token's namespace, labelled with the token's name; the controller
// grants it (docs/fleet-registration.md §7.1–§7.5).
const (
	RegistrationKind  = "ClusterRegistration"
	RegistrationLabel = "fleet.cattle.io/registration-token"
)

var RegistrationGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusterregistrations"}

func RegistrationOp(verb, namespace string) apierror.Op {
	return apierror.Op{Verb: verb, Resource: RegistrationGVR.GroupResource(), Kind: RegistrationKind, Namespace: namespace, NotServed: NotServed}
}

// Registration is the part of a ClusterRegistration the plugin reads.
type Registration struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		ClientID string `json:"clientID,omitempty"`
	} `json:"spec"`
	Status struct {
		ClusterName string `json:"clusterName,omitempty"`
		Granted     bool   `json:"granted,omitempty"`
	} `json:"status"`
}

func toRegistration(u *unstructured.Unstructured) (*Registration, error) {
	r := &Registration{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, r); err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q cannot be read: %w", RegistrationKind, u.GetName(), u.GetNamespace(), err)
	}
	return r, nil
}

// done is a registration the controller granted, with its Fleet Cluster.
func (r *Registration) done() bool { return r.Status.Granted && r.Status.ClusterName != "" }

// newer orders registrations of one client ID: the agent's latest request
// is the one that counts.
func (r *Registration) newer(than *Registration) bool {
	if !r.CreationTimestamp.Equal(&than.CreationTimestamp) {
		return than.CreationTimestamp.Before(&r.CreationTimestamp)
	}
	return r.Name > than.Name
}

// TokenSelector selects the registrations made with token name.
func TokenSelector(name string) string {
	return labels.SelectorFromSet(labels.Set{RegistrationLabel: name}).String()
}

// ListRegistrations lists the registrations made with token name in ns,
// oldest first.
func ListRegistrations(ctx context.Context, dyn dynamic.Interface, ns, name string) ([]*Registration, error) {
	list, err := dyn.Resource(RegistrationGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: TokenSelector(name)})
	if err != nil {
		return nil, apierror.Wrap(err, RegistrationOp("list", ns))
	}
	out := make([]*Registration, 0, len(list.Items))
	for i := range list.Items {
		r, err := toRegistration(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[j].newer(out[i]) })
	return out, nil
}

// registrationWatch follows, by one watch, the registrations made with
// one token, for every downstream cluster at once: each waiter asks for
// the newest registration of its client ID.
type registrationWatch struct {
	mu      sync.Mutex
	byID    map[string]map[string]*Registration // clientID -> name -> registration
	ignored map[string]bool                     // names listed before the installs, when they do not count
	listed  bool
	changed chan struct{} // closed and replaced on every change
	err     error
}

// startRegistrationWatch watches the registrations of token name in ns
// until ctx ends. With ignoreExisting, registrations that exist before
// the watch starts do not count (--reregister: an old grant would end
// the wait at once). It returns once the first list is in.
func startRegistrationWatch(ctx context.Context, dyn dynamic.Interface, ns, name string, ignoreExisting bool) (*registrationWatch, error) {
	w := &registrationWatch{byID: map[string]map[string]*Registration{}, ignored: map[string]bool{}, changed: make(chan struct{})}
	ri := dyn.Resource(RegistrationGVR).Namespace(ns)
	selector := TokenSelector(name)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			return ri.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			return ri.Watch(ctx, opts)
		},
	}
	first := make(chan struct{})
	go func() {
		_, err := wait.Until(ctx, lw, "", func(ev watch.Event) (bool, error) {
			w.event(ev, ignoreExisting, first)
			return false, nil
		})
		w.mu.Lock()
		if ctx.Err() == nil {
			w.err = apierror.Wrap(err, RegistrationOp("watch", ns))
		} else {
			w.err = ctx.Err()
		}
		w.broadcast()
		w.mu.Unlock()
		select {
		case <-first:
		default:
			close(first)
		}
	}()
	<-first
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.listed && w.err != nil {
		return nil, w.err
	}
	return w, nil
}

// fail ends every wait with err (the token is gone: no registration
// can be granted any more).
func (w *registrationWatch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	w.broadcast()
}

func (w *registrationWatch) event(ev watch.Event, ignoreExisting bool, first chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Type == wait.Listed {
		// A relist replaces what we knew: items absent from it are gone.
		l, ok := ev.Object.(*unstructured.UnstructuredList)
		if ok {
			w.byID = map[string]map[string]*Registration{}
			for i := range l.Items {
				w.add(&l.Items[i], ignoreExisting && !w.listed)
			}
		}
		if !w.listed {
			w.listed = true
			close(first)
		}
		w.broadcast()
		return
	}
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return
	}
	if ev.Type == watch.Added && !w.listed {
		// The first list's items come again with the Listed event.
		return
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		w.add(u, false)
	case watch.Deleted:
		if r, err := toRegistration(u); err == nil {
			delete(w.byID[r.Spec.ClientID], r.Name)
		}
	}
	w.broadcast()
}

func (w *registrationWatch) add(u *unstructured.Unstructured, ignore bool) {
	r, err := toRegistration(u)
	if err != nil {
		return
	}
	if ignore {
		w.ignored[r.Name] = true
	}
	if w.ignored[r.Name] {
		return
	}
	m := w.byID[r.Spec.ClientID]
	if m == nil {
		m = map[string]*Registration{}
		w.byID[r.Spec.ClientID] = m
	}
	m[r.Name] = r
}

// broadcast wakes every waiter; w.mu is held.
func (w *registrationWatch) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// newestLocked is the latest registration of clientID, nil when there
// is none; w.mu is held.
func (w *registrationWatch) newestLocked(clientID string) *Registration {
	var best *Registration
	for _, r := range w.byID[clientID] {
		if best == nil || r.newer(best) {
			best = r
		}
	}
	return best
}

// waitGranted blocks until the newest registration of clientID is granted
// with a Fleet Cluster, ctx ends, or the watch fails. seen is called with
// each new newest registration (for progress).
func (w *registrationWatch) waitGranted(ctx context.Context, clientID string, seen func(*Registration)) (*Registration, error) {
	var last string
	for {
		w.mu.Lock()
		r, ch, err := w.newestLocked(clientID), w.changed, w.err
		w.mu.Unlock()
		if r != nil {
			if key := r.Name + "/" + r.ResourceVersion; key != last && seen != nil {
				last = key
				seen(r)
			}
			if r.done() {
				return r, nil
			}
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
