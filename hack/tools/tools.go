//go:build tools

// Package tools pins the control-plane binaries the tests run: the real
// kube-apiserver, etcd, kubeadm and kube-controller-manager, built from
// the module proxy.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubeadm"
)
