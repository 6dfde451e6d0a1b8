// Package wait waits for objects by watching them, never by polling. It
// survives what long waits meet: watches the server closes, 410 Gone after
// a compaction or restart, and connection loss, by resuming from the last
// resourceVersion seen or, when that is gone, by listing again.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package wait

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Listed is the event type Until sends after a (re)list, with the list as
// Object: items absent from it were deleted while no watch was open.
const Listed watch.EventType = "LISTED"

// Condition decides from one event whether the wait is over.
type Condition func(watch.Event) (done bool, err error)

// Until watches lw from resourceVersion rv (or lists first when rv is
// empty) and returns the event that satisfied cond. Listed items are
// delivered as Added events followed by one Listed event. It returns
// ctx.Err() (wrapped) when ctx ends first: use a context deadline for
// --timeout.
func Until(ctx context.Context, lw cache.ListerWatcherWithContext, rv string, cond Condition) (*watch.Event, error) {
	for {
		if rv == "" || rv == "0" {
			list, err := lw.ListWithContext(ctx, metav1.ListOptions{})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				return nil, err
			}
			for _, item := range items {
				ev := watch.Event{Type: watch.Added, Object: item}
				if done, err := cond(ev); err != nil || done {
					return &ev, err
				}
			}
			ev := watch.Event{Type: Listed, Object: list}
			if done, err := cond(ev); err != nil || done {
				return &ev, err
			}
			listMeta, err := meta.ListAccessor(list)
			if err != nil {
				return nil, err
			}
			rv = listMeta.GetResourceVersion()
		}
		ev, nextRV, err := watchFrom(ctx, lw, rv, cond)
		if ev != nil || err != nil {
			return ev, err
		}
		rv = nextRV
	}
}

// watchFrom runs one RetryWatcher. It returns the satisfying event, an
// error, or neither with the resourceVersion to go on from ("" = relist).
func watchFrom(ctx context.Context, lw cache.ListerWatcherWithContext, rv string, cond Condition) (*watch.Event, string, error) {
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, lw)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		rw.Stop()
		<-rw.Done()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case ev, ok := <-rw.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return nil, "", ctx.Err()
				}
				return nil, rv, nil
			}
			switch ev.Type {
			case watch.Error:
				statusErr := apierrors.FromObject(ev.Object)
				var st apierrors.APIStatus
				if errors.As(statusErr, &st) && (st.Status().Code == http.StatusGone || st.Status().Reason == metav1.StatusReasonExpired || st.Status().Reason == metav1.StatusReasonGone) {
					return nil, "", nil // resume by listing again
				}
				return nil, "", statusErr
			case watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
				continue
			}
			if m, err := meta.Accessor(ev.Object); err == nil {
				rv = m.GetResourceVersion()
			}
			done, err := cond(ev)
			if err != nil || done {
				return &ev, "", err
			}
		}
	}
}

// ByName returns a ListerWatcher for the single object name of a dynamic
// resource, filtered on the server by metadata.name.
func ByName(ri dynamic.ResourceInterface, name string) cache.ListerWatcherWithContext {
	return Named(name,
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) { return ri.List(ctx, opts) },
		ri.Watch)
}

// Named is ByName for any client's List and Watch (a typed clientset's,
// whose List returns its own list type).
func Named(name string, list func(context.Context, metav1.ListOptions) (runtime.Object, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcherWithContext {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector
			return list(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			return watchFn(ctx, opts)
		},
	}
}

// IsTimeout reports whether err ended a wait because its deadline passed.
func IsTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// Object returns the event's object as unstructured, or an error naming
// what came instead.
func Object(ev watch.Event) (*unstructured.Unstructured, error) {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected %T in a watch event", ev.Object)
	}
	return u, nil
}
