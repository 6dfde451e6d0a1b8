package regtoken

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tokens/kubectl-tokens/internal/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
	"github.com/kubectl-tokens/kubectl-tokens/internal/shellquote"
)

// defaultValuesFile is values.yaml in the current directory, the name the
// Fleet docs and the printed helm command use.
const defaultValuesFile = "values.yaml"

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

	// writes is false for `helm`, which only names the values file.
	writes bool

	labels   []Label
	warnings []string
}

func (o *installFlags) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	if o.writes {
		fs.StringVar(&o.ValuesFile, "values-file", defaultValuesFile, "Where to write values.yaml (mode 0600); '-' writes it to stdout and the helm command then reads it from stdin.")
		fs.BoolVar(&o.Force, "force", false, "Overwrite an existing values file (and CA file).")
	} else {
		fs.StringVar(&o.ValuesFile, "values-file", defaultValuesFile, "The values.yaml the printed helm command uses (written by create or values).")
	}
	fs.StringArrayVar(&o.Labels, "label", nil, "Label KEY=VALUE for the Fleet Cluster, passed to helm as --set-string labels.KEY=VALUE (repeatable).")
	fs.StringVar(&o.ClientID, "client-id", "", "spec.clientID of a Cluster created upstream beforehand (helm --set-string clientID=...).")
	fs.StringVar(&o.APIServerURL, "api-server-url", "", "URL of the Fleet manager's API server for the agent; default: values.yaml's, else the kubeconfig's server when values.yaml has none.")
	fs.StringVar(&o.APIServerCAFile, "api-server-ca-file", "", "PEM file of that API server's CA (helm --set-file apiServerCA=...); default: values.yaml's, else the kubeconfig's CA.")
	fs.StringVar(&o.ChartVersion, "chart-version", "", "fleet-agent chart version for helm --version (default: the newest).")
	_ = cmd.MarkFlagFilename("values-file", "yaml", "yml")
	_ = cmd.MarkFlagFilename("api-server-ca-file", "pem", "crt")
}

// validate checks the flags before anything is sent to the cluster, so a
// bad path or label never leaves a token behind.
func (o *installFlags) validate() error {
	labels, warnings, err := parseLabels(o.Labels)
	if err != nil {
		return err
	}
	o.labels, o.warnings = labels, warnings
	// helm reads --set values rune by rune: invalid UTF-8 would reach the
	// chart altered.
	for flag, v := range map[string]string{"--client-id": o.ClientID, "--api-server-url": o.APIServerURL, "--chart-version": o.ChartVersion, "--values-file": o.ValuesFile, "--api-server-ca-file": o.APIServerCAFile} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%s is not valid UTF-8: helm would pass it on altered; fix the value", flag)
		}
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
	if o.APIServerCAFile != "" {
		data, err := os.ReadFile(o.APIServerCAFile)
		if err != nil {
			return fmt.Errorf("cannot read --api-server-ca-file %s: %s", o.APIServerCAFile, pathCause(err))
		}
		if err := checkPEM(data); err != nil {
			return fmt.Errorf("--api-server-ca-file %s %s: pass the API server's CA certificate in PEM (a kubeconfig's certificate-authority-data is base64 of it: decode it with base64 -d)", o.APIServerCAFile, err)
		}
	}
	if o.ValuesFile == "" {
		return errors.New("--values-file is empty: pass a path, or - for stdout")
	}
	if o.writes && o.ValuesFile != "-" {
		return atomicfile.CheckWritable(o.ValuesFile, o.Force, "--values-file")
	}
	return nil
}

// checkPEM accepts data holding at least one parseable certificate.
func checkPEM(data []byte) error {
	found := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return errors.New("holds a certificate that cannot be parsed")
		}
		found = true
	}
	if !found {
		return errors.New("holds no PEM certificate")
	}
	return nil
}

