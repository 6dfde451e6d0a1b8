package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// DefaultValuesFile is values.yaml in the current directory, the name the
// Fleet docs and the printed helm command use.
const DefaultValuesFile = "values.yaml"

// ValuesMode says what a command does with --values-file.
type ValuesMode int

const (
	// writeValues: create and values write the file (or stdout for -).
	WriteValues ValuesMode = iota
	// nameValues: helm only names it in the printed command.
	NameValues
)

// InstallOptions are the values-file and helm flags shared by create, values
// and helm, and the code that turns a values Secret into values.yaml and
// the helm commands.
type InstallOptions struct {
	ValuesFile      string
	Force           bool
	Labels          []string
	ClientID        string
	APIServerURL    string
	APIServerCAFile string
	ChartVersion    string

	Mode ValuesMode
	// Inline makes Finish write no file: the values, with apiServerURL
	// and apiServerCA filled in, go into the Result (StdoutValues) for a
	// manifest that carries them (k3smanifest.go).
	Inline bool

	// Resolved by complete.
	labels        []Label
	labelWarnings []string
	urlWarnings   []string
	flagCA        []byte // --api-server-ca-file's PEM
	cluster       kubeconfig.Cluster
	kubeCA        []byte // the kubeconfig cluster's PEM CA; nil when it has none
	core          corev1client.CoreV1Interface
}

// Complete parses the labels, reads the CA files and resolves the clients
// finish needs, so that a bad CA or label is refused before any request.
func (o *InstallOptions) Complete(f cli.Clients) error {
	var err error
	if err := o.CompleteLabels(); err != nil {
		return err
	}
	if o.APIServerCAFile != "" {
		b, err := kubeconfig.ReadCAFile(o.APIServerCAFile, "--api-server-ca-file")
		if err != nil {
			return fmt.Errorf("%w (a kubeconfig's certificate-authority-data is base64 of the PEM: decode it with base64 -d)", err)
		}
		o.flagCA = b.PEM
	}
	if o.cluster, err = f.CurrentCluster(); err != nil {
		return err
	}
	if o.APIServerCAFile == "" && o.cluster.HasCA() {
		// Read now: a CA that turns out unusable after the token exists
		// would leave it behind.
		b, err := o.cluster.CA()
		if err != nil {
			return apierror.Explained(err, "the CA of %s cannot be used for the agent: %s; pass --api-server-ca-file with the Fleet manager's CA (PEM)", o.cluster.Where(), err)
		}
		o.kubeCA = b.PEM
	}
	o.core, err = f.CoreV1()
	return err
}

// CompleteLabels parses --label; it is all a run that fetches no values
// needs.
func (o *InstallOptions) CompleteLabels() error {
	var err error
	o.labels, o.labelWarnings, err = ParseLabels(o.Labels)
	return err
}

// Labels are the parsed --label flags, in the order given.
func (o *InstallOptions) ParsedLabels() []Label { return o.labels }

// FlagWarnings are the warnings about the flags themselves (label keys
// Fleet drops, an apiServerURL with a path), for dry runs as for real ones.
func (o *InstallOptions) FlagWarnings() []string {
	return append(slices.Clone(o.labelWarnings), o.urlWarnings...)
}

// ValidateFlags is what Validate checks of the flags alone, for a run
// that writes no file (a dry run, --no-wait).
func (o *InstallOptions) ValidateFlags() error {
	if err := CheckClientID(o.ClientID); err != nil {
		return err
	}
	return o.checkAPIServerURL()
}

// checkAPIServerURL refuses an apiServerURL the agent cannot use: not
// https (the agent sends its token to it), or no host; and warns about a
// path, which is a proxy in front of the API server (e.g. Rancher's
// /k8s/clusters/local) that the agent's token may not pass.
func (o *InstallOptions) checkAPIServerURL() error {
	o.urlWarnings = nil
	if o.APIServerURL == "" {
		return nil
	}
	u, err := url.Parse(o.APIServerURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("--api-server-url %q is not an https URL: pass the Fleet manager's API server, e.g. https://fleet.example.com:6443", o.APIServerURL)
	case u.Scheme == "http":
		return fmt.Errorf("--api-server-url %q is plain http: the agent would send its credential unencrypted; pass the https URL of the Fleet manager's API server", o.APIServerURL)
	case u.User != nil:
		return fmt.Errorf("--api-server-url holds user information: pass the API server's URL without credentials, e.g. https://%s", u.Host)
	case strings.TrimSuffix(u.Path, "/") != "":
		o.urlWarnings = append(o.urlWarnings, fmt.Sprintf("--api-server-url %s has a path (%s): that is a proxy in front of the API server, which the agent's token may not pass; prefer the API server's own address", o.APIServerURL, u.Path))
	}
	return nil
}

