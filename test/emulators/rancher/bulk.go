package rancher

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// Tokens by the hundred thousand (rancher/rancher#37705) are seeded
// straight into storage, in parallel, not through the ext API or a
// plugin: an ext token is its Secret in cattle-tokens (§2), written by the
// same toSecret the emulator stores with, and a v3 token is its CRD
// object (§7).

// BulkWorkers is how many creates SeedTokens and SeedLegacyTokens keep in
// flight; the apiserver and etcd, not the client, set the pace.
const BulkWorkers = 32

// BulkToken is an ext token to seed.
type BulkToken struct {
	User, Kind, Description string
	TTL                     int64 // ms; <0 never expires
	LastUsed                time.Time
	Labels                  map[string]string
}

// SeedTokens stores n ext tokens, token(i) describing the i-th, and
// returns their names in order.
func SeedTokens(ctx context.Context, cfg *rest.Config, n int, token func(i int) BulkToken) ([]string, error) {
	core, err := corev1client.NewForConfig(bulkConfig(cfg))
	if err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: TokenNamespace}}
	if _, err := core.Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	names := make([]string, n)
	now := time.Now()
	err = inParallel(ctx, n, func(ctx context.Context, i int) error {
		b := token(i)
		enabled := true
		t := &Token{Spec: TokenSpec{UserID: b.User, Kind: b.Kind, Description: b.Description, TTL: b.TTL, Enabled: &enabled,
			UserPrincipal: TokenPrincipal{Name: "local://" + b.User, DisplayName: b.User, LoginName: b.User, PrincipalType: "user", Provider: "local"}}}
		t.UID = uuid.NewUUID()
		t.Labels = b.Labels
		t.Status.Hash = "$3:1:c2VlZA:c2VlZGVk"
		t.Status.LastUpdateTime = now.UTC().Format(time.RFC3339)
		if !b.LastUsed.IsZero() {
			lu := metav1.NewTime(b.LastUsed)
			t.Status.LastUsedAt = &lu
		}
		s, err := toSecret(t)
		if err != nil {
			return err
		}
		s.GenerateName = GeneratePrefix
		got, err := core.Secrets(TokenNamespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("seeding ext token %d: %w", i, err)
		}
		names[i] = got.Name
		return nil
	})
	return names, err
}

// SeedLegacyTokens creates n v3 tokens, token(i) describing the i-th.
func SeedLegacyTokens(ctx context.Context, cfg *rest.Config, n int, token func(i int) LegacyToken) error {
	dyn, err := dynamic.NewForConfig(bulkConfig(cfg))
	if err != nil {
		return err
	}
	ri := dyn.Resource(V3TokensGVR)
	return inParallel(ctx, n, func(ctx context.Context, i int) error {
		_, err := ri.Create(ctx, &unstructured.Unstructured{Object: legacyObject(token(i))}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("seeding v3 token %d: %w", i, err)
		}
		return nil
	})
}

// bulkConfig lifts client-go's default 5 requests per second.
func bulkConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 5000, 5000
	return c
}

// inParallel runs fn(i) for i in [0, n) on at most BulkWorkers goroutines
// and stops at the first error.
func inParallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(BulkWorkers)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}
