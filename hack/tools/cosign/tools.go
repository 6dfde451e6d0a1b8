//go:build tools

// Package tools pins cosign, which signs the release's checksums.txt and
// image (.goreleaser.yaml signs:, hack/release-snapshot.sh); hack/tools.sh
// builds it from this module. The release workflow installs the same
// version (sigstore/cosign-installer, cosign-release).
package tools

import _ "github.com/sigstore/cosign/v2/cmd/cosign"
