package rancher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ext Kubeconfigs (docs/rancher-tokens.md §12, §13): one ConfigMap per
// Kubeconfig in cattle-kubeconfigs; its tokens are ordinary ext tokens
// of kind kubeconfig, labelled with the Kubeconfig's name, owned by it
// and deleted with it.

// Data keys of the backing ConfigMaps (the emulator's own layout).
const (
	kcKeyClusters       = "clusters"
	kcKeyCurrentContext = "current-context"
	kcKeyDescription    = "description"
	kcKeyTTL            = "ttl"
	kcKeyDefaultEntry   = "include-default-entry"
	kcKeySummary        = "summary"
	kcKeyTokens         = "tokens"
)

// Version switches of ext Kubeconfigs.

// kubeconfigExtTokenCallers: a request authenticated by an ext token may
// create a Kubeconfig (2.15+; 2.14 answers 403, rancher/rancher#53948).
func (v Version) kubeconfigExtTokenCallers() bool { return v.atLeast(V2_15) }

// includeDefaultEntryField: spec.includeDefaultEntry exists (2.15+).
func (v Version) includeDefaultEntryField() bool { return v.atLeast(V2_15) }

// kubeconfigMaxSetting: kubeconfig-max-token-ttl-minutes exists (main).
func (v Version) kubeconfigMaxSetting() bool { return v.atLeast(Main) }

func kubeconfigNotFound(name string) error {
	return apierrors.NewNotFound(KubeconfigGroupResource, name)
}

func kubeconfigForbidden(format string, args ...any) error {
	return apierrors.NewForbidden(KubeconfigGroupResource, "", fmt.Errorf(format, args...))
}

// serveKubeconfigs routes kubeconfigs.ext.cattle.io requests.
func (e *Emulator) serveKubeconfigs(w http.ResponseWriter, r *http.Request, c *caller, name string, rec *Request) {
	ctx := r.Context()
	switch {
	case r.Method == http.MethodGet && name != "":
		rec.Verb = "get"
		k, err := e.visibleKubeconfig(ctx, c, "get", name)
		if err != nil {
			writeError(w, err)
			return
		}
		e.respondKubeconfig(ctx, w, r, http.StatusOK, k)
	case r.Method == http.MethodGet:
		rec.Verb = "list"
		e.listKubeconfigs(ctx, w, r, c)
	case r.Method == http.MethodPost && name == "":
		rec.Verb = "create"
		k := &Kubeconfig{}
		if err := readBody(r, k); err != nil {
			writeError(w, err)
			return
		}
		if k.Kind != "" && k.Kind != KubeconfigKind {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("expected kind %s, got %s", KubeconfigKind, k.Kind)))
			return
		}
		out, err := e.createKubeconfig(ctx, c, k, dryRunAll(r))
		if err != nil {
			writeError(w, err)
			return
		}
		e.respondKubeconfig(ctx, w, r, http.StatusCreated, out)
	case r.Method == http.MethodDelete && name != "":
		rec.Verb = "delete"
		k, err := e.visibleKubeconfig(ctx, c, "delete", name)
		if err != nil {
			writeError(w, err)
			return
		}
		if !dryRunAll(r) {
			if err := e.deleteKubeconfig(ctx, k); err != nil {
				writeError(w, err)
				return
			}
		}
		e.respondKubeconfig(ctx, w, r, http.StatusOK, k)
	default:
		writeError(w, apierrors.NewMethodNotSupported(KubeconfigGroupResource, strings.ToLower(r.Method)))
	}
}

// visibleKubeconfig reads a Kubeconfig the caller may see: their own, or
// any for full access; anything else is 404, as for tokens.
func (e *Emulator) visibleKubeconfig(ctx context.Context, c *caller, verb, name string) (*Kubeconfig, error) {
	full, _, err := e.who(ctx, c, verb)
	if err != nil {
		return nil, err
	}
	cm, err := e.core.ConfigMaps(KubeconfigNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, kubeconfigNotFound(name)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to retrieve kubeconfig %s: %w", name, err))
	}
	if !full && cm.Labels[LabelUserID] != c.Name {
		return nil, kubeconfigNotFound(name)
	}
	return kubeconfigFromConfigMap(cm)
}

