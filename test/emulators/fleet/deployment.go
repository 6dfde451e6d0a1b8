package fleet

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ControllerDeploymentName is the controller's Deployment in the
	// system namespace; clients read its image tag (the controller's
	// version) and its env (docs/fleet-registration.md §6).
	ControllerDeploymentName = "fleet-controller"
	// TTLRequiredEnv is set to "true" on that Deployment when the
	// controller requires a TTL on registration tokens.
	TTLRequiredEnv = "FLEET_REGISTRATION_TOKEN_TTL_REQUIRED"
)

// installDeployment creates or updates the fleet-controller Deployment
// when Options.ControllerImage is set, so its image and env agree with the
// emulator's mode. Nothing schedules its pod: there is no kubelet.
func (e *Emulator) installDeployment(ctx context.Context) error {
	if e.opts.ControllerImage == "" {
		return nil
	}
	// As the fleet chart v0.16.1 renders it: three containers of the
	// same image, the TTL setting on agent management's, always present
	// ("true" or "false"); a legacy (≤v0.15) controller has neither the
	// third container nor the setting.
	containers := []corev1.Container{{Name: "fleet-controller", Image: e.opts.ControllerImage}, {Name: "fleet-cleanup", Image: e.opts.ControllerImage}}
	if !e.opts.Legacy {
		required := "false"
		if e.ttlRequired.Load() {
			required = "true"
		}
		containers = append(containers, corev1.Container{Name: "fleet-agentmanagement", Image: e.opts.ControllerImage, Env: []corev1.EnvVar{{Name: TTLRequiredEnv, Value: required}}})
	}
	labels := map[string]string{"app": "fleet-controller"}
	want := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ControllerDeploymentName, Namespace: e.opts.SystemNamespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: containers},
			},
		},
	}
	deployments := e.kube.AppsV1().Deployments(e.opts.SystemNamespace)
	_, err := deployments.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var got *appsv1.Deployment
		if got, err = deployments.Get(ctx, ControllerDeploymentName, metav1.GetOptions{}); err == nil {
			got.Spec.Template.Spec.Containers = want.Spec.Template.Spec.Containers
			_, err = deployments.Update(ctx, got, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("fleet emulator: Deployment %s/%s: %w", e.opts.SystemNamespace, ControllerDeploymentName, err)
	}
	return nil
}
