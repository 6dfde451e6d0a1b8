package rancher

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/uuid"
)

func notFound(name string) error { return apierrors.NewNotFound(GroupResource, name) }

// secret reads the backing Secret; anything that is not a token is 404.
func (e *Emulator) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	s, err := e.core.Secrets(TokenNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to retrieve token %s: %w", name, err))
	}
	if s.Labels[LabelSecretKind] != SecretKindValue {
		return nil, notFound(name)
	}
	return s, nil
}

// getToken reads a token without permission checks.
func (e *Emulator) getToken(ctx context.Context, name string) (*Token, error) {
	s, err := e.secret(ctx, name)
	if err != nil {
		return nil, err
	}
	return fromSecret(s, e.now())
}

func (e *Emulator) serveGet(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, name string) {
	full, _, err := e.who(ctx, c, "get")
	if err != nil {
		writeError(w, err)
		return
	}
	s, err := e.secret(ctx, name)
	if err != nil {
		writeError(w, err)
		return
	}
	if !full && s.Labels[LabelUserID] != c.Name {
		writeError(w, notFound(name))
		return
	}
	t, err := fromSecret(s, e.now())
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("failed to extract token %s: %w", name, err)))
		return
	}
	e.withoutSecrets(t, c.requestTokenID())
	e.respond(w, r, http.StatusOK, t)
}

func listOptions(r *http.Request) (metav1.ListOptions, error) {
	q := r.URL.Query()
	opts := metav1.ListOptions{
		LabelSelector:        q.Get("labelSelector"),
		FieldSelector:        q.Get("fieldSelector"),
		Continue:             q.Get("continue"),
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		AllowWatchBookmarks:  q.Get("allowWatchBookmarks") == "true",
	}
	for key, dst := range map[string]*int64{"limit": &opts.Limit, "timeoutSeconds": nil} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid %s %q", key, v))
		}
		if dst != nil {
			*dst = n
		} else {
			opts.TimeoutSeconds = &n
		}
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := v == "true"
		opts.SendInitialEvents = &b
	}
	return opts, nil
}

// listSecrets is the list behind list and deletecollection, with the
// owner restriction merged in for non-admins.
func (e *Emulator) listSecrets(ctx context.Context, c *caller, verb string, opts metav1.ListOptions) (*corev1.SecretList, error) {
	full, _, err := e.who(ctx, c, verb)
	if err != nil {
		return nil, err
	}
	local, err := mergeListOptions(e.Version(), full, c.Name, opts)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to process list options: %w", err))
	}
	secrets, err := e.core.Secrets(TokenNamespace).List(ctx, local)
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return nil, apierrors.NewResourceExpired(err.Error())
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to list tokens: %w", err))
	}
	return secrets, nil
}

func (e *Emulator) serveList(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller) {
	opts, err := listOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	secrets, err := e.listSecrets(ctx, c, "list", opts)
	if err != nil {
		writeError(w, err)
		return
	}
	list := &TokenList{ListMeta: metav1.ListMeta{
		ResourceVersion: secrets.ResourceVersion, Continue: secrets.Continue, RemainingItemCount: secrets.RemainingItemCount,
	}, Items: []Token{}}
	list.APIVersion, list.Kind = GroupVersion.String(), ListKind
	now := e.now()
	for i := range secrets.Items {
		t, err := fromSecret(&secrets.Items[i], now)
		if err != nil {
			continue // broken or foreign Secrets are skipped, as Rancher does
		}
		e.withoutSecrets(t, c.requestTokenID())
		list.Items = append(list.Items, *t)
	}
	e.respond(w, r, http.StatusOK, list)
}

// settingValue reads a setting's effective value (value, else default),
// reporting whether the object exists.
func (e *Emulator) settingValue(ctx context.Context, name string) (string, bool, error) {
	u, err := e.dyn.Resource(SettingsGVR).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	v, _, _ := unstructured.NestedString(u.Object, "value")
	if v == "" {
		v, _, _ = unstructured.NestedString(u.Object, "default")
	}
	return v, true, nil
}

