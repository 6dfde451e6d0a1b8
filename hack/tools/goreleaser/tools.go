//go:build tools

// Package tools pins goreleaser, which builds the release archives and the
// krew manifests. It lives in its own module so that goreleaser's many
// dependencies never move the k8s.io pins of hack/tools or of the plugins.
package tools

import (
	_ "github.com/goreleaser/goreleaser/v2"
)
