package regtoken

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// defaultValuesFile is values.yaml in the current directory, the name the
// Fleet docs and the printed helm command use.
const defaultValuesFile = "values.yaml"

// valuesMode says what a command does with --values-file.
type valuesMode int

const (
	// writeValues: create and values write the file (or stdout for -).
	writeValues valuesMode = iota
	// nameValues: helm only names it in the printed command.
	nameValues
)

// installFlags are the values-file and helm flags shared by create, values
// and helm, and the code that turns a values Secret into values.yaml and
// the helm commands.
type installFlags struct {
	ValuesFile      string
	Force           bool
	Labels          []string
	ClientID        string
	APIServerURL    string
	APIServerCAFile string
	ChartVersion    string

	mode valuesMode

	// Resolved by complete.
	labels        []Label
	labelWarnings []string
	flagCA        []byte // --api-server-ca-file's PEM
	cluster       kubeconfig.Cluster
	kubeCA        []byte // the kubeconfig cluster's PEM CA; nil when it has none
	core          corev1client.CoreV1Interface
}

func (o *installFlags) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	if o.mode == writeValues {
		fs.StringVar(&o.ValuesFile, "values-file", defaultValuesFile, "Where to write values.yaml (mode 0600); '-' writes it to stdout, with apiServerURL and apiServerCA filled in, and the helm command then reads it from stdin.")
		fs.BoolVar(&o.Force, "force", false, "Overwrite an existing values file (and CA file).")
	} else {
		fs.StringVar(&o.ValuesFile, "values-file", defaultValuesFile, "The values.yaml the printed helm command uses (written by create or values); refused when it belongs to another token.")
	}
	fs.StringArrayVar(&o.Labels, "label", nil, "Label KEY=VALUE for the Fleet Cluster, passed to helm as --set-string labels.KEY=VALUE (repeatable).")
	fs.StringVar(&o.ClientID, "client-id", "", "spec.clientID of a Cluster created upstream beforehand (helm --set-string clientID=...); no quotes, backslashes or control characters.")
	fs.StringVar(&o.APIServerURL, "api-server-url", "", "URL of the Fleet manager's API server for the agent; default: values.yaml's, else the kubeconfig's server when values.yaml has none.")
	fs.StringVar(&o.APIServerCAFile, "api-server-ca-file", "", "PEM file of that API server's CA (helm --set-file apiServerCA=...); default: values.yaml's, else the kubeconfig's CA.")
	fs.StringVar(&o.ChartVersion, "chart-version", "", "fleet-agent chart version for helm --version (default: the newest).")
	_ = cmd.MarkFlagFilename("values-file", "yaml", "yml")
	_ = cmd.MarkFlagFilename("api-server-ca-file", "pem", "crt")
}

// complete parses the labels, reads the CA files and resolves the clients
// finish needs, so that a bad CA or label is refused before any request.
func (o *installFlags) complete(f cli.Clients) error {
	var err error
	if o.labels, o.labelWarnings, err = parseLabels(o.Labels); err != nil {
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
			return apierror.Explained(err, "the CA of %s cannot be used for the agent: %s; pass --api-server-ca-file with the Fleet manager's CA (PEM)", o.cluster.Where(), unwrapKubeconfigHint(err))
		}
		o.kubeCA = b.PEM
	}
	o.core, err = f.CoreV1()
	return err
}

// unwrapKubeconfigHint keeps the cause of a kubeconfig CA error without
// its advice, which names another plugin's flag.
func unwrapKubeconfigHint(err error) string {
	s := err.Error()
	if i := strings.Index(s, "; pass "); i > 0 {
		s = s[:i]
	}
	return s
}

// validate checks the flags before anything is sent to the cluster, so a
// bad path or label never leaves a token behind. It sets nothing.
func (o *installFlags) validate() error {
	// helm reads --set values rune by rune: invalid UTF-8 would reach the
	// chart altered.
	for flag, v := range map[string]string{"--client-id": o.ClientID, "--api-server-url": o.APIServerURL, "--chart-version": o.ChartVersion, "--values-file": o.ValuesFile, "--api-server-ca-file": o.APIServerCAFile} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%s is not valid UTF-8: helm would pass it on altered; fix the value", flag)
		}
	}
	if err := checkClientID(o.ClientID); err != nil {
		return err
	}
	if strings.ContainsRune(o.ValuesFile, '\r') {
		return errors.New("--values-file contains a carriage return, which helm's --values list parsing drops: choose another path")
	}
	if o.APIServerURL != "" {
		u, err := url.Parse(o.APIServerURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--api-server-url %q is not an http(s) URL: pass the Fleet manager's API server, e.g. https://fleet.example.com:6443", o.APIServerURL)
		}
	}
	if o.ValuesFile == "" {
		return errors.New("--values-file is empty: pass a path, or - for stdout")
	}
	return nil
}

