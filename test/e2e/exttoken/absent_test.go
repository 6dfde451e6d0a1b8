//go:build e2e

package exttoken

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// notServedLine is what every ext token command says on a cluster without
// Rancher's ext token API (no APIService v1.ext.cattle.io).
const notServedLine = "Rancher's ext token API is not served by this cluster"

// TestExtAPINotInstalled runs first (its file sorts first): the emulator
// has not registered its APIService yet. Run alone after other tests, it
// unregisters the APIService and registers it again afterwards.
func TestExtAPINotInstalled(t *testing.T) {
	admin := env.Kubeconfig
	if emu != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := emu.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := emu.Register(ctx); err != nil {
				t.Errorf("registering the emulator again: %v", err)
			}
		}()
		// kube-apiserver drops the proxy route when its informer sees the
		// deletion; give that a bounded moment rather than assert timing.
		for i := 0; i < 50 && !strings.Contains(kubectl(admin, "exttoken", "list").Stderr, notServedLine); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	u := newUser(t, "absent", rancher.UserOptions{})
	for _, args := range [][]string{
		{"exttoken", "list"},
		{"exttoken", "list", "-o", "yaml"},
		{"exttoken", "get", "token-abcde"},
		{"exttoken", "describe", "token-abcde"},
		{"exttoken", "create", "--ttl", "1h"},
		{"exttoken", "delete", "--expired"},
		{"exttoken", "set-ttl", "token-abcde", "1h"},
		{"exttoken", "disable", "token-abcde"},
	} {
		for _, kc := range []string{admin, u.Kubeconfig} {
			res := kubectl(kc, args...)
			wantOneErrorLine(t, res, notServedLine)
		}
	}
	// The legacy audit and the settings do not need the ext API.
	mustRun(t, admin, "exttoken", "settings")
	mustRun(t, admin, "exttoken", "legacy", "list")
}
