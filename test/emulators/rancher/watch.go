package rancher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// watch translates a watch of the backing Secrets into token events, as
// Rancher does: ADDED/MODIFIED/DELETED carry tokens (never a value),
// BOOKMARK only the resourceVersion and annotations, errors pass through.
func (e *Emulator) watch(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, name string) {
	opts, err := listOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if name != "" {
		opts.FieldSelector = fields.AndSelectors(fields.OneTermEqualSelector("metadata.name", name), mustFields(opts.FieldSelector)).String()
	}
	full, _, err := e.who(ctx, c, "watch")
	if err != nil {
		writeError(w, err)
		return
	}
	local, err := mergeListOptions(e.Version(), full, c.Name, opts)
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("failed to process list options: %w", err)))
		return
	}
	if !e.Version().watchList() {
		local.SendInitialEvents, local.ResourceVersionMatch = nil, ""
	}
	local.Watch = true
	src, err := e.core.Secrets(TokenNamespace).Watch(ctx, local)
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("tokens: watch: error starting watch: %w", err)))
		return
	}
	defer src.Stop()
	table := wantsTable(r)
	if table {
		w.Header().Set("Content-Type", tableContentType)
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	enc := json.NewEncoder(w)
	first := true
	tokenID := c.requestTokenID()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-src.ResultChan():
			if !ok {
				return
			}
			var obj any
			switch ev.Type {
			case watch.Bookmark:
				s, ok := ev.Object.(*corev1.Secret)
				if !ok {
					continue
				}
				t := &Token{ObjectMeta: metav1.ObjectMeta{ResourceVersion: s.ResourceVersion, Annotations: s.Annotations}}
				t.setTypeMeta()
				obj = t
			case watch.Added, watch.Modified, watch.Deleted:
				s, ok := ev.Object.(*corev1.Secret)
				if !ok {
					continue
				}
				t, err := fromSecret(s, e.now())
				if err != nil {
					continue
				}
				e.withoutSecrets(t, tokenID)
				obj = t
				if table {
					tb, err := tokenTable([]Token{*t}, metav1.ListMeta{ResourceVersion: t.ResourceVersion}, r.URL.Query().Get("includeObject"), e.now(), first)
					if err != nil {
						continue
					}
					first = false
					obj = tb
				}
			default:
				obj = ev.Object
			}
			if err := enc.Encode(map[string]any{"type": string(ev.Type), "object": obj}); err != nil {
				return
			}
			flush()
		}
	}
}

func mustFields(s string) fields.Selector {
	sel, err := fields.ParseSelector(s)
	if err != nil {
		return fields.Everything()
	}
	return sel
}
