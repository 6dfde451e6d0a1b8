package exttoken

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func settingsOf(values map[string]string) map[string]setting {
	out := map[string]setting{}
	for _, info := range knownSettings {
		v, ok := values[info.Name]
		if !ok {
			out[info.Name] = settingFrom(info, nil)
			continue
		}
		out[info.Name] = settingFrom(info, &unstructured.Unstructured{Object: map[string]any{"value": v, "default": info.Default}})
	}
	return out
}

func TestSettingsSetKeepsDefaultsWithinTheirMaximum(t *testing.T) {
	// Rancher 2.8–2.15: no kubeconfig-max, so the token max bounds the
	// kubeconfig default.
	old := settingsOf(map[string]string{"auth-token-max-ttl-minutes": "", "kubeconfig-default-token-ttl-minutes": "", "auth-user-session-ttl-minutes": "", "auth-user-session-idle-ttl-minutes": ""})
	// main: kubeconfig-max exists.
	main := settingsOf(map[string]string{"auth-token-max-ttl-minutes": "", "auth-token-default-ttl-minutes": "", "kubeconfig-max-token-ttl-minutes": "", "kubeconfig-default-token-ttl-minutes": "", "auth-user-session-ttl-minutes": "", "auth-user-session-idle-ttl-minutes": ""})
	cases := []struct {
		cur     map[string]setting
		name    string
		n       int64
		wantErr string
	}{
		{old, "auth-token-max-ttl-minutes", 1000, "would exceed the maximum"},
		{old, "auth-token-max-ttl-minutes", 0, ""}, // unlimited
		{old, "auth-token-max-ttl-minutes", 43200, ""},
		{old, "kubeconfig-default-token-ttl-minutes", 200000, "would exceed the maximum"},
		{old, "kubeconfig-default-token-ttl-minutes", 0, "would exceed the maximum"}, // 0 = never, above a finite max
		{main, "auth-token-max-ttl-minutes", 1000, "would exceed auth-token-max-ttl-minutes"},
		{main, "auth-token-default-ttl-minutes", 200000, "would exceed auth-token-max-ttl-minutes"},
		{main, "auth-token-default-ttl-minutes", 0, ""}, // 0 = the max
		{main, "kubeconfig-max-token-ttl-minutes", 1000, "would exceed the maximum"},
		{main, "auth-user-session-idle-ttl-minutes", 961, "must not be longer than the session"},
		{main, "auth-user-session-idle-ttl-minutes", 0, ""},
		{main, "auth-user-session-ttl-minutes", 100, "must not be longer than the session"},
		{main, "auth-user-session-ttl-minutes", 0, ""},
	}
	for _, c := range cases {
		err := consistency(c.name, c.n, c.cur)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s=%d: %v", c.name, c.n, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s=%d: error %v, want %q", c.name, c.n, err, c.wantErr)
		}
	}
}

func TestSettingFrom(t *testing.T) {
	info, _ := lookupSetting("auth-token-max-ttl-minutes")
	s := settingFrom(info, &unstructured.Unstructured{Object: map[string]any{"value": "", "default": "129600"}})
	if s.Value != "129600" || s.Source != "default" || s.human() != "90d" {
		t.Errorf("default: %+v %s", s, s.human())
	}
	s = settingFrom(info, &unstructured.Unstructured{Object: map[string]any{"value": "0", "default": "129600", "source": "env"}})
	if s.Value != "0" || s.Source != "env CATTLE_AUTH_TOKEN_MAX_TTL_MINUTES" || s.human() != "unlimited" {
		t.Errorf("env: %+v %s", s, s.human())
	}
	if s := settingFrom(info, nil); s.Source != "missing" || s.human() != "-" {
		t.Errorf("missing: %+v", s)
	}
}