func (e *Emulator) listKubeconfigs(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller) {
	opts, err := listOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	full, _, err := e.who(ctx, c, "list")
	if err != nil {
		writeError(w, err)
		return
	}
	// The owner restriction is ANDed on, as the rewritten token store does.
	local, err := mergeListOptions(Main, full, c.Name, opts)
	if err != nil {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("failed to process list options: %v", err)))
		return
	}
	cms, err := e.core.ConfigMaps(KubeconfigNamespace).List(ctx, local)
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("failed to list kubeconfigs: %w", err)))
		return
	}
	list := &KubeconfigList{ListMeta: metav1.ListMeta{ResourceVersion: cms.ResourceVersion, Continue: cms.Continue}, Items: []Kubeconfig{}}
	list.APIVersion, list.Kind = GroupVersion.String(), KubeconfigListKind
	for i := range cms.Items {
		k, err := kubeconfigFromConfigMap(&cms.Items[i])
		if err != nil {
			continue
		}
		list.Items = append(list.Items, *k)
	}
	if wantsTable(r) {
		t, err := e.kubeconfigTable(ctx, list.Items, list.ListMeta, r.URL.Query().Get("includeObject"))
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		writeJSON(w, http.StatusOK, tableContentType, t)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", list)
}

func (e *Emulator) respondKubeconfig(ctx context.Context, w http.ResponseWriter, r *http.Request, code int, k *Kubeconfig) {
	if wantsTable(r) {
		t, err := e.kubeconfigTable(ctx, []Kubeconfig{*k}, metav1.ListMeta{}, r.URL.Query().Get("includeObject"))
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		writeJSON(w, code, tableContentType, t)
		return
	}
	writeJSON(w, code, "application/json", k)
}

// kubeconfigColumns are the Kubeconfig table's (§12): NAME TTL TOKENS
// STATUS AGE, and with -o wide USER CLUSTERS DESCRIPTION.
var kubeconfigColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "TTL", Type: "string", Description: "The time-to-live of the kubeconfig's tokens"},
	{Name: "Tokens", Type: "string", Description: "The kubeconfig's tokens that exist, of those it was created with"},
	{Name: "Status", Type: "string", Description: "Summary of the kubeconfig's state"},
	{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
	{Name: "User", Type: "string", Priority: 1, Description: "The owner of the kubeconfig"},
	{Name: "Clusters", Type: "string", Priority: 1, Description: "The clusters the kubeconfig is for"},
	{Name: "Description", Type: "string", Priority: 1, Description: "Human readable description of the kubeconfig"},
}