// Validate checks the flags before anything is sent to the cluster, so a
// bad path or label never leaves a token behind. It sets nothing.
func (o *InstallOptions) Validate() error {
	// helm reads --set values rune by rune: invalid UTF-8 would reach the
	// chart altered.
	for flag, v := range map[string]string{"--client-id": o.ClientID, "--api-server-url": o.APIServerURL, "--chart-version": o.ChartVersion, "--values-file": o.ValuesFile, "--api-server-ca-file": o.APIServerCAFile} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%s is not valid UTF-8: helm would pass it on altered; fix the value", flag)
		}
	}
	if err := o.ValidateFlags(); err != nil {
		return err
	}
	if strings.ContainsRune(o.ValuesFile, '\r') {
		return errors.New("--values-file contains a carriage return, which helm's --values list parsing drops: choose another path")
	}
	if err := o.checkAPIServerURL(); err != nil {
		return err
	}
	if o.ValuesFile == "" {
		return errors.New("--values-file is empty: pass a path, or - for stdout")
	}
	return nil
}

// CheckValuesFileWritable is validate's check of the files a command will
// write for token name ("" when the server names it); a dry run writes
// nothing and skips it.
func (o *InstallOptions) CheckValuesFileWritable(name string) error {
	if o.Mode != WriteValues || o.ValuesFile == "-" {
		return nil
	}
	if err := atomicfile.CheckWritable(o.ValuesFile, o.Force, "--values-file"); err != nil {
		return err
	}
	if name != "" && o.APIServerCAFile == "" && o.kubeCA != nil {
		// The kubeconfig's CA may have to go beside values.yaml.
		return atomicfile.CheckWritable(o.caPath(name), true, "the CA file beside --values-file")
	}
	return nil
}

// CheckClientID refuses what the fleet-agent chart cannot carry: it
// writes clientID into the agent's JSON config without escaping
// (docs/fleet-registration.md §6), so '"', '\' or a control character
// breaks the agent.
func CheckClientID(id string) error {
	for _, r := range id {
		if r == '"' || r == '\\' || unicode.IsControl(r) {
			return fmt.Errorf("--client-id %q contains %q: the fleet-agent chart writes the client ID into the agent's JSON config without escaping, which breaks the agent; choose an ID without quotes, backslashes or control characters", id, r)
		}
	}
	return nil
}

func (o *InstallOptions) caPath(name string) string {
	dir := "."
	if o.ValuesFile != "-" {
		dir = filepath.Dir(o.ValuesFile)
	}
	return filepath.Join(dir, name+"-ca.pem")
}