// finish turns a token's values Secret into values.yaml (when the command
// writes it), the CA file when one is needed, and the helm commands.
func (o *installFlags) finish(f cli.Clients, tok *Token, secret *corev1.Secret) (*Result, error) {
	ns, name := tok.Namespace, tok.Name
	v, err := decodeValues(secret, ns, name)
	if err != nil {
		return nil, err
	}
	res := newResult(ns, name)
	res.SecretName = secret.Name
	if at, ok := tok.ExpiresAt(); ok {
		res.Expires = at.UTC().Format(time.RFC3339)
	}
	res.Warnings = append(res.Warnings, o.warnings...)
	res.Warnings = append(res.Warnings, v.Warnings...)

	h := HelmInstall{Labels: o.labels, ClientID: o.ClientID, ChartVersion: o.ChartVersion, ValuesFile: o.ValuesFile}
	cluster, err := f.CurrentCluster()
	if err != nil {
		return nil, err
	}
	contextName := cluster.Context
	effectiveURL := v.APIServerURL
	switch {
	case o.APIServerURL != "":
		h.APIServerURL = o.APIServerURL
		if v.APIServerURL != "" && v.APIServerURL != o.APIServerURL {
			res.Notes = append(res.Notes, fmt.Sprintf("--api-server-url overrides the controller's apiServerURL %s", v.APIServerURL))
		}
		effectiveURL = o.APIServerURL
	case v.APIServerURL == "" && cluster.Server != "":
		h.APIServerURL = cluster.Server
		effectiveURL = cluster.Server
		res.Notes = append(res.Notes, fmt.Sprintf("values.yaml has an empty apiServerURL (the Fleet controller has none configured): the helm command sets it to %s, the server of kubeconfig context %q", cluster.Server, contextName))
	case v.APIServerURL == "":
		res.Warnings = append(res.Warnings, "values.yaml has an empty apiServerURL and the kubeconfig names no server: the chart will refuse to install; pass --api-server-url")
	}
	if isLoopback(effectiveURL) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("apiServerURL %s is a loopback address: the downstream cluster cannot reach it; pass --api-server-url with an address it can reach", effectiveURL))
	}

	var caPEM []byte
	caPath := ""
	switch {
	case o.APIServerCAFile != "":
		h.APIServerCAFile = o.APIServerCAFile
	case v.APIServerCA != "":
	case effectiveURL != "" && effectiveURL == cluster.Server:
		caPEM, err = kubeconfigCA(cluster.CAData, cluster.CAFile)
		if err != nil {
			return nil, fmt.Errorf("values.yaml has an empty apiServerCA and the CA of kubeconfig context %q %s: pass --api-server-ca-file", contextName, err)
		}
		if caPEM == nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("values.yaml has an empty apiServerCA and kubeconfig context %q has no CA: the agent will trust only system roots; pass --api-server-ca-file if %s's certificate is not publicly trusted", contextName, effectiveURL))
			break
		}
		dir := "."
		if o.ValuesFile != "-" {
			dir = filepath.Dir(o.ValuesFile)
		}
		caPath = filepath.Join(dir, name+"-ca.pem")
		h.APIServerCAFile = caPath
		res.APIServerCAFile = caPath
		verb := "wrote the CA of kubeconfig context %q to %s for helm --set-file"
		if old, err := os.ReadFile(caPath); err == nil && bytes.Equal(old, caPEM) {
			verb = "the CA of kubeconfig context %q is in %s (already written) for helm --set-file"
		}
		res.Notes = append(res.Notes, "values.yaml has an empty apiServerCA (the Fleet controller has none configured): "+fmt.Sprintf(verb, contextName, caPath))
	default:
		res.Warnings = append(res.Warnings, fmt.Sprintf("values.yaml has an empty apiServerCA: the agent will trust only system roots for %s; pass --api-server-ca-file if its certificate is not publicly trusted", effectiveURL))
	}

	if caPath != "" {
		if err := checkCAFile(caPath, caPEM, o.Force); err != nil {
			return nil, err
		}
	}
	createdValues := false
	if o.writes {
		res.ValuesFile = o.ValuesFile
		if o.ValuesFile != "-" {
			_, statErr := os.Lstat(o.ValuesFile)
			if err := atomicfile.Write(o.ValuesFile, v.Raw, o.Force); err != nil {
				return nil, explainWrite(err, "--values-file")
			}
			createdValues = errors.Is(statErr, fs.ErrNotExist)
		} else {
			res.stdoutValues = v.Raw
		}
	} else if o.ValuesFile != "-" {
		if _, err := os.Stat(o.ValuesFile); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("%s does not exist here: write it with kubectl regtoken values %s -n %s", o.ValuesFile, name, ns))
		}
	}
	if caPath != "" {
		if err := writeCAFile(caPath, caPEM, o.Force); err != nil {
			if createdValues {
				_ = os.Remove(o.ValuesFile)
			}
			return nil, err
		}
	}
	if !v.HasTokenName {
		res.Notes = append(res.Notes, fmt.Sprintf("tokenName is missing from values.yaml (Fleet controller older than v0.16); a v0.16 controller needs it: add --set-string tokenName=%s if the controller is upgraded", name))
	}
	res.HelmRepoAdd = RepoAddArgv()
	res.Helm = h.Argv()
	return res, nil
}