func (e *Emulator) kubeconfigTable(ctx context.Context, items []Kubeconfig, lm metav1.ListMeta, includeObject string) (*metav1.Table, error) {
	t := &metav1.Table{ListMeta: lm, ColumnDefinitions: kubeconfigColumns, Rows: []metav1.TableRow{}}
	t.APIVersion, t.Kind = "meta.k8s.io/v1", "Table"
	now := e.now()
	for i := range items {
		k := &items[i]
		live := 0
		for _, n := range k.Status.Tokens {
			if _, err := e.secret(ctx, n); err == nil {
				live++
			}
		}
		row := metav1.TableRow{Cells: []any{
			k.Name,
			duration.HumanDuration(time.Duration(k.Spec.TTL) * time.Second),
			fmt.Sprintf("%d/%d", live, len(k.Status.Tokens)),
			k.Status.Summary,
			duration.HumanDuration(now.Sub(k.CreationTimestamp.Time)),
			k.Labels[LabelUserID],
			strings.Join(k.Spec.Clusters, ","),
			k.Spec.Description,
		}}
		var obj any
		switch includeObject {
		case "None":
		case "Object":
			obj = k
		default:
			pom := metav1.PartialObjectMetadata{ObjectMeta: k.ObjectMeta}
			pom.APIVersion, pom.Kind = "meta.k8s.io/v1", "PartialObjectMetadata"
			obj = &pom
		}
		if obj != nil {
			raw, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Raw: raw}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// kubeconfigTTLLimits are the default and maximum TTL of a Kubeconfig in
// seconds (§12): on 2.12–2.15 the default kubeconfig-default-token-ttl-
// minutes, clamped to auth-token-max-ttl-minutes, is also the maximum;
// on main the maximum is kubeconfig-max-token-ttl-minutes. A maximum of
// 0 means no limit.
func (e *Emulator) kubeconfigTTLLimits(ctx context.Context) (def, max int64, err error) {
	minutes := func(name, fallback string) (int64, error) {
		v, ok, err := e.settingValue(ctx, name)
		if err != nil {
			return 0, err
		}
		if !ok || v == "" {
			v = fallback
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("failed to parse setting '%s': %w", name, err)
		}
		return n, nil
	}
	if def, err = minutes("kubeconfig-default-token-ttl-minutes", "43200"); err != nil {
		return 0, 0, err
	}
	limitSetting, fallback := "auth-token-max-ttl-minutes", "129600"
	if e.Version().kubeconfigMaxSetting() {
		limitSetting = "kubeconfig-max-token-ttl-minutes"
	}
	limit, err := minutes(limitSetting, fallback)
	if err != nil {
		return 0, 0, err
	}
	if limit > 0 && (def <= 0 || def > limit) {
		def = limit
	}
	max = def
	if e.Version().kubeconfigMaxSetting() {
		max = limit
	}
	return def * 60, max * 60, nil
}

// createKubeconfig follows §12–§13: a Rancher user authenticated by a
// Rancher token, unique clusters that exist and that the caller may
// reach, a TTL within the maximum (refused, never clamped), then one
// shared token plus one cluster-scoped token per ACE cluster, and the
// kubeconfig in status.value of this response only.
func (e *Emulator) createKubeconfig(ctx context.Context, c *caller, k *Kubeconfig, dryRun bool) (*Kubeconfig, error) {
	v := e.Version()
	_, rancherUser, err := e.who(ctx, c, "create")
	if err != nil {
		return nil, err
	}
	if !rancherUser {
		return nil, kubeconfigForbidden("user %s is not a Rancher user", c.Name)
	}
	tokenID := c.requestTokenID()
	if tokenID == "" || (!v.kubeconfigExtTokenCallers() && e.isExtTokenID(ctx, tokenID)) {
		return nil, kubeconfigForbidden("error getting request token")
	}
	principal, err := e.requestPrincipal(ctx, tokenID)
	if err != nil {
		return nil, kubeconfigForbidden("error getting request token")
	}
	if !v.includeDefaultEntryField() {
		k.Spec.IncludeDefaultEntry = nil // unknown before 2.15: dropped
	}
	spec := &k.Spec
	seen := map[string]bool{}
	for _, cl := range spec.Clusters {
		if seen[cl] {
			return nil, apierrors.NewBadRequest("spec.clusters must be unique")
		}
		seen[cl] = true
	}
	if !k.includeDefaultEntry() && len(spec.Clusters) == 0 {
		return nil, apierrors.NewBadRequest("at least one cluster is required when includeDefaultEntry is false")
	}
	if spec.TTL < 0 {
		return nil, apierrors.NewBadRequest("spec.ttl can't be negative")
	}
	def, max, err := e.kubeconfigTTLLimits(ctx)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if spec.TTL == 0 {
		spec.TTL = def
	}
	if max > 0 && spec.TTL > max {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.ttl %d exceeds max ttl %d", spec.TTL, max))
	}
	clusters, err := e.kubeconfigClusters(ctx, c, spec.Clusters)
	if err != nil {
		return nil, err
	}
	contexts := []string{}
	if k.includeDefaultEntry() {
		contexts = append(contexts, DefaultEntry)
	}
	for _, cl := range clusters {
		contexts = append(contexts, cl.GetName())
		if ace(cl) != "" {
			contexts = append(contexts, cl.GetName()+"-fqdn")
		}
	}
	if spec.CurrentContext == "" {
		// The first cluster asked for, else Rancher itself.
		spec.CurrentContext = contexts[0]
		if len(clusters) > 0 {
			spec.CurrentContext = clusters[0].GetName()
		}
	} else if !slices.Contains(contexts, spec.CurrentContext) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid currentContext %s", spec.CurrentContext))
	}

	now := e.now()
	k.UID, k.ResourceVersion = "", ""
	k.CreationTimestamp = metav1.NewTime(now)
	k.setTypeMeta()
	labels := copyMap(k.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelUserID] = c.Name
	k.Labels = labels
	if dryRun {
		if k.Name == "" {
			k.Name = KubeconfigGeneratePrefix + utilrand.String(5)
		}
		k.GenerateName = ""
		return k, nil
	}
	if err := e.ensureNamespaceNamed(ctx, KubeconfigNamespace); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	cm := kubeconfigToConfigMap(k)
	if cm.Name == "" {
		cm.GenerateName = KubeconfigGeneratePrefix
	}
	stored, err := e.core.ConfigMaps(KubeconfigNamespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(KubeconfigGroupResource, cm.Name)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to store kubeconfig: %w", err))
	}
	k.Name, k.GenerateName, k.UID = stored.Name, "", stored.UID
	owner := metav1.OwnerReference{APIVersion: GroupVersion.String(), Kind: KubeconfigKind, Name: k.Name, UID: k.UID}

	tokenTTL := spec.TTL * 1000
	if tokenTTL == 0 {
		tokenTTL = -1 // no default and no maximum: the tokens never expire
	}
	mint := func(cluster string) (*Token, string, error) {
		t := &Token{Spec: TokenSpec{UserID: c.Name, UserPrincipal: principal, Kind: KubeconfigTokenKind, TTL: tokenTTL, ClusterName: cluster}}
		t.Labels = map[string]string{LabelKubeconfigID: k.Name}
		t.OwnerReferences = []metav1.OwnerReference{owner}
		return e.storeNewToken(ctx, t)
	}
	fail := func(err error) (*Kubeconfig, error) {
		_ = e.deleteKubeconfig(context.WithoutCancel(ctx), k)
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to create kubeconfig tokens: %w", err))
	}
	shared, sharedValue, err := mint("")
	if err != nil {
		return fail(err)
	}
	k.Status.Tokens = append(k.Status.Tokens, shared.Name)
	users := map[string]string{} // context -> bearer token
	for _, cx := range contexts {
		users[cx] = "ext/" + shared.Name + ":" + sharedValue
	}
	for _, cl := range clusters {
		if ace(cl) == "" {
			continue
		}
		t, value, err := mint(cl.GetName())
		if err != nil {
			return fail(err)
		}
		k.Status.Tokens = append(k.Status.Tokens, t.Name)
		users[cl.GetName()+"-fqdn"] = "ext/" + t.Name + ":" + value
	}
	k.Status.Summary = "Complete"
	cm = kubeconfigToConfigMap(k)
	cm.ResourceVersion = ""
	if _, err := e.core.ConfigMaps(KubeconfigNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fail(err)
	}
	value, err := e.renderKubeconfig(ctx, k, clusters, contexts, users)
	if err != nil {
		return fail(err)
	}
	out := *k
	out.Status.Value = value
	return &out, nil
}

// isExtTokenID tells whether the request token is an ext token (its ID
// reads ext/<name>, or names no v3 token but an ext one).
func (e *Emulator) isExtTokenID(ctx context.Context, tokenID string) bool {
	if strings.HasPrefix(tokenID, "ext/") {
		return true
	}
	if _, err := e.dyn.Resource(V3TokensGVR).Get(ctx, tokenID, metav1.GetOptions{}); err == nil {
		return false
	}
	_, err := e.getToken(ctx, tokenID)
	return err == nil
}

// kubeconfigClusters resolves spec.clusters: "*" first is every cluster
// the caller may get; otherwise each must exist and be allowed.
func (e *Emulator) kubeconfigClusters(ctx context.Context, c *caller, names []string) ([]*unstructured.Unstructured, error) {
	mayGet := func(name string) (bool, error) {
		ok, err := e.allowed(ctx, c, authorizationv1.ResourceAttributes{Verb: "get", Group: MgmtGroup, Resource: "clusters", Name: name})
		if err != nil {
			return false, apierrors.NewInternalError(fmt.Errorf("error authorizing user %s to access cluster %s: %w", c.Name, name, err))
		}
		return ok, nil
	}
	var out []*unstructured.Unstructured
	if len(names) > 0 && names[0] == "*" {
		list, err := e.dyn.Resource(ClustersGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("error listing clusters: %w", err))
		}
		for i := range list.Items {
			ok, err := mayGet(list.Items[i].GetName())
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, &list.Items[i])
			}
		}
		return out, nil
	}
	for _, name := range names {
		cl, err := e.dyn.Resource(ClustersGVR).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("cluster %s not found", name))
		}
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("error getting cluster %s: %w", name, err))
		}
		ok, err := mayGet(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, kubeconfigForbidden("user %s is not allowed to access cluster %s", c.Name, name)
		}
		out = append(out, cl)
	}
	return out, nil
}