// ttlSettings reads the settings TTL ingest depends on from the real
// settings.management.cattle.io objects.
func (e *Emulator) ttlSettings(ctx context.Context) (ttlSettings, error) {
	var s ttlSettings
	v, ok, err := e.settingValue(ctx, "auth-token-max-ttl-minutes")
	if err != nil {
		return s, err
	}
	if !ok {
		v = "129600"
	}
	if s.maxMinutes, err = strconv.ParseInt(v, 10, 64); err != nil {
		return s, fmt.Errorf("failed to parse setting 'auth-token-max-ttl-minutes': %w", err)
	}
	if !e.Version().ingestWithDefault() {
		return s, nil
	}
	v, ok, err = e.settingValue(ctx, "auth-token-default-ttl-minutes")
	if err != nil || !ok {
		return s, err
	}
	s.hasDefault = true
	if s.defaultMinutes, err = strconv.ParseInt(v, 10, 64); err != nil {
		return s, fmt.Errorf("failed to parse setting 'auth-token-default-ttl-minutes': %w", err)
	}
	return s, nil
}

func (e *Emulator) ingest(ctx context.Context, ttl int64) (int64, error) {
	s, err := e.ttlSettings(ctx)
	if err != nil {
		return 0, apierrors.NewInternalError(fmt.Errorf("failed to clamp token time-to-live: %w", err))
	}
	return ingestTTL(e.Version(), s, ttl), nil
}

func (e *Emulator) ensureNamespace(ctx context.Context) error {
	_, err := e.core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: TokenNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func (e *Emulator) serveCreate(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller) {
	t, err := decodeToken(r)
	if err != nil {
		writeError(w, err)
		return
	}
	created, err := e.create(ctx, c, t, dryRunAll(r))
	if err != nil {
		writeError(w, err)
		return
	}
	e.respond(w, r, http.StatusCreated, created)
}

// create follows Rancher's create: checks in its order, name and
// generateName ignored, principal from the request token, value and
// bearer token only in this response.
func (e *Emulator) create(ctx context.Context, c *caller, t *Token, dryRun bool) (*Token, error) {
	v := e.Version()
	_, rancherUser, err := e.who(ctx, c, "create")
	if err != nil {
		return nil, err
	}
	if !rancherUser {
		return nil, apierrors.NewForbidden(GroupResource, "", fmt.Errorf("user %s is not a Rancher user", c.Name))
	}
	if t.Spec.UserID == "" {
		t.Spec.UserID = c.Name
	} else if t.Spec.UserID != c.Name {
		return nil, apierrors.NewBadRequest("unable to create token for other user")
	}
	user, err := e.rancherUser(ctx, t.Spec.UserID)
	if err != nil || user == nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to retrieve user %s: %v", t.Spec.UserID, err))
	}
	if enabled, found, _ := unstructured.NestedBool(user.Object, "enabled"); found && !enabled {
		return nil, apierrors.NewBadRequest("operation references a disabled user")
	}
	tokenID := c.requestTokenID()
	if tokenID == "" {
		if !v.forbiddenWithoutTokenID() {
			return nil, apierrors.NewInternalError(fmt.Errorf("missing authentication token ID"))
		}
		return nil, apierrors.NewForbidden(GroupResource, "", fmt.Errorf("missing authentication token ID"))
	}
	principal, err := e.requestPrincipal(ctx, tokenID)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	t.Spec.UserPrincipal = principal
	if !v.clusterName() {
		t.Spec.ClusterName = "" // the field does not exist before 2.13
	}
	if cl := t.Spec.ClusterName; cl != "" {
		if _, err := e.dyn.Resource(ClustersGVR).Get(ctx, cl, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("cluster %s not found", cl))
		} else if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("error getting cluster %s: %w", cl, err))
		}
		ok, err := e.allowed(ctx, c, authorizationv1.ResourceAttributes{Verb: "get", Group: MgmtGroup, Resource: "clusters", Name: cl})
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("error authorizing user %s to access cluster %s: %w", c.Name, cl, err))
		}
		if !ok {
			return nil, apierrors.NewForbidden(GroupResource, "", fmt.Errorf("user %s is not allowed to access cluster %s", c.Name, cl))
		}
	}
	value, err := newValue()
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token value: %w", err))
	}
	hash, err := hashValue(value)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to hash token value: %w", err))
	}
	now := e.now()
	t.Status = TokenStatus{Hash: hash, LastUpdateTime: now.UTC().Format(time.RFC3339)}
	t.UID = uuid.NewUUID()
	t.CreationTimestamp = metav1.NewTime(now)
	t.ResourceVersion = ""
	t.setTypeMeta()
	if dryRun {
		// Rancher answers a server dry run before storage: a fresh name,
		// no value, the TTL as sent.
		name, err := e.unusedName(ctx)
		if err != nil {
			return nil, err
		}
		t.Name, t.GenerateName = name, ""
		return t, nil
	}
	if t.Spec.TTL, err = e.ingest(ctx, t.Spec.TTL); err != nil {
		return nil, err
	}
	s, err := toSecret(t)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to convert token %s for storage: %w", t.Name, err))
	}
	s.Name, s.GenerateName = "", GeneratePrefix
	if err := e.ensureNamespace(ctx); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("error ensuring namespace %s: %w", TokenNamespace, err))
	}
	stored, err := e.core.Secrets(TokenNamespace).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to store token: %w", err))
	}
	out, err := fromSecret(stored, e.now())
	if err != nil {
		_ = e.core.Secrets(TokenNamespace).Delete(ctx, stored.Name, metav1.DeleteOptions{})
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to regenerate token %s: %w", stored.Name, err))
	}
	out.Status.Current = false
	out.Status.Hash = ""
	out.Status.Value = value
	if v.bearerToken() {
		out.Status.BearerToken = "ext/" + out.Name + ":" + value
	}
	return out, nil
}

