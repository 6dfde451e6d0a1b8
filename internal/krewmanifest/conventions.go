package krewmanifest

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Review conventions of krew-index maintainers, beyond what the validator
// enforces; a manifest breaking them gets a change request.
const (
	// MaxShortDescription is where `kubectl krew search` cuts.
	MaxShortDescription = 50
	// MaxLineWidth is the column description and caveats are wrapped at.
	MaxLineWidth = 80
)

var (
	// "kubectl" and "Kubernetes" say nothing in a list of kubectl plugins.
	fillerWord = regexp.MustCompile(`(?i)\b(kubectl|kubernetes)\b`)
	// A flag such as --ttl or -n in the description is usage, not a summary.
	flagWord = regexp.MustCompile(`(^|\s)--?[a-zA-Z][\w-]*`)
)

// CheckConventions returns every review convention p breaks, joined: a
// short description of at most 50 characters without a trailing period or
// filler words, a description wrapped at 80 columns without usage examples
// or flags, caveats wrapped at 80 columns, and a homepage URL.
func CheckConventions(p *Plugin) error {
	var errs []error
	s := p.Spec
	if n := utf8.RuneCountInString(s.ShortDescription); n > MaxShortDescription {
		errs = append(errs, fmt.Errorf("shortDescription is %d characters long, more than %d: kubectl krew search cuts it", n, MaxShortDescription))
	}
	if strings.HasSuffix(strings.TrimSpace(s.ShortDescription), ".") {
		errs = append(errs, errors.New("shortDescription ends with a period"))
	}
	if w := fillerWord.FindString(s.ShortDescription); w != "" {
		errs = append(errs, fmt.Errorf("shortDescription says %q: every plugin in the index is one", w))
	}
	if strings.TrimSpace(s.Description) == "" {
		errs = append(errs, errors.New("description is empty"))
	}
	errs = append(errs, checkWrapped("description", s.Description)...)
	for i, line := range strings.Split(s.Description, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "$ "), strings.HasPrefix(t, "kubectl "), strings.HasPrefix(t, "#"):
			errs = append(errs, fmt.Errorf("description line %d looks like a usage example (%q): examples belong in the plugin's help", i+1, t))
		case flagWord.MatchString(t):
			errs = append(errs, fmt.Errorf("description line %d names a flag (%q): flags belong in the plugin's help", i+1, strings.TrimSpace(flagWord.FindString(t))))
		}
	}
	errs = append(errs, checkWrapped("caveats", s.Caveats)...)
	if u, err := url.Parse(s.Homepage); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("homepage %q is not an https URL", s.Homepage))
	}
	return errors.Join(errs...)
}

func checkWrapped(field, text string) []error {
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > MaxLineWidth {
			errs = append(errs, fmt.Errorf("%s line %d is %d columns wide, more than %d", field, i+1, n, MaxLineWidth))
		}
	}
	return errs
}
