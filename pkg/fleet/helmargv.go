package fleet

import "strings"

// The fleet-agent chart's coordinates (docs/fleet-registration.md §3, §6):
// validate.yaml refuses any other release name, and any namespace but
// internal.systemNamespace (AgentNamespace by default).
const (
	HelmRepoName   = "fleet"
	HelmRepoURL    = "https://rancher.github.io/fleet-helm-charts/"
	AgentNamespace = "cattle-fleet-system"
	AgentRelease   = "fleet-agent"
	AgentChart     = "fleet/fleet-agent"
)

// HelmInstall is the helm install of the fleet-agent for one token.
type HelmInstall struct {
	// Namespace is values.yaml's internal.systemNamespace ("" = the
	// chart's default, cattle-fleet-system).
	Namespace string
	Labels    []Label
	// ClientID is the spec.clientID of a Cluster created upstream
	// beforehand ("" = none).
	ClientID string
	// TokenName is set for a values.yaml without tokenName (a ≤v0.15
	// controller): the chart requires it ("" = values.yaml has it).
	TokenName string
	// APIServerURL and APIServerCAFile override values.yaml ("" = leave
	// values.yaml's). The CA goes by file (--set-file): a PEM block on a
	// command line is unreadable and ends up in shell history.
	APIServerURL    string
	APIServerCAFile string
	// ValuesFile is values.yaml's path; "-" makes helm read stdin.
	ValuesFile   string
	ChartVersion string

	// Chart is the chart reference ("" = fleet/fleet-agent): a repository
	// chart, a local directory or .tgz, or an oci:// reference.
	Chart string
	// Upgrade makes the command enroll runs: helm upgrade --install
	// without --wait (registration, not pod readiness, is what enroll
	// waits for), so a second run updates the release in place.
	Upgrade bool
	// KubeContext and Kubeconfig point helm at one downstream cluster
	// ("" = helm's defaults).
	KubeContext string
	Kubeconfig  string
}

// RepoAddArgv is `helm repo add fleet <url>`.
func RepoAddArgv() []string {
	return RepoAddArgvFor(HelmRepoURL)
}

func RepoAddArgvFor(url string) []string {
	return []string{"helm", "repo", "add", HelmRepoName, url}
}

// RepoUpdateArgv refreshes the fleet repository's index. helm repo add of
// a repository already added with the same URL skips without downloading
// the index, so a chart version newer than the cached index (the
// controller's, after an upgrade) would not be found.
func RepoUpdateArgv() []string {
	return []string{"helm", "repo", "update", HelmRepoName}
}

// Argv is the helm install argv. Every --set-string/--set-file argument is
// escaped for helm's own parser (see helmKey/helmValue) and --values for
// its comma-separated list parsing; the shell quoting comes on top when
// printing (shellquote.Join).
//
// clientID and apiServerURL use --set-string rather than the documented
// --set: --set guesses types, so a client ID such as 1234, true or null
// would reach the chart as a number, a bool or nothing.
func (h HelmInstall) Argv() []string {
	ns := h.Namespace
	if ns == "" {
		ns = AgentNamespace
	}
	argv := []string{"helm"}
	if h.KubeContext != "" {
		argv = append(argv, "--kube-context", h.KubeContext)
	}
	if h.Kubeconfig != "" {
		argv = append(argv, "--kubeconfig", flagSafePath(h.Kubeconfig))
	}
	argv = append(argv, "-n", ns)
	if h.Upgrade {
		argv = append(argv, "upgrade", "--install", "--create-namespace")
	} else {
		argv = append(argv, "install", "--create-namespace", "--wait")
	}
	for _, l := range h.Labels {
		argv = append(argv, "--set-string", "labels."+helmKey(l.Key)+"="+helmValue(l.Value))
	}
	if h.ClientID != "" {
		argv = append(argv, "--set-string", "clientID="+helmValue(h.ClientID))
	}
	if h.TokenName != "" {
		argv = append(argv, "--set-string", "tokenName="+helmValue(h.TokenName))
	}
	if h.APIServerURL != "" {
		argv = append(argv, "--set-string", "apiServerURL="+helmValue(h.APIServerURL))
	}
	if h.APIServerCAFile != "" {
		argv = append(argv, "--set-file", "apiServerCA="+helmValue(h.APIServerCAFile))
	}
	argv = append(argv, "--values", helmListItem(flagSafePath(h.ValuesFile)))
	if h.ChartVersion != "" {
		argv = append(argv, "--version", h.ChartVersion)
	}
	chart := h.Chart
	if chart == "" {
		chart = AgentChart
	}
	return append(argv, AgentRelease, flagSafePath(chart))
}

// helmKey escapes one key segment for helm's --set parser, which splits
// keys on '.', starts list indexes at '[', ends keys at '=' and pairs at
// ',' and takes '\' as an escape: a label key like example.com/tier must
// stay one key under labels.
func helmKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.[=,`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// helmValue escapes a value for helm's --set parser: ',' would start the
// next pair, '\' escapes, and a leading '{' would make a list.
func helmValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == '\\' || r == ',' || (i == 0 && r == '{') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// helmListItem makes a path one item of helm's --values list, which pflag
// reads as one CSV record: fields holding ',', '"' or line breaks are
// quoted.
func helmListItem(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// flagSafePath keeps a relative path that starts with '-' from reading as
// an option.
func flagSafePath(p string) string {
	if strings.HasPrefix(p, "-") && p != "-" {
		return "./" + p
	}
	return p
}