// ace is the FQDN of a cluster's authorized cluster endpoint, "" when it
// has none (spec.localClusterAuthEndpoint).
func ace(cl *unstructured.Unstructured) string {
	enabled, _, _ := unstructured.NestedBool(cl.Object, "spec", "localClusterAuthEndpoint", "enabled")
	fqdn, _, _ := unstructured.NestedString(cl.Object, "spec", "localClusterAuthEndpoint", "fqdn")
	if !enabled {
		return ""
	}
	return fqdn
}

// renderKubeconfig writes the kubeconfig: one entry per context, Rancher
// itself at server-url, each cluster at server-url/k8s/clusters/<id>
// (§6), an ACE cluster's FQDN entry with its cluster-scoped token.
func (e *Emulator) renderKubeconfig(ctx context.Context, k *Kubeconfig, clusters []*unstructured.Unstructured, contexts []string, users map[string]string) (string, error) {
	server, err := e.serverURL(ctx)
	if err != nil {
		return "", err
	}
	kc := clientcmdapi.NewConfig()
	add := func(name, url string, ca []byte) {
		cl := clientcmdapi.NewCluster()
		cl.Server, cl.CertificateAuthorityData = url, ca
		kc.Clusters[name] = cl
		a := clientcmdapi.NewAuthInfo()
		a.Token = users[name]
		kc.AuthInfos[name] = a
		cx := clientcmdapi.NewContext()
		cx.Cluster, cx.AuthInfo = name, name
		kc.Contexts[name] = cx
	}
	if slices.Contains(contexts, DefaultEntry) {
		add(DefaultEntry, server, e.caPEM())
	}
	for _, cl := range clusters {
		add(cl.GetName(), server+"/k8s/clusters/"+cl.GetName(), e.caPEM())
		if fqdn := ace(cl); fqdn != "" {
			add(cl.GetName()+"-fqdn", "https://"+fqdn, nil)
		}
	}
	kc.CurrentContext = k.Spec.CurrentContext
	b, err := clientcmd.Write(*kc)
	return string(b), err
}