// kubeconfigCA is the PEM CA of the kubeconfig cluster (data, else file);
// nil when it has none.
func kubeconfigCA(data []byte, file string) ([]byte, error) {
	if len(data) == 0 && file != "" {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("cannot be read from %s (%s)", file, pathCause(err))
		}
	}
	if len(data) == 0 {
		return nil, nil
	}
	if err := checkPEM(data); err != nil {
		return nil, errors.New(err.Error())
	}
	return data, nil
}

// checkCAFile allows an existing CA file with the same content (a second
// run for the same token), refuses a different one unless force.
func checkCAFile(path string, pem []byte, force bool) error {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), force:
		return atomicfile.CheckWritable(path, true, "CA file")
	case err != nil:
		return fmt.Errorf("cannot read %s: %s; remove it or choose another --values-file directory", path, pathCause(err))
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
	return fmt.Errorf("%s; choose another %s", err.Error(), flag)
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

// printRegistration prints a finished registration: with -o, the Result object alone
// on stdout; otherwise the human lines, the helm commands on stdout unless
// stdout carries values.yaml. Notes and warnings always go to stderr.
func printRegistration(streams genericiooptions.IOStreams, pf *printer.Flags, res *Result, headline string) error {
	for _, n := range res.Notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", n)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(streams.ErrOut, "warning: %s\n", w)
	}
	if pf.Output() != "" {
		return pf.Print(res, false, streams.Out)
	}
	human := streams.Out
	if res.ValuesFile == "-" {
		if _, err := streams.Out.Write(res.stdoutValues); err != nil {
			return err
		}
		human = streams.ErrOut
	}
	fmt.Fprintln(human, headline)
	switch res.ValuesFile {
	case "":
	case "-":
		fmt.Fprintln(human, "values.yaml written to stdout: it holds the agent's credentials, keep it secret")
	default:
		fmt.Fprintf(human, "%s written (mode 0600): it holds the agent's credentials, keep it secret\n", res.ValuesFile)
	}
	fmt.Fprintln(human, "Install the Fleet agent with the kubectl context of the downstream cluster:")
	fmt.Fprintln(human)
	fmt.Fprintf(human, "  %s\n", shellquote.Join(res.HelmRepoAdd))
	fmt.Fprintf(human, "  %s\n", shellquote.Join(res.Helm))
	if res.ValuesFile == "-" {
		fmt.Fprintln(human, "\n(the helm command reads values.yaml from stdin: pipe it in)")
	}
	return nil
}

// checkInterrupted reports a signal that came while files were written:
// the writes completed, so say what exists.
func checkInterrupted(ctx context.Context, res *Result) error {
	if ctx.Err() == nil {
		return nil
	}
	what := fmt.Sprintf("interrupted after the values of %s %q in namespace %q were fetched", kind, res.Name, res.Namespace)
	if res.ValuesFile != "" && res.ValuesFile != "-" {
		return fmt.Errorf("%s: %s was written completely; install with kubectl regtoken helm %s -n %s", what, res.ValuesFile, res.Name, res.Namespace)
	}
	return fmt.Errorf("%s: nothing was written; fetch them with kubectl regtoken values %s -n %s", what, res.Name, res.Namespace)
}

// pathCause drops the *PathError wrapper whose text repeats the path.
func pathCause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
