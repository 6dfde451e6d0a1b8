package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// seedWorkers creates objects in parallel; the bench user's client has
// QPS and burst of 5000, so the apiserver and etcd set the pace.
const seedWorkers = 32

// parallel runs fn(i) for i in [0, n) on at most seedWorkers goroutines
// and stops at the first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}

// seedBootstrapTokens creates n bootstrap token Secrets shaped as kubeadm
// writes them: most expire in a day, one in ten never, one in ten expired
// an hour ago, one in five with a description.
func (b *bench) seedBootstrapTokens(ctx context.Context, n int) error {
	secrets := b.cluster.kube.CoreV1().Secrets(metav1.NamespaceSystem)
	now := time.Now()
	return parallel(ctx, n, func(ctx context.Context, i int) error {
		for {
			tok, err := bootstraputil.GenerateBootstrapToken()
			if err != nil {
				return err
			}
			id, secret, _ := strings.Cut(tok, ".")
			data := map[string][]byte{
				bootstrapapi.BootstrapTokenIDKey:               []byte(id),
				bootstrapapi.BootstrapTokenSecretKey:           []byte(secret),
				bootstrapapi.BootstrapTokenUsageAuthentication: []byte("true"),
				bootstrapapi.BootstrapTokenUsageSigningKey:     []byte("true"),
				bootstrapapi.BootstrapTokenExtraGroupsKey:      []byte("system:bootstrappers:kubeadm:default-node-token"),
			}
			switch i % 10 {
			case 0: // never expires
			case 1:
				data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(now.Add(-time.Hour).UTC().Format(time.RFC3339))
			default:
				data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(now.Add(24 * time.Hour).UTC().Format(time.RFC3339))
			}
			if i%5 == 0 {
				data[bootstrapapi.BootstrapTokenDescriptionKey] = []byte(fmt.Sprintf("seeded token %d for the scale benchmark", i))
			}
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.BootstrapTokenSecretPrefix + id, Namespace: metav1.NamespaceSystem},
				Type:       corev1.SecretType(bootstrapapi.SecretTypeBootstrapToken),
				Data:       data,
			}
			_, err = secrets.Create(ctx, s, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // an ID collision: draw again
			}
			return err
		}
	})
}

// seedExtTokens stores n ext tokens the way the Rancher emulator (and
// Rancher) keeps them: one Secret each in cattle-tokens, name token-xxxxx,
// the §2 labels and data keys. Going through the aggregated API would
// only add a SubjectAccessReview per token to the seeding time.
func (b *bench) seedExtTokens(ctx context.Context, n int) error {
	if err := b.cluster.ensureNamespace(ctx, rancher.TokenNamespace); err != nil {
		return err
	}
	secrets := b.cluster.kube.CoreV1().Secrets(rancher.TokenNamespace)
	now := time.Now().UTC()
	users := []string{"u-admin", "u-b4x2k", "u-q7mzc", "u-9tdkw"}
	return parallel(ctx, n, func(ctx context.Context, i int) error {
		user := users[i%len(users)]
		principal, _ := json.Marshal(map[string]any{
			"name": "local://" + user, "displayName": user, "loginName": user, "principalType": "user", "me": true, "provider": "local",
		})
		salt := make([]byte, 8)
		_, _ = rand.Read(salt)
		kind := ""
		if i%3 == 0 {
			kind = "session"
		}
		ttl := int64(90 * 24 * time.Hour / time.Millisecond)
		if i%7 == 0 {
			ttl = -1
		}
		data := map[string]string{
			"cluster":            "",
			"description":        fmt.Sprintf("seeded token %d", i),
			"enabled":            strconv.FormatBool(i%11 != 0),
			"hash":               "$3:1:" + hex.EncodeToString(salt) + ":" + hex.EncodeToString(salt),
			"kind":               kind,
			"last-activity-seen": "",
			"last-update-time":   now.Format(time.RFC3339),
			"last-used-at":       "",
			"principal":          string(principal),
			"ttl":                strconv.FormatInt(ttl, 10),
			"kube-uid":           string(uuid.NewUUID()),
			"user-id":            user,
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: rancher.GeneratePrefix,
				Namespace:    rancher.TokenNamespace,
				Labels: map[string]string{
					rancher.LabelSecretKind: rancher.SecretKindValue,
					rancher.LabelUserID:     user,
					rancher.LabelKind:       kind,
				},
			},
			StringData: data,
		}
		_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
		return err
	})
}

// seedRegistrationTokens creates n ClusterRegistrationTokens in ns (no
// emulator watches it) and gives each the status a Fleet controller
// leaves: secretName and expires.
func (b *bench) seedRegistrationTokens(ctx context.Context, ns string, n int) error {
	if err := b.cluster.ensureNamespace(ctx, ns); err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(b.cluster.cfg)
	if err != nil {
		return err
	}
	ri := dyn.Resource(fleet.GVR).Namespace(ns)
	return parallel(ctx, n, func(ctx context.Context, i int) error {
		ttl := "24h"
		if i%4 == 0 {
			ttl = "720h"
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": fleet.GVR.GroupVersion().String(),
			"kind":       "ClusterRegistrationToken",
			"metadata":   map[string]any{"name": fmt.Sprintf("scale-%05d", i), "namespace": ns},
			"spec":       map[string]any{"ttl": ttl},
		}}
		got, err := ri.Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		if err != nil {
			return err
		}
		d, _ := time.ParseDuration(ttl)
		_ = unstructured.SetNestedField(got.Object, map[string]any{
			"secretName": got.GetName(),
			"expires":    got.GetCreationTimestamp().Add(d).UTC().Format(time.RFC3339),
		}, "status")
		_, err = ri.UpdateStatus(ctx, got, metav1.UpdateOptions{})
		return err
	})
}
