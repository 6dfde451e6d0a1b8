//go:build tools

// Package tools pins helm (helm.sh/helm/v3) for the tests that run the
// helm commands regtoken prints through a real helm. helm has its own tools
// module so that its k8s.io versions never move the plugins' pins.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
