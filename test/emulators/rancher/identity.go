package rancher

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// caller is the identity kube-apiserver vouched for.
type caller struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// authenticate trusts X-Remote-* headers only from a client certificate
// that chains to the requestheader CA and names the allowed front-proxy
// client, as an aggregated API server must.
func (e *Emulator) authenticate(r *http.Request) (*caller, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, apierrors.NewUnauthorized("no front-proxy client certificate: requests must come through kube-apiserver")
	}
	if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != e.fp.ClientName {
		return nil, apierrors.NewUnauthorized(fmt.Sprintf("front-proxy client %q is not allowed", cn))
	}
	c := &caller{Name: r.Header.Get("X-Remote-User"), UID: r.Header.Get("X-Remote-Uid"), Extra: map[string][]string{}}
	if c.Name == "" {
		return nil, apierrors.NewUnauthorized("no X-Remote-User header")
	}
	c.Groups = r.Header.Values("X-Remote-Group")
	const prefix = "X-Remote-Extra-"
	for h, vals := range r.Header {
		if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
			continue
		}
		// Extra keys travel percent-encoded in header names, which HTTP
		// canonicalises; the key itself is case-insensitive.
		key, err := url.PathUnescape(h[len(prefix):])
		if err != nil {
			key = h[len(prefix):]
		}
		c.Extra[strings.ToLower(key)] = append(c.Extra[strings.ToLower(key)], vals...)
	}
	return c, nil
}

// requestTokenID is the token that authenticated the request, "" when the
// extra is missing or not unique.
func (c *caller) requestTokenID() string {
	if ids := c.Extra[ExtraRequestTokenID]; len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// fullAccess asks the real apiserver whether the caller may do verb on
// every resource, Rancher's test for a global admin.
func (e *Emulator) fullAccess(ctx context.Context, c *caller, verb string) (bool, error) {
	return e.allowed(ctx, c, authorizationv1.ResourceAttributes{Verb: verb, Resource: "*"})
}

func (e *Emulator) allowed(ctx context.Context, c *caller, attrs authorizationv1.ResourceAttributes) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range c.Extra {
		extra[k] = v
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: c.Name, UID: c.UID, Groups: c.Groups, Extra: extra, ResourceAttributes: &attrs,
	}}
	res, err := e.authz.SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

// rancherUser returns the users.management.cattle.io object of the
// caller, nil when the caller is not a Rancher user (a name with ":" such
// as system:admin never is).
func (e *Emulator) rancherUser(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	if strings.Contains(name, ":") {
		return nil, nil
	}
	u, err := e.dyn.Resource(UsersGVR).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// who resolves the caller's standing for verb: full access and Rancher
// user, as Rancher's tokenAuth.UserName does.
func (e *Emulator) who(ctx context.Context, c *caller, verb string) (full, rancher bool, err error) {
	if full, err = e.fullAccess(ctx, c, verb); err != nil {
		return false, false, apierrors.NewInternalError(fmt.Errorf("authorizing %s: %w", c.Name, err))
	}
	u, err := e.rancherUser(ctx, c.Name)
	if err != nil {
		return false, false, apierrors.NewInternalError(fmt.Errorf("error getting user %s: %w", c.Name, err))
	}
	return full, u != nil, nil
}

// requestPrincipal finds the token that authenticated the request (a v3
// token first, then an ext token, as Rancher's Fetch) and returns its
// principal, which every created token inherits.
func (e *Emulator) requestPrincipal(ctx context.Context, tokenID string) (TokenPrincipal, error) {
	if name, ok := strings.CutPrefix(tokenID, "ext/"); ok {
		if t, err := e.getToken(ctx, name); err == nil {
			return t.Spec.UserPrincipal, nil
		}
		return TokenPrincipal{}, fmt.Errorf("unable to fetch token %s", tokenID)
	}
	if v3, err := e.dyn.Resource(V3TokensGVR).Get(ctx, tokenID, metav1.GetOptions{}); err == nil {
		return principalFromV3(v3), nil
	}
	if t, err := e.getToken(ctx, tokenID); err == nil {
		return t.Spec.UserPrincipal, nil
	}
	return TokenPrincipal{}, fmt.Errorf("unable to fetch unknown token %q", tokenID)
}

func principalFromV3(u *unstructured.Unstructured) TokenPrincipal {
	p, _, _ := unstructured.NestedMap(u.Object, "userPrincipal")
	str := func(keys ...string) string {
		s, _, _ := unstructured.NestedString(p, keys...)
		return s
	}
	b := func(key string) bool {
		v, _, _ := unstructured.NestedBool(p, key)
		return v
	}
	extra, _, _ := unstructured.NestedStringMap(p, "extraInfo")
	tp := TokenPrincipal{
		Name:           str("metadata", "name"),
		DisplayName:    str("displayName"),
		LoginName:      str("loginName"),
		ProfilePicture: str("profilePicture"),
		ProfileURL:     str("profileURL"),
		PrincipalType:  str("principalType"),
		Me:             b("me"),
		MemberOf:       b("memberOf"),
		Provider:       str("provider"),
		ExtraInfo:      extra,
	}
	if tp.Provider == "" {
		tp.Provider, _, _ = unstructured.NestedString(u.Object, "authProvider")
	}
	return tp
}
