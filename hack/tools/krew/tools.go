//go:build tools

// Package tools pins krew and its manifest validator, which test/release and
// make release-check run on the krew manifests of a snapshot release. They
// live in their own module: krew's dependencies (an old k8s.io/client-go)
// must never move the k8s.io pins of the plugins or of the other tools.
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