func (e *Emulator) unusedName(ctx context.Context) (string, error) {
	for range 10 {
		name := GeneratePrefix + utilrand.String(5)
		if _, err := e.core.Secrets(TokenNamespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return name, nil
		}
	}
	return "", apierrors.NewInternalError(fmt.Errorf("error checking if token exists"))
}

func (e *Emulator) serveUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, name string) {
	in, err := decodeToken(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := e.update(ctx, c, name, func(*Token) (*Token, error) { return in, nil }, dryRunAll(r))
	if err != nil {
		writeError(w, err)
		return
	}
	e.respond(w, r, http.StatusOK, out)
}

func (e *Emulator) servePatch(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, name string) {
	b, err := readRaw(r)
	if err != nil {
		writeError(w, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	apply := func(old *Token) (*Token, error) {
		orig, err := json.Marshal(old)
		if err != nil {
			return nil, err
		}
		var patched []byte
		switch mt {
		case "application/merge-patch+json":
			patched, err = jsonpatch.MergePatch(orig, b)
		case "application/strategic-merge-patch+json":
			patched, err = strategicpatch.StrategicMergePatch(orig, b, Token{})
		case "application/json-patch+json":
			var p jsonpatch.Patch
			if p, err = jsonpatch.DecodePatch(b); err == nil {
				patched, err = p.Apply(orig)
			}
		default:
			return nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", GroupResource, name,
				"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json", 0, false)
		}
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		nt := &Token{}
		if err := json.Unmarshal(patched, nt); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return nt, nil
	}
	out, err := e.update(ctx, c, name, apply, dryRunAll(r))
	if err != nil {
		writeError(w, err)
		return
	}
	e.respond(w, r, http.StatusOK, out)
}

func readRaw(r *http.Request) ([]byte, error) {
	b := make([]byte, 0, 1024)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b = append(b, buf[:n]...)
		if len(b) > maxBodyLen {
			return nil, apierrors.NewRequestEntityTooLargeError("limit is 3MB")
		}
		if err != nil {
			break
		}
	}
	return b, nil
}

// update follows Rancher's Update: owner or admin, immutable fields, the
// TTL may only shrink (for admins too), status kept.
func (e *Emulator) update(ctx context.Context, c *caller, name string, mutate func(old *Token) (*Token, error), dryRun bool) (*Token, error) {
	full, rancherUser, err := e.who(ctx, c, "update")
	if err != nil {
		return nil, err
	}
	s, err := e.secret(ctx, name)
	if err != nil {
		return nil, err
	}
	old, err := fromSecret(s, e.now())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("error converting secret %s to token: %w", name, err))
	}
	oldCopy := *old
	nt, err := mutate(&oldCopy)
	if err != nil {
		return nil, err
	}
	if !full && (!rancherUser || old.Spec.UserID != c.Name) {
		return nil, notFound(old.Name)
	}
	switch {
	case nt.UID != old.UID:
		return nil, apierrors.NewBadRequest("meta.UID is immutable")
	case nt.Spec.UserID != old.Spec.UserID:
		return nil, apierrors.NewBadRequest("spec.userID is immutable")
	case nt.Spec.Kind != old.Spec.Kind:
		return nil, apierrors.NewBadRequest("spec.kind is immutable")
	case !reflect.DeepEqual(normPrincipal(nt.Spec.UserPrincipal), normPrincipal(old.Spec.UserPrincipal)):
		return nil, apierrors.NewBadRequest("spec.userprincipal is immutable")
	case nt.Spec.ClusterName != old.Spec.ClusterName:
		return nil, apierrors.NewBadRequest("spec.clusterName is immutable")
	}
	// Rancher passes fullPermission=false for every API caller: nobody
	// may extend a TTL through the API (§3 note 1).
	if nt.Spec.TTL, err = e.ingest(ctx, nt.Spec.TTL); err != nil {
		return nil, err
	}
	if ttlGreater(nt.Spec.TTL, old.Spec.TTL) {
		return nil, apierrors.NewBadRequest("forbidden to extend time-to-live")
	}
	nt.Name = old.Name
	nt.Status = old.Status
	nt.Status.Value, nt.Status.BearerToken = "", ""
	nt.Status.LastUpdateTime = e.now().UTC().Format(time.RFC3339)
	sec, err := toSecret(nt)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to convert token for storage: %w", err))
	}
	if dryRun {
		nt.setTypeMeta()
		return nt, nil
	}
	// Rancher's stored Secret carries no resourceVersion: the update is
	// unconditional (Secrets allow that).
	sec.ResourceVersion = ""
	stored, err := e.core.Secrets(TokenNamespace).Update(ctx, sec, metav1.UpdateOptions{})
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to save updated token: %w", err))
	}
	out, err := fromSecret(stored, e.now())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to regenerate token: %w", err))
	}
	e.withoutSecrets(out, c.requestTokenID())
	return out, nil
}

