package fleet

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
)

// ChartRef is enroll's --chart: a chart from a helm repository
// (REPO/CHART; fleet/... gets a helm repo add), a local directory or
// archive, or an oci:// reference.
type ChartRef struct {
	ref   string
	repo  string // REPO of REPO/CHART; "" otherwise
	local bool
	oci   bool
}

func ParseChart(ref string) ChartRef {
	c := ChartRef{ref: ref}
	switch {
	case strings.HasPrefix(ref, "oci://"):
		c.oci = true
	case strings.HasSuffix(ref, ".tgz"), strings.HasPrefix(ref, "."), strings.HasPrefix(ref, "/"):
		c.local = true
	default:
		if _, err := os.Stat(ref); err == nil {
			// helm prefers a local path of that name, too.
			c.local = true
		} else if repo, _, ok := strings.Cut(ref, "/"); ok {
			c.repo = repo
		}
	}
	return c
}

// validate checks the chart flags together, before any request.
func (c ChartRef) validate(version, repoURL string) error {
	switch {
	case c.ref == "":
		return fmt.Errorf("--chart is empty: pass %s, a local chart, or an oci:// reference", AgentChart)
	case c.local:
		if _, err := os.Stat(c.ref); err != nil {
			return fmt.Errorf("--chart %s: %s; pass an existing chart directory or .tgz", c.ref, apierror.PathCause(err))
		}
		if version != "" {
			return fmt.Errorf("--chart-version %s does not apply to the local chart %s, which has its own version: leave out --chart-version", version, c.ref)
		}
	case !c.oci && c.repo == "":
		return fmt.Errorf("--chart %q is not REPO/CHART, a local chart (./dir, .tgz) or an oci:// reference: pass e.g. %s", c.ref, AgentChart)
	}
	if repoURL != HelmRepoURL {
		if c.repo != HelmRepoName {
			return fmt.Errorf("--repo-url is the URL of the helm repository %q, which --chart %s does not use: leave out --repo-url", HelmRepoName, c.ref)
		}
		u, err := url.Parse(repoURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--repo-url %q is not an http(s) URL: pass the fleet helm repository, e.g. %s", repoURL, HelmRepoURL)
		}
	}
	return nil
}