// serverURL is the server-url setting, else the emulator's own address
// for it (its cluster proxy).
func (e *Emulator) serverURL(ctx context.Context) (string, error) {
	v, _, err := e.settingValue(ctx, "server-url")
	if err != nil {
		return "", err
	}
	if v == "" {
		v = e.ServerURL()
	}
	return strings.TrimSuffix(v, "/"), nil
}

// deleteKubeconfig deletes a Kubeconfig and every token it owns.
func (e *Emulator) deleteKubeconfig(ctx context.Context, k *Kubeconfig) error {
	sel := LabelKubeconfigID + "=" + k.Name
	secrets, err := e.core.Secrets(TokenNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to list tokens of kubeconfig %s: %w", k.Name, err))
	}
	for i := range secrets.Items {
		err := e.core.Secrets(TokenNamespace).Delete(ctx, secrets.Items[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return apierrors.NewInternalError(fmt.Errorf("failed to delete token %s of kubeconfig %s: %w", secrets.Items[i].Name, k.Name, err))
		}
	}
	err = e.core.ConfigMaps(KubeconfigNamespace).Delete(ctx, k.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return kubeconfigNotFound(k.Name)
	}
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to delete kubeconfig %s: %w", k.Name, err))
	}
	return nil
}

// storeNewToken stores a new ext token with a fresh value, returning it
// as created and the value.
func (e *Emulator) storeNewToken(ctx context.Context, t *Token) (*Token, string, error) {
	value, err := newValue()
	if err != nil {
		return nil, "", err
	}
	hash, err := hashValue(value)
	if err != nil {
		return nil, "", err
	}
	now := e.now()
	t.Status = TokenStatus{Hash: hash, LastUpdateTime: now.UTC().Format(time.RFC3339)}
	t.UID = uuid.NewUUID()
	t.CreationTimestamp = metav1.NewTime(now)
	t.setTypeMeta()
	s, err := toSecret(t)
	if err != nil {
		return nil, "", err
	}
	s.Name, s.GenerateName = "", GeneratePrefix
	if err := e.ensureNamespace(ctx); err != nil {
		return nil, "", err
	}
	stored, err := e.core.Secrets(TokenNamespace).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, "", err
	}
	out, err := fromSecret(stored, now)
	return out, value, err
}