// normPrincipal compares principals as Rancher does: a nil and an empty
// extraInfo are the same.
func normPrincipal(p TokenPrincipal) TokenPrincipal {
	if len(p.ExtraInfo) == 0 {
		p.ExtraInfo = nil
	}
	return p
}

func deleteOptions(r *http.Request) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	b, err := readRaw(r)
	if err != nil {
		return opts, err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &opts); err != nil {
			return opts, apierrors.NewBadRequest(err.Error())
		}
	}
	q := r.URL.Query()
	if dr := q["dryRun"]; len(dr) > 0 {
		opts.DryRun = dr
	}
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	return opts, nil
}

func (e *Emulator) serveDelete(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, name string) {
	opts, err := deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	full, rancherUser, err := e.who(ctx, c, "delete")
	if err != nil {
		writeError(w, err)
		return
	}
	s, err := e.secret(ctx, name)
	if err != nil {
		writeError(w, err)
		return
	}
	if !full && (!rancherUser || s.Labels[LabelUserID] != c.Name) {
		writeError(w, notFound(name))
		return
	}
	t, err := e.deleteSecret(ctx, s, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	e.withoutSecrets(t, c.requestTokenID())
	e.respond(w, r, http.StatusOK, t)
}

// deleteSecret deletes a token's Secret, mapping a UID precondition on
// the token to the Secret's UID as Rancher does.
func (e *Emulator) deleteSecret(ctx context.Context, s *corev1.Secret, opts metav1.DeleteOptions) (*Token, error) {
	t, err := fromSecret(s, e.now())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("error converting secret %s to token: %w", s.Name, err))
	}
	if opts.Preconditions != nil && opts.Preconditions.UID != nil && *opts.Preconditions.UID == t.UID {
		uid := types.UID(s.UID)
		opts.Preconditions.UID = &uid
	}
	if err := e.core.Secrets(TokenNamespace).Delete(ctx, s.Name, opts); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound(s.Name)
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to delete token %s: %w", s.Name, err))
	}
	return t, nil
}

func (e *Emulator) serveDeleteCollection(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller) {
	lopts, err := listOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	dopts, err := deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	secrets, err := e.listSecrets(ctx, c, "delete", lopts)
	if err != nil {
		writeError(w, err)
		return
	}
	list := &TokenList{ListMeta: metav1.ListMeta{ResourceVersion: secrets.ResourceVersion, Continue: secrets.Continue}, Items: []Token{}}
	list.APIVersion, list.Kind = GroupVersion.String(), ListKind
	for i := range secrets.Items {
		if secrets.Items[i].Labels[LabelSecretKind] != SecretKindValue {
			continue
		}
		t, err := e.deleteSecret(ctx, &secrets.Items[i], dopts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			writeError(w, apierrors.NewInternalError(fmt.Errorf("error deleting token %s: %w", secrets.Items[i].Name, err)))
			return
		}
		e.withoutSecrets(t, c.requestTokenID())
		list.Items = append(list.Items, *t)
	}
	e.respond(w, r, http.StatusOK, list)
}
