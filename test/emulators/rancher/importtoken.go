package rancher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// Keys of the crt-token-<name> Secret (§13).
const (
	keyToken         = "token"
	keyPreviousToken = "previousToken"
	keyExpiresAt     = "expiresAt"
	keyGraceExpires  = "gracePeriodExpiresAt"
)

// tokenPlaceholder is what the command fields hold instead of the token
// from 2.13.8/2.14.4/2.15.0: only Rancher's own API layers fill it in.
const tokenPlaceholder = "{token}"

// importTokens is what the import side knows of a cluster's token.
type importTokens struct {
	current, previous     string
	expiresAt, graceUntil time.Time // zero without rotation
}

// valid says whether token opens the cluster's import at now: the current
// token, or the previous one within its grace period.
func (t importTokens) valid(token string, now time.Time) bool {
	switch {
	case token == "":
		return false
	case token == t.current:
		return true
	case token == t.previous && now.Before(t.graceUntil):
		return true
	}
	return false
}

// expiry is the token's lifetime from now on 2.15 (ttl plus a jitter of
// at most 10 % of it, capped at 24 h), zero without rotation.
func (im *Importer) expiry(now time.Time) time.Time {
	if !im.opts.Release.rotates() {
		return time.Time{}
	}
	ttl := time.Duration(im.opts.TTLMinutes) * time.Minute
	jitter := min(ttl/10, 24*time.Hour)
	if jitter > 0 {
		jitter = time.Duration(rand.Int64N(int64(jitter)))
	}
	return now.Add(ttl + jitter).UTC().Truncate(time.Second)
}

// createToken creates the cluster's default-token as this release does.
func (im *Importer) createToken(ctx context.Context, id string) error {
	now := im.now()
	t := importTokens{current: utilrand.String(54), expiresAt: im.expiry(now)}
	crt := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "management.cattle.io/v3", "kind": "ClusterRegistrationToken",
		"metadata": map[string]any{"name": DefaultTokenName, "namespace": id},
		"spec":     map[string]any{"clusterName": id},
	}}
	if im.opts.Release.tokenInSecret() {
		spec := crt.Object["spec"].(map[string]any)
		spec["ttl"], spec["gracePeriod"] = int64(im.opts.TTLMinutes), int64(im.opts.GraceMinutes)
		if err := im.writeTokenSecret(ctx, id, t, true); err != nil {
			return err
		}
	}
	crt.Object["status"] = im.tokenStatus(id, t)
	if _, err := im.dyn.Resource(ImportTokensGVR).Namespace(id).Create(ctx, crt, metav1.CreateOptions{}); err != nil {
		return err
	}
	im.logf("import token %s/%s created", id, DefaultTokenName)
	return nil
}

// tokenStatus is the CRT status of this release: the commands with the
// token, or from 2.13.8 with {token} and the Secret's name.
func (im *Importer) tokenStatus(id string, t importTokens) map[string]any {
	shown := t.current
	if im.opts.Release.tokenInSecret() {
		shown = tokenPlaceholder
	}
	url := fmt.Sprintf("%s/v3/import/%s_%s.yaml", im.URL, shown, id)
	st := map[string]any{
		"manifestUrl":     url,
		"command":         "kubectl apply -f " + url,
		"insecureCommand": "curl --insecure -sfL " + url + " | kubectl apply -f -",
		"nodeCommand": fmt.Sprintf("sudo docker run -d --privileged --restart=unless-stopped --net=host -v /etc/kubernetes:/etc/kubernetes -v /var/run:/var/run rancher/rancher-agent:v%s --server %s --token %s --ca-checksum %s",
			im.opts.Release, im.URL, shown, checksum(im.CAPEM)),
		"windowsNodeCommand": fmt.Sprintf(`PowerShell -NoLogo -NonInteractive -Command "& {docker run -v c:\:c:\host rancher/rancher-agent:v%s bootstrap --server %s --token %s --ca-checksum %s | iex}"`,
			im.opts.Release, im.URL, shown, checksum(im.CAPEM)),
	}
	if im.opts.Release.tokenInSecret() {
		st["tokenSecretName"] = TokenSecretPrefix + DefaultTokenName
	} else {
		st["token"] = t.current
	}
	if !t.expiresAt.IsZero() {
		st["expiresAt"] = t.expiresAt.Format(time.RFC3339)
	}
	if !t.graceUntil.IsZero() {
		st["gracePeriodExpiresAt"] = t.graceUntil.Format(time.RFC3339)
	}
	return st
}

