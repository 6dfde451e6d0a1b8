// Package krewmanifest reads and checks krew plugin manifests the way
// krew-index's CI does (krew's structural validation plus the extra checks
// of validate-krew-manifest), so that a manifest that would fail review
// fails our tests first. sigs.k8s.io/krew itself is not available from the
// module proxy, hence this implementation of its published rules.
package krewmanifest

import (
	"bytes"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The values krew accepts.
const (
	APIVersion        = "krew.googlecontainertools.github.com/v1alpha2"
	Kind              = "Plugin"
	ManifestExtension = ".yaml"
)

// Plugin is a krew plugin manifest (plugins/<name>.yaml in krew-index).
type Plugin struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       Spec              `json:"spec"`
}

// Spec is a manifest's spec.
type Spec struct {
	Version          string     `json:"version,omitempty"`
	ShortDescription string     `json:"shortDescription,omitempty"`
	Description      string     `json:"description,omitempty"`
	Caveats          string     `json:"caveats,omitempty"`
	Homepage         string     `json:"homepage,omitempty"`
	Platforms        []Platform `json:"platforms,omitempty"`
}

// Platform is one downloadable archive and the os/arch pairs it serves.
type Platform struct {
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Files    []FileOperation       `json:"files,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Bin      string                `json:"bin,omitempty"`
}

// String shows a platform in error messages: the selector by content, not
// by pointer.
func (p Platform) String() string {
	sel := "<nil>"
	if p.Selector != nil {
		sel = metav1.FormatLabelSelector(p.Selector)
	}
	return fmt.Sprintf("{URI:%s Sha256:%s Files:%v Selector:%s Bin:%s}", p.URI, p.Sha256, p.Files, sel, p.Bin)
}

// FileOperation copies files matching From (a glob in the extracted
// archive) to To (in the install directory). No files at all means
// everything: krew's default is [{from: "*", to: "."}].
type FileOperation struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Parse decodes a manifest strictly: an unknown or misspelt field (say
// `shortdescription`) is an error here rather than a silently empty value.
func Parse(data []byte) (*Plugin, error) {
	var p Plugin
	if err := yaml.UnmarshalStrict(stripBOM(data), &p); err != nil {
		return nil, fmt.Errorf("failed to decode plugin manifest: %w", err)
	}
	return &p, nil
}

// ReadFile reads and decodes the manifest at path.
func ReadFile(path string) (*Plugin, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func stripBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