// Finish turns a token's values Secret into values.yaml (when the command
// writes it), the CA file when one is needed, and the helm commands.
func (o *InstallOptions) Finish(f cli.Clients, tok *Token, secret *corev1.Secret, Now time.Time) (*Result, error) {
	ns, name := tok.Namespace, tok.Name
	if err := RefuseExpired(f, tok, Now); err != nil {
		return nil, err
	}
	v, err := DecodeValues(secret, ns, name, f)
	if err != nil {
		return nil, err
	}
	if o.Mode == NameValues {
		if err := checkValuesFileOwner(f, o.ValuesFile, v, ns, name); err != nil {
			return nil, err
		}
	}
	res := NewResult(ns, name)
	res.SecretName = secret.Name
	if at, ok := tok.ExpiresAt(); ok {
		res.Expires = at.UTC().Format(time.RFC3339)
	}
	res.Warnings = append(res.Warnings, o.FlagWarnings()...)
	res.Warnings = append(res.Warnings, v.Warnings...)

	toStdout := o.Mode == WriteValues && (o.ValuesFile == "-" || o.Inline)
	h := HelmInstall{Namespace: v.SystemNamespace, Labels: o.labels, ClientID: o.ClientID, ChartVersion: o.ChartVersion, ValuesFile: o.ValuesFile}
	if !v.HasTokenName {
		// The chart requires tokenName whatever the controller's version
		// (docs/fleet-registration.md §6); a ≤v0.15 controller leaves it out.
		h.TokenName = name
		res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has no tokenName (Fleet controller v0.15 or older) and the fleet-agent chart requires it: the helm command sets it with --set-string tokenName=%s", name))
	}
	if v.SystemNamespace != AgentNamespace {
		res.Notes = append(res.Notes, fmt.Sprintf("the Fleet controller runs in namespace %s (values.yaml internal.systemNamespace): the fleet-agent chart must be installed there, so the helm command uses -n %s", v.SystemNamespace, v.SystemNamespace))
	}

	// apiServerURL: the flag, else values.yaml's, else the kubeconfig's.
	fill := map[string]string{}
	where := o.cluster.Where()
	url := v.APIServerURL
	switch {
	case o.APIServerURL != "":
		if v.APIServerURL != "" && v.APIServerURL != o.APIServerURL {
			res.Notes = append(res.Notes, fmt.Sprintf("--api-server-url overrides the controller's apiServerURL %s", v.APIServerURL))
		}
		url = o.APIServerURL
		fill["apiServerURL"] = url
	case v.APIServerURL == "" && o.cluster.Server != "":
		url = o.cluster.Server
		fill["apiServerURL"] = url
		res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has an empty apiServerURL (the Fleet controller has none configured): %s it to %s, the server of %s", o.fillVerb(toStdout), url, where))
	case v.APIServerURL == "":
		res.Warnings = append(res.Warnings, "values.yaml has an empty apiServerURL and the kubeconfig names no server: the chart will refuse to install; pass --api-server-url")
	}
	if kubeconfig.IsLoopback(url) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("apiServerURL %s is a loopback address: the downstream cluster cannot reach it; pass --api-server-url with an address it can reach", url))
	}

	// apiServerCA: the flag, else values.yaml's, else the kubeconfig's
	// when the agent talks to the kubeconfig's server.
	var caPEM []byte
	switch {
	case o.APIServerCAFile != "":
		caPEM = o.flagCA
		h.APIServerCAFile = o.APIServerCAFile
	case v.APIServerCA != "":
	case url != "" && url == o.cluster.Server && o.kubeCA != nil:
		caPEM = o.kubeCA
		if !toStdout {
			res.APIServerCAFile = o.caPath(name)
			h.APIServerCAFile = res.APIServerCAFile
			res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has an empty apiServerCA (the Fleet controller has none configured): the CA of %s goes to %s for helm --set-file", where, res.APIServerCAFile))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has an empty apiServerCA (the Fleet controller has none configured): %s carries the CA of %s", o.inlineValues(), where))
		}
	case url != "" && url == o.cluster.Server:
		res.Warnings = append(res.Warnings, fmt.Sprintf("values.yaml has an empty apiServerCA and %s has no CA: the agent will trust only system roots; pass --api-server-ca-file if %s's certificate is not publicly trusted", where, url))
	default:
		res.Warnings = append(res.Warnings, fmt.Sprintf("values.yaml has an empty apiServerCA: the agent will trust only system roots for %s; pass --api-server-ca-file if its certificate is not publicly trusted", url))
	}
	if caPEM != nil {
		fill["apiServerCA"] = string(caPEM)
	}

	switch {
	case toStdout:
		// One stream carries everything: the values themselves hold the
		// filled-in URL and CA, so the documented pipe installs a working
		// agent.
		raw, err := v.with(fill)
		if err != nil {
			return nil, err
		}
		res.ValuesFile = "-"
		res.stdoutValues = raw
		h.APIServerURL, h.APIServerCAFile = "", ""
	default:
		h.APIServerURL = fill["apiServerURL"]
		if err := o.writeFiles(f, res, v, caPEM); err != nil {
			return nil, err
		}
		if o.Mode == NameValues {
			// The file the printed command reads, so the result says one
			// truth with its argv.
			res.ValuesFile = o.ValuesFile
			if _, err := os.Stat(o.ValuesFile); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("%s does not exist here: write it with %s", o.ValuesFile, Hint(f, "values", name, "-n", ns)))
			}
		}
	}
	res.HelmRepoAdd = RepoAddArgv()
	res.Helm = h.Argv()
	res.install = h
	return res, nil
}

