package exttoken

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// settingInfo describes one of the token settings of
// docs/rancher-tokens.md §8.
type settingInfo struct {
	Name    string
	Default string // the documented default (2.8+)
	Bool    bool   // true/false rather than minutes
	Newer   bool   // exists only on newer Rancher (main); shown when present
	Zero    string // what 0 minutes means
}

var knownSettings = []settingInfo{
	{Name: "auth-token-max-ttl-minutes", Default: "129600", Zero: "unlimited"},
	{Name: "auth-token-default-ttl-minutes", Default: "129600", Newer: true, Zero: "the max"},
	{Name: "kubeconfig-default-token-ttl-minutes", Default: "43200", Zero: "never expires"},
	{Name: "kubeconfig-max-token-ttl-minutes", Default: "129600", Newer: true, Zero: "unlimited"},
	{Name: "auth-user-session-ttl-minutes", Default: "960", Zero: "unlimited"},
	{Name: "auth-user-session-idle-ttl-minutes", Default: "960", Zero: "disabled"},
	{Name: "kubeconfig-generate-token", Default: "true", Bool: true},
}

func settingNames() []string {
	var out []string
	for _, s := range knownSettings {
		out = append(out, s.Name)
	}
	return out
}

func lookupSetting(name string) (settingInfo, bool) {
	for _, s := range knownSettings {
		if s.Name == name {
			return s, true
		}
	}
	return settingInfo{}, false
}

// setting is a setting as read from the cluster.
type setting struct {
	info    settingInfo
	obj     *unstructured.Unstructured // nil when missing
	Value   string                     // effective: value, else default
	Default string
	Source  string
}

func settingFrom(info settingInfo, u *unstructured.Unstructured) setting {
	s := setting{info: info, obj: u, Default: info.Default, Source: "missing"}
	if u == nil {
		return s
	}
	value, _, _ := unstructured.NestedString(u.Object, "value")
	def, _, _ := unstructured.NestedString(u.Object, "default")
	src, _, _ := unstructured.NestedString(u.Object, "source")
	s.Default = def
	switch {
	case src == "env":
		s.Source = "env CATTLE_" + strings.ToUpper(strings.ReplaceAll(info.Name, "-", "_"))
	case value != "":
		s.Source = "value"
	default:
		s.Source = "default"
	}
	s.Value = value
	if s.Value == "" {
		s.Value = def
	}
	return s
}

// human renders the effective value as a duration.
func (s setting) human() string {
	if s.obj == nil {
		return "-"
	}
	if s.info.Bool {
		return "-"
	}
	n, err := strconv.ParseInt(s.Value, 10, 64)
	if err != nil {
		return "invalid"
	}
	if n == 0 {
		return s.info.Zero
	}
	return formatTTL(n * msPerMinute)
}

// customized is the setting's customized field, "<unknown>" when the
// setting is missing or the field is not there.
func (s setting) customized() string {
	if s.obj == nil {
		return "<unknown>"
	}
	c, ok, err := unstructured.NestedBool(s.obj.Object, "customized")
	if !ok || err != nil {
		return "<unknown>"
	}
	return strconv.FormatBool(c)
}

// minutes is the effective value; ok is false when missing or not a number.
func (s setting) minutes() (int64, bool) {
	if s.obj == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(s.Value, 10, 64)
	return n, err == nil
}

// readSettings gets the known settings one by one (a Rancher has hundreds
// of settings; we need seven). Missing ones come back with obj nil.
func readSettings(ctx context.Context, ri dynamic.ResourceInterface) (map[string]setting, error) {
	out := map[string]setting{}
	for _, info := range knownSettings {
		u, err := ri.Get(ctx, info.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
			out[info.Name] = settingFrom(info, nil)
			continue
		}
		if err != nil {
			return nil, apierror.Wrap(err, settingOp("get", info.Name))
		}
		out[info.Name] = settingFrom(info, u)
	}
	return out, nil
}

