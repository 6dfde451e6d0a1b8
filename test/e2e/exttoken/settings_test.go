//go:build e2e

package exttoken

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

func settingValue(t *testing.T, name string) string {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	u, err := dyn.Resource(rancher.SettingsGVR).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := u.Object["value"].(string)
	return v
}

func resetSetting(t *testing.T, name string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	if _, err := dyn.Resource(rancher.SettingsGVR).Patch(context.Background(), name, types.MergePatchType, []byte(`{"value":""}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSettings(t *testing.T) {
	emulator(t)
	res := mustRun(t, env.Kubeconfig, "exttoken", "settings")
	for _, want := range []string{"NAME", "VALUE", "DEFAULT", "SOURCE", "DURATION",
		"auth-token-max-ttl-minutes", "kubeconfig-default-token-ttl-minutes", "auth-user-session-ttl-minutes",
		"auth-user-session-idle-ttl-minutes", "kubeconfig-generate-token", "auth-token-default-ttl-minutes",
		"Feature token-hashing: disabled", "irreversible"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("settings lacks %q:\n%s", want, res.Stdout)
		}
	}
	for _, l := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(l, "auth-token-max-ttl-minutes ") && len(strings.Fields(l)) == 5 && strings.Fields(l)[4] != "90d" {
			t.Errorf("max TTL row %q: want 90d", l)
		}
	}
	yaml := mustRun(t, env.Kubeconfig, "exttoken", "settings", "-o", "yaml").Stdout
	if !strings.Contains(yaml, "kind: Setting") || !strings.Contains(yaml, "kind: Feature") {
		t.Errorf("settings -o yaml:\n%s", yaml)
	}

	// Validation: nothing is sent for a bad value.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"auth-token-max-ttl-minutes", "--", "-5"}, "cannot be negative"},
		{[]string{"auth-token-max-ttl-minutes", "abc"}, "whole minutes"},
		{[]string{"auth-token-max-ttl-minutes", "90s"}, "whole minutes"},
		{[]string{"no-such-setting", "5"}, "unknown setting"},
		{[]string{"kubeconfig-generate-token", "maybe"}, "true or false"},
		{[]string{"kubeconfig-default-token-ttl-minutes", "200000"}, "would exceed the maximum"},
		{[]string{"kubeconfig-default-token-ttl-minutes", "0"}, "would exceed the maximum"},
		{[]string{"auth-user-session-idle-ttl-minutes", "2000"}, "must not be longer than the session"},
		{[]string{"auth-user-session-ttl-minutes", "100"}, "must not be longer than the session"},
		{[]string{"kubeconfig-max-token-ttl-minutes", "1000"}, "would exceed the maximum"},
	} {
		wantOneErrorLine(t, kubectl(env.Kubeconfig, append([]string{"exttoken", "settings", "set"}, c.args...)...), c.want)
		if c.args[0] == "no-such-setting" {
			continue
		}
		if v := settingValue(t, c.args[0]); v != "" {
			t.Errorf("a refused set changed %s to %q", c.args[0], v)
		}
	}

	// A maximum below the token default is refused, as the help says
	// (it used to be set with only a note).
	wantOneErrorLine(t, kubectl(env.Kubeconfig, "exttoken", "settings", "set", "auth-token-max-ttl-minutes", "60d"),
		"auth-token-default-ttl-minutes (129600 = 90d) would exceed auth-token-max-ttl-minutes (86400 = 60d)")
	if v := settingValue(t, "auth-token-max-ttl-minutes"); v != "" {
		t.Errorf("a refused set changed the maximum to %q", v)
	}

	// A valid change, and its effect on new tokens.
	t.Cleanup(func() {
		resetSetting(t, "auth-token-max-ttl-minutes")
		resetSetting(t, "auth-token-default-ttl-minutes")
	})
	mustRun(t, env.Kubeconfig, "exttoken", "settings", "set", "auth-token-default-ttl-minutes", "30d")
	res = mustRun(t, env.Kubeconfig, "exttoken", "settings", "set", "auth-token-max-ttl-minutes", "60d")
	if !strings.Contains(res.Stdout, "set to 86400 (60d)") || settingValue(t, "auth-token-max-ttl-minutes") != "86400" {
		t.Errorf("set 60d: %s", res)
	}
	u := newUser(t, "settings", rancher.UserOptions{})
	res = mustRun(t, u.Kubeconfig, "exttoken", "create", "--ttl", "90d", "-o", "json")
	if !strings.Contains(res.Stderr, "clamped to 60d") || !strings.Contains(res.Stdout, `"ttl": 5184000000`) {
		t.Errorf("create under a 60d max: %s", res)
	}
	// Regular users read the settings but may not change them.
	mustRun(t, u.Kubeconfig, "exttoken", "settings")
	wantOneErrorLine(t, kubectl(u.Kubeconfig, "exttoken", "settings", "set", "auth-token-max-ttl-minutes", "100d"), "forbidden", "kubectl auth can-i patch settings.management.cattle.io")

	// token-hashing on: the line says it cannot be undone.
	dyn := dynamic.NewForConfigOrDie(env.Config)
	fr := dyn.Resource(rancher.FeaturesGVR)
	if _, err := fr.Patch(context.Background(), "token-hashing", types.MergePatchType, []byte(`{"spec":{"value":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = fr.Patch(context.Background(), "token-hashing", types.MergePatchType, []byte(`{"spec":{"value":null}}`), metav1.PatchOptions{})
	})
	if out := mustRun(t, env.Kubeconfig, "exttoken", "settings").Stdout; !strings.Contains(out, "Feature token-hashing: enabled") || !strings.Contains(out, "cannot be turned off") {
		t.Errorf("token-hashing on:\n%s", out)
	}
}
