package rancher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Rancher's webhook records who created a provisioning cluster in
// annotation field.cattle.io/creatorId (§13); the import side makes that
// user the cluster's owner. The emulator registers a real mutating
// webhook for its workspace, served on its HTTPS listener.

const webhookPath = "/v1/webhook/mutation/provisioning.cattle.io.clusters"

func (im *Importer) webhookName() string { return "rancher.cattle.io-" + im.opts.Workspace }

// installWebhook registers the webhook for the workspace's provisioning
// clusters and waits until the apiserver calls it (a server dry run of a
// create comes back annotated).
func (im *Importer) installWebhook(ctx context.Context) error {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	url := im.URL + webhookPath
	timeout := int32(10)
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: im.webhookName()},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "rancher.cattle.io.clusters.provisioning.cattle.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: im.CAPEM},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          &timeout,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				"kubernetes.io/metadata.name": im.opts.Workspace,
			}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{ProvisioningGroup}, APIVersions: []string{"v1"}, Resources: []string{"clusters"}},
			}},
		}},
	}
	hooks := im.kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := hooks.Create(ctx, cfg, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("webhook: %w", err)
	}
	// The apiserver picks webhook configurations up from an informer:
	// probe with server dry runs until one comes back annotated.
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "provisioning.cattle.io/v1", "kind": "Cluster",
		"metadata": map[string]any{"name": "webhook-probe"}, "spec": map[string]any{},
	}}
	for {
		got, err := im.dyn.Resource(ProvisioningClustersGVR).Namespace(im.opts.Workspace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.GetAnnotations()[CreatorAnnotation] != "" {
			return nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return fmt.Errorf("webhook %s never answered: %w", im.webhookName(), errors.Join(err, ctx.Err()))
		}
	}
}

func (im *Importer) removeWebhook() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = im.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, im.webhookName(), metav1.DeleteOptions{})
}

// serveWebhook annotates a new provisioning cluster with its creator.
func (im *Importer) serveWebhook(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyLen))
	if err == nil {
		err = json.Unmarshal(body, &review)
	}
	if err != nil || review.Request == nil {
		http.Error(w, "invalid AdmissionReview", http.StatusBadRequest)
		return
	}
	var obj struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	_ = json.Unmarshal(review.Request.Object.Raw, &obj)
	user := review.Request.UserInfo.Username
	var patch []map[string]any
	if obj.Metadata.Annotations == nil {
		patch = []map[string]any{{"op": "add", "path": "/metadata/annotations", "value": map[string]string{CreatorAnnotation: user}}}
	} else {
		key := strings.ReplaceAll(strings.ReplaceAll(CreatorAnnotation, "~", "~0"), "/", "~1")
		patch = []map[string]any{{"op": "add", "path": "/metadata/annotations/" + key, "value": user}}
	}
	raw, _ := json.Marshal(patch)
	pt := admissionv1.PatchTypeJSONPatch
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: raw, PatchType: &pt}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