// writeTokenSecret stores t in Secret crt-token-default-token of id.
func (im *Importer) writeTokenSecret(ctx context.Context, id string, t importTokens, create bool) error {
	data := map[string][]byte{keyToken: []byte(t.current)}
	if t.previous != "" {
		data[keyPreviousToken] = []byte(t.previous)
	}
	if !t.expiresAt.IsZero() {
		data[keyExpiresAt] = []byte(t.expiresAt.Format(time.RFC3339))
	}
	if !t.graceUntil.IsZero() {
		data[keyGraceExpires] = []byte(t.graceUntil.Format(time.RFC3339))
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: TokenSecretPrefix + DefaultTokenName, Namespace: id},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	secrets := im.kube.CoreV1().Secrets(id)
	if create {
		_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
		return err
	}
	_, err := secrets.Update(ctx, s, metav1.UpdateOptions{})
	return err
}

// readTokens reads the cluster's import token where this release keeps
// it; on 2.15 a token past its expiry is rotated first, as Rancher's
// rotation would have done by then. found is false for an unknown
// cluster.
func (im *Importer) readTokens(ctx context.Context, id string) (t importTokens, found bool, err error) {
	crt, err := im.dyn.Resource(ImportTokensGVR).Namespace(id).Get(ctx, DefaultTokenName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	if !im.opts.Release.tokenInSecret() {
		t.current, _, _ = unstructured.NestedString(crt.Object, "status", "token")
		return t, true, nil
	}
	s, err := im.kube.CoreV1().Secrets(id).Get(ctx, TokenSecretPrefix+DefaultTokenName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	t.current, t.previous = string(s.Data[keyToken]), string(s.Data[keyPreviousToken])
	t.expiresAt, _ = time.Parse(time.RFC3339, string(s.Data[keyExpiresAt]))
	t.graceUntil, _ = time.Parse(time.RFC3339, string(s.Data[keyGraceExpires]))
	if im.opts.Release.rotates() && !t.expiresAt.IsZero() && !im.now().Before(t.expiresAt) {
		return im.rotate(ctx, id, t)
	}
	return t, true, nil
}

// Rotate does to the cluster's import token what its expiry does on 2.15:
// a new token, the old one kept as previousToken until the grace period
// (crt-default-grace-period-minutes) is over. Other releases refuse.
func (im *Importer) Rotate(ctx context.Context, id string) error {
	if !im.opts.Release.rotates() {
		return fmt.Errorf("rancher import emulator: %s does not rotate import tokens", im.opts.Release)
	}
	t, found, err := im.readTokens(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("rancher import emulator: cluster %s has no import token", id)
	}
	_, _, err = im.rotate(ctx, id, t)
	return err
}

func (im *Importer) rotate(ctx context.Context, id string, t importTokens) (importTokens, bool, error) {
	now := im.now()
	t = importTokens{
		current:    utilrand.String(54),
		previous:   t.current,
		expiresAt:  im.expiry(now),
		graceUntil: now.Add(time.Duration(im.opts.GraceMinutes) * time.Minute).UTC().Truncate(time.Second),
	}
	if err := im.writeTokenSecret(ctx, id, t, false); err != nil {
		return t, false, err
	}
	status := im.tokenStatus(id, t)
	crts := im.dyn.Resource(ImportTokensGVR).Namespace(id)
	crt, err := crts.Get(ctx, DefaultTokenName, metav1.GetOptions{})
	if err != nil {
		return t, false, err
	}
	crt.Object["status"] = status
	if _, err := crts.Update(ctx, crt, metav1.UpdateOptions{}); err != nil {
		return t, false, err
	}
	im.logf("import token of %s rotated; the previous one works until %s", id, t.graceUntil.Format(time.RFC3339))
	return t, true, nil
}

// clusterOfToken finds the cluster a token opens (the agent's tunnel
// names no cluster: the token does).
func (im *Importer) clusterOfToken(ctx context.Context, token string) (string, error) {
	list, err := im.dyn.Resource(ImportTokensGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	now := im.now()
	for _, crt := range list.Items {
		if crt.GetName() != DefaultTokenName || !strings.HasPrefix(crt.GetNamespace(), "c-") {
			continue
		}
		t, found, err := im.readTokens(ctx, crt.GetNamespace())
		if err != nil {
			return "", err
		}
		if found && t.valid(token, now) {
			return crt.GetNamespace(), nil
		}
	}
	return "", nil
}