func (o *InstallOptions) fillVerb(toStdout bool) string {
	if toStdout {
		return o.inlineValues() + " sets"
	}
	return "the helm command sets"
}

// inlineValues names the values that carry what Finish fills in.
func (o *InstallOptions) inlineValues() string {
	if o.Inline {
		return "the manifest's values.yaml"
	}
	return "values.yaml on stdout"
}

// writeFiles writes values.yaml (create, values) and the kubeconfig's CA
// when the helm command needs it as a file. A failure after values.yaml
// was created removes it again.
func (o *InstallOptions) writeFiles(f cli.Clients, res *Result, v *Values, caPEM []byte) error {
	caPath := res.APIServerCAFile
	if caPath != "" {
		if err := checkCAFile(caPath, caPEM, o.Force); err != nil {
			return err
		}
	}
	createdValues := false
	if o.Mode == WriteValues {
		res.ValuesFile = o.ValuesFile
		_, statErr := os.Lstat(o.ValuesFile)
		if err := atomicfile.Write(o.ValuesFile, v.Raw, o.Force); err != nil {
			return explainWrite(err, "--values-file")
		}
		createdValues = errors.Is(statErr, fs.ErrNotExist)
	}
	if caPath != "" {
		if err := writeCAFile(caPath, caPEM, o.Force); err != nil {
			if createdValues {
				_ = os.Remove(o.ValuesFile)
			}
			return err
		}
	}
	return nil
}

// checkCAFile allows an existing CA file with the same content (a second
// run for the same token), refuses a different one unless force.
func checkCAFile(path string, pem []byte, force bool) error {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), force:
		return atomicfile.CheckWritable(path, true, "CA file")
	case err != nil:
		return fmt.Errorf("cannot read %s: %w; remove it or choose another --values-file directory", path, apierror.PathCause(err))
	case bytes.Equal(old, pem):
		return nil
	default:
		return fmt.Errorf("refusing to overwrite %s: it holds another CA; pass --force to replace it or choose another --values-file directory", path)
	}
}

func writeCAFile(path string, pem []byte, force bool) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, pem) {
		return nil
	}
	return explainWrite(atomicfile.Write(path, pem, force), "--values-file")
}

func explainWrite(err error, flag string) error {
	if err == nil || errors.Is(err, atomicfile.ErrExists) {
		return err
	}
	return fmt.Errorf("%w; choose another %s", err, flag)
}

// Plan is the install for a token's values, as create, values and helm
// print it: the chart version pinned to the controller's (when not given),
// then Finish, with the note that says which version was chosen.
func (o *InstallOptions) Plan(ctx context.Context, m *Manager, tok *Token, secret *corev1.Secret) (*Result, error) {
	pinned := o.PinControllerVersion(ctx, m)
	res, err := o.Finish(m.f, tok, secret, Now())
	if err != nil {
		return nil, err
	}
	if pinned != "" {
		res.Notes = append(res.Notes, pinned)
	}
	return res, nil
}

// PinControllerVersion sets --chart-version, when not given, to the Fleet
// controller's version, so the agent the printed helm command installs
// matches the controller (as enroll does). The note says what was chosen,
// or why nothing was.
func (o *InstallOptions) PinControllerVersion(ctx context.Context, m *Manager) (note string) {
	if o.ChartVersion != "" {
		return ""
	}
	facts := m.Controller(ctx)
	if facts.version == "" {
		return facts.unknownVersionNote()
	}
	o.ChartVersion = facts.version
	return fmt.Sprintf("fleet-agent chart version %s, the Fleet controller's (image %s)", facts.version, facts.image)
}