func (e *Emulator) ensureNamespaceNamed(ctx context.Context, ns string) error {
	_, err := e.core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func kubeconfigToConfigMap(k *Kubeconfig) *corev1.ConfigMap {
	clusters, _ := json.Marshal(k.Spec.Clusters)
	tokens, _ := json.Marshal(k.Status.Tokens)
	def := ""
	if k.Spec.IncludeDefaultEntry != nil {
		def = strconv.FormatBool(*k.Spec.IncludeDefaultEntry)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: k.Name, Namespace: KubeconfigNamespace, UID: k.UID, ResourceVersion: k.ResourceVersion,
			Labels: copyMap(k.Labels), Annotations: copyMap(k.Annotations),
		},
		Data: map[string]string{
			kcKeyClusters:       string(clusters),
			kcKeyCurrentContext: k.Spec.CurrentContext,
			kcKeyDescription:    k.Spec.Description,
			kcKeyTTL:            strconv.FormatInt(k.Spec.TTL, 10),
			kcKeyDefaultEntry:   def,
			kcKeySummary:        k.Status.Summary,
			kcKeyTokens:         string(tokens),
		},
	}
}

func kubeconfigFromConfigMap(cm *corev1.ConfigMap) (*Kubeconfig, error) {
	k := &Kubeconfig{ObjectMeta: *cm.ObjectMeta.DeepCopy()}
	k.setTypeMeta()
	k.Namespace, k.ManagedFields = "", nil
	d := cm.Data
	if err := json.Unmarshal([]byte(d[kcKeyClusters]), &k.Spec.Clusters); err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	if err := json.Unmarshal([]byte(d[kcKeyTokens]), &k.Status.Tokens); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	k.Spec.CurrentContext = d[kcKeyCurrentContext]
	k.Spec.Description = d[kcKeyDescription]
	var err error
	if k.Spec.TTL, err = strconv.ParseInt(d[kcKeyTTL], 10, 64); err != nil {
		return nil, fmt.Errorf("ttl: %w", err)
	}
	if s := d[kcKeyDefaultEntry]; s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("includeDefaultEntry: %w", err)
		}
		k.Spec.IncludeDefaultEntry = &b
	}
	k.Status.Summary = d[kcKeySummary]
	return k, nil
}

// kubeconfigAPIResource is the discovery entry: the verbs the emulator
// serves for Kubeconfigs.
var kubeconfigAPIResource = metav1.APIResource{
	Name: KubeconfigResource, SingularName: KubeconfigSingular, Namespaced: false, Kind: KubeconfigKind,
	Verbs: metav1.Verbs{"create", "delete", "get", "list"},
}

func isWatch(watchPath bool, r *http.Request) bool {
	q := r.URL.Query()
	return watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
}