// checkValuesFileWritable is validate's check of the files a command will
// write for token name ("" when the server names it); a dry run writes
// nothing and skips it.
func (o *installFlags) checkValuesFileWritable(name string) error {
	if o.mode != writeValues || o.ValuesFile == "-" {
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

// checkClientID refuses what the fleet-agent chart cannot carry: it
// writes clientID into the agent's JSON config without escaping
// (docs/fleet-registration.md §6), so '"', '\' or a control character
// breaks the agent.
func checkClientID(id string) error {
	for _, r := range id {
		if r == '"' || r == '\\' || unicode.IsControl(r) {
			return fmt.Errorf("--client-id %q contains %q: the fleet-agent chart writes the client ID into the agent's JSON config without escaping, which breaks the agent; choose an ID without quotes, backslashes or control characters", id, r)
		}
	}
	return nil
}

func (o *installFlags) caPath(name string) string {
	dir := "."
	if o.ValuesFile != "-" {
		dir = filepath.Dir(o.ValuesFile)
	}
	return filepath.Join(dir, name+"-ca.pem")
}

// getValuesSecret reads the Secret status.secretName names. The
// controller writes it before the status, so it exists by now.
func (o *installFlags) getValuesSecret(ctx context.Context, f cli.Clients, tok *Token) (*corev1.Secret, error) {
	s, err := o.core.Secrets(tok.Namespace).Get(ctx, tok.Status.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierror.Explained(err, "Secret %q in namespace %q, named by the status of %s %q, does not exist (deleted meanwhile?): delete the token (%s) and create a new one", tok.Status.SecretName, tok.Namespace, kind, tok.Name, hint(f, "delete", tok.Name, "-n", tok.Namespace))
	}
	if err != nil {
		return nil, apierror.Wrap(err, secretOp("get", tok.Namespace, tok.Status.SecretName))
	}
	return s, nil
}

// finish turns a token's values Secret into values.yaml (when the command
// writes it), the CA file when one is needed, and the helm commands.
func (o *installFlags) finish(f cli.Clients, tok *Token, secret *corev1.Secret, now time.Time) (*Result, error) {
	ns, name := tok.Namespace, tok.Name
	if err := refuseExpired(f, tok, now); err != nil {
		return nil, err
	}
	v, err := decodeValues(secret, ns, name, f)
	if err != nil {
		return nil, err
	}
	if o.mode == nameValues {
		if err := checkValuesFileOwner(f, o.ValuesFile, v, ns, name); err != nil {
			return nil, err
		}
	}
	res := newResult(ns, name)
	res.SecretName = secret.Name
	if at, ok := tok.ExpiresAt(); ok {
		res.Expires = at.UTC().Format(time.RFC3339)
	}
	res.Warnings = append(res.Warnings, o.labelWarnings...)
	res.Warnings = append(res.Warnings, v.Warnings...)

	toStdout := o.mode == writeValues && o.ValuesFile == "-"
	h := HelmInstall{Namespace: v.SystemNamespace, Labels: o.labels, ClientID: o.ClientID, ChartVersion: o.ChartVersion, ValuesFile: o.ValuesFile}
	if !v.HasTokenName {
		// The chart requires tokenName whatever the controller's version
		// (docs/fleet-registration.md §6); a ≤v0.15 controller leaves it out.
		h.TokenName = name
		res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has no tokenName (Fleet controller v0.15 or older) and the fleet-agent chart requires it: the helm command sets it with --set-string tokenName=%s", name))
	}
	if v.SystemNamespace != agentNamespace {
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
	if isLoopback(url) {
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
			res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has an empty apiServerCA (the Fleet controller has none configured): values.yaml on stdout carries the CA of %s", where))
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
		if o.mode == nameValues {
			if _, err := os.Stat(o.ValuesFile); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("%s does not exist here: write it with %s", o.ValuesFile, hint(f, "values", name, "-n", ns)))
			}
		}
	}
	res.HelmRepoAdd = RepoAddArgv()
	res.Helm = h.Argv()
	res.install = h
	return res, nil
}

func (o *installFlags) fillVerb(toStdout bool) string {
	if toStdout {
		return "values.yaml on stdout sets"
	}
	return "the helm command sets"
}

// writeFiles writes values.yaml (create, values) and the kubeconfig's CA
// when the helm command needs it as a file. A failure after values.yaml
// was created removes it again.
func (o *installFlags) writeFiles(f cli.Clients, res *Result, v *Values, caPEM []byte) error {
	caPath := res.APIServerCAFile
	if caPath != "" {
		if err := checkCAFile(caPath, caPEM, o.Force); err != nil {
			return err
		}
	}
	createdValues := false
	if o.mode == writeValues {
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
		return fmt.Errorf("cannot read %s: %w; remove it or choose another --values-file directory", path, unwrapPath(err))
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

func isLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// unwrapPath drops the *PathError wrapper whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
