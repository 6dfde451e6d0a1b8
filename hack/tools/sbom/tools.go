//go:build tools

// Package tools pins cyclonedx-gomod, which writes the release's SBOMs
// (hack/sbom.sh); hack/tools.sh builds it from this module.
package tools

import _ "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod"
