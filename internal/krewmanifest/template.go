package krewmanifest

import (
	"bytes"
	"fmt"
	"text/template"
)

// SumFunc returns the SHA-256 (hex) of the asset at url.
type SumFunc func(url string) (string, error)

// RenderTemplate renders a krew-release-bot template (krew-manifests/*.yaml)
// for tag as the bot does when a release is published: .TagName is the
// tag; {{ addURIAndSha "URL" .TagName }} expands the template URL (which
// may itself use .TagName) into a `uri:` line and a `sha256:` line
// indented by four spaces, taking the digest from sum. The bot downloads
// each asset for its digest; tests pass the digests of local archives or
// fakes. Only what our templates use is supported.
func RenderTemplate(text []byte, tag string, sum SumFunc) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(rawURL, tag string) (string, error) {
			u, err := expandURL(rawURL, tag)
			if err != nil {
				return "", err
			}
			s, err := sum(u)
			if err != nil {
				return "", fmt.Errorf("sha256 of %s: %w", u, err)
			}
			return "uri: " + u + "\n    sha256: " + s, nil
		},
	}
	t, err := template.New("manifest").Funcs(funcs).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// expandURL applies the inner template of addURIAndSha's URL argument.
func expandURL(rawURL, tag string) (string, error) {
	t, err := template.New("url").Option("missingkey=error").Parse(rawURL)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		return "", err
	}
	return buf.String(), nil
}