// readTTLPolicy reads what the server's TTL ingest depends on; ok is
// false when the settings cannot be read (e.g. not allowed).
func readTTLPolicy(ctx context.Context, f cli.Clients) (ttlPolicy, bool) {
	dyn, err := f.Dynamic()
	if err != nil {
		return ttlPolicy{}, false
	}
	ri := dyn.Resource(settingsGVR)
	get := func(name string) (setting, error) {
		info, _ := lookupSetting(name)
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return settingFrom(info, nil), err
		}
		return settingFrom(info, u), nil
	}
	max, err := get("auth-token-max-ttl-minutes")
	if err != nil {
		return ttlPolicy{}, false
	}
	p := ttlPolicy{}
	var ok bool
	if p.maxMinutes, ok = max.minutes(); !ok {
		return ttlPolicy{}, false
	}
	if def, err := get("auth-token-default-ttl-minutes"); err == nil {
		if p.defaultMinutes, ok = def.minutes(); ok {
			p.hasDefault = true
		}
	}
	return p, true
}

// tokenHashing is the state of feature token-hashing.
type tokenHashing struct {
	obj     *unstructured.Unstructured
	Enabled bool
	Default bool
	Locked  bool
	ReadErr string
}

func readTokenHashing(ctx context.Context, f cli.Clients) tokenHashing {
	dyn, err := f.Dynamic()
	if err != nil {
		return tokenHashing{ReadErr: err.Error()}
	}
	ri := dyn.Resource(featuresGVR)
	u, err := ri.Get(ctx, "token-hashing", metav1.GetOptions{})
	if err != nil {
		return tokenHashing{ReadErr: apierror.Wrap(err, apierror.Op{Verb: "get", Resource: featuresGVR.GroupResource(), Kind: "feature", Name: "token-hashing"}).Error()}
	}
	h := tokenHashing{obj: u}
	h.Default, _, _ = unstructured.NestedBool(u.Object, "status", "default")
	h.Enabled = h.Default
	if v, found, _ := unstructured.NestedBool(u.Object, "spec", "value"); found {
		h.Enabled = v
	}
	if v, found, _ := unstructured.NestedBool(u.Object, "status", "lockedValue"); found {
		h.Enabled, h.Locked = v, true
	}
	return h
}

func (h tokenHashing) line() string {
	switch {
	case h.ReadErr != "":
		return "Feature token-hashing: unknown (" + h.ReadErr + ")"
	case h.Enabled:
		return "Feature token-hashing: enabled. v3 token values are stored as one-way hashes; this cannot be turned off."
	default:
		return fmt.Sprintf("Feature token-hashing: disabled (default %t): v3 token values are stored in plaintext. Enabling it is irreversible: it cannot be disabled again.", h.Default)
	}
}

// consistency checks the new value against the other settings: a
// default may not exceed its maximum, nor the idle timeout the session.
func consistency(name string, n int64, cur map[string]setting) error {
	val := func(key string) (int64, bool) {
		if key == name {
			return n, true
		}
		return cur[key].minutes()
	}
	finite := func(v int64) int64 { // 0 means unlimited for maxima
		if v == 0 {
			return 1<<62 - 1
		}
		return v
	}
	tokenMax, hasTokenMax := val("auth-token-max-ttl-minutes")
	kcMax, hasKcMax := val("kubeconfig-max-token-ttl-minutes")
	if !hasKcMax {
		kcMax, hasKcMax = tokenMax, hasTokenMax
	}
	if kcDef, ok := val("kubeconfig-default-token-ttl-minutes"); ok && hasKcMax && finite(kcDef) > finite(kcMax) {
		return fmt.Errorf("kubeconfig-default-token-ttl-minutes (%s) would exceed the maximum (%s): lower the default or raise the maximum first", minutesText(kcDef, "never expires"), minutesText(kcMax, "unlimited"))
	}
	if def, ok := val("auth-token-default-ttl-minutes"); ok && hasTokenMax && def != 0 && finite(def) > finite(tokenMax) {
		return fmt.Errorf("auth-token-default-ttl-minutes (%s) would exceed auth-token-max-ttl-minutes (%s): lower the default or raise the maximum first", minutesText(def, "the max"), minutesText(tokenMax, "unlimited"))
	}
	sess, okS := val("auth-user-session-ttl-minutes")
	idle, okI := val("auth-user-session-idle-ttl-minutes")
	if okS && okI && idle != 0 && finite(idle) > finite(sess) {
		return fmt.Errorf("auth-user-session-idle-ttl-minutes (%s) would exceed auth-user-session-ttl-minutes (%s): the idle timeout must not be longer than the session", minutesText(idle, "disabled"), minutesText(sess, "unlimited"))
	}
	return nil
}

func minutesText(n int64, zero string) string {
	if n == 0 {
		return "0 = " + zero
	}
	return fmt.Sprintf("%d = %s", n, formatTTL(n*msPerMinute))
}
