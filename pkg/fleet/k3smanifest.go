package fleet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/inventory"
)

// The values formats of `regtoken values --values-format`.
const (
	// FormatHelm is values.yaml for the printed helm command.
	FormatHelm = "helm"
	// FormatK3sManifest is a manifest that k3s and rke2 deploy by
	// themselves from their server/manifests directory
	// (docs/fleet-registration.md, #k3s-manifest): pull mode, for clusters nobody
	// can reach to run helm.
	FormatK3sManifest = "k3s-manifest"
)

// ValuesFormats are the --values-format words, in help order.
var ValuesFormats = []string{FormatHelm, FormatK3sManifest}

// The objects of a k3s manifest. k3s and rke2 run their helm controller
// for HelmCharts in kube-system (docs/fleet-registration.md, #k3s-manifest), and it
// reads valuesSecrets only from the HelmChart's own namespace, so the
// values Secret goes there too; the agent itself lands in the chart's
// target namespace. chart-values-<chart> is the helm controller's own
// Secret name, so ours must differ.
const (
	HelmChartNamespace = "kube-system"
	ManifestSecretName = "fleet-agent-values"
	ManifestValuesKey  = "values.yaml"
	// DefaultManifestFile is --values-file's default for a manifest: the
	// name to give it in /var/lib/rancher/{k3s,rke2}/server/manifests.
	DefaultManifestFile = "fleet-agent.yaml"
	agentChartName      = "fleet-agent"
)

// ManifestGVK names the object `values --values-format k3s-manifest`
// prints with -o json|yaml. It is not an API type.
var ManifestGVK = schema.GroupVersionKind{Group: "regtoken.kubectl-tokens.io", Version: "v1", Kind: "K3sManifests"}

// Device is one entry of a --devices inventory: a machine whose image is
// built before its cluster exists. Name names the manifest file; ClientID
// and Labels go into that device's agent values.
type Device struct {
	Name     string            `json:"name"`
	ClientID string            `json:"clientID,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// deviceName keeps a device's name usable as one file name in any
// directory: no separators, no dot files, nothing a shell must quote.
var deviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

// ParseDevices reads a --devices inventory in the form of --contexts-from
// (pkg/inventory: one name per line with # comments, or a YAML list of
// {name, clientID, labels}), a device's name standing where a context's
// would. Every entry is checked here, before any request: a bad label
// found after the token is read would waste it.
func ParseDevices(data []byte, from string) ([]Device, error) {
	entries, err := inventory.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("--devices %s: %w", from, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("--devices %s names no device: list one name per line, or YAML entries with name, clientID and labels", from)
	}
	devices := make([]Device, 0, len(entries))
	seen := map[string]int{}
	ids := map[string]string{}
	for i, e := range entries {
		d := Device{Name: e.Context, ClientID: e.ClientID, Labels: e.Labels}
		switch {
		case !deviceName.MatchString(d.Name):
			return nil, fmt.Errorf("--devices %s: device name %q cannot name a file: use letters, digits, '.', '_' and '-' (starting with a letter or digit)", from, d.Name)
		case seen[d.Name] > 0:
			return nil, fmt.Errorf("--devices %s names device %q twice (entries %d and %d): name each device once", from, d.Name, seen[d.Name], i+1)
		}
		seen[d.Name] = i + 1
		if err := CheckClientID(d.ClientID); err != nil {
			return nil, fmt.Errorf("--devices %s, device %s: %w", from, d.Name, err)
		}
		if other, ok := ids[d.ClientID]; ok && d.ClientID != "" {
			return nil, fmt.Errorf("--devices %s gives devices %s and %s the same clientID %q: Fleet would take them for one cluster; give each its own", from, other, d.Name, d.ClientID)
		}
		ids[d.ClientID] = d.Name
		if _, _, err := ParseLabels(labelArgs(d.Labels)); err != nil {
			return nil, fmt.Errorf("--devices %s, device %s: %w", from, d.Name, err)
		}
		devices = append(devices, d)
	}
	return devices, nil
}

// ReadDevices reads and parses the --devices file.
func ReadDevices(path string) ([]Device, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--devices %s cannot be read: %w; pass a readable inventory file", path, apierror.PathCause(err))
	}
	return ParseDevices(data, path)
}

// labelArgs is a label map as --label arguments, sorted, so that one
// check (ParseLabels) judges labels from flags and from inventories.
func labelArgs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// ManifestOptions are what `values --values-format k3s-manifest` adds to
// the install flags: where the manifests go and for which devices.
type ManifestOptions struct {
	// Path is --values-file: one manifest file, "-" for stdout, or with
	// Devices the directory that gets DEVICE.yaml for each.
	Path    string
	Force   bool
	Devices []Device
}

// Validate checks the paths before any request: the output is local, so
// a bad directory or an existing file is refused before the token is
// even read. clientID is the --client-id flag (one cluster identity,
// which cannot go to many devices).
func (o *ManifestOptions) Validate(clientID string) error {
	if o.Devices == nil {
		return nil
	}
	switch {
	case o.Path == "-":
		return errors.New("--devices writes one manifest per device and --values-file - is one stream: pass --values-file DIR/ (an existing directory)")
	case clientID != "":
		return fmt.Errorf("--client-id %s would give every device of --devices the same Fleet cluster: put a clientID on each device in the inventory instead", clientID)
	}
	st, err := os.Stat(o.Path)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--values-file %s does not exist: with --devices it is the directory for the manifests; create it (mkdir -p %s)", o.Path, o.Path)
	case err != nil:
		return fmt.Errorf("--values-file %s: %w; with --devices pass an existing directory", o.Path, apierror.PathCause(err))
	case !st.IsDir():
		return fmt.Errorf("--values-file %s is not a directory: with --devices it names the directory that gets one DEVICE.yaml per device", o.Path)
	}
	return nil
}

// Files are the manifest paths this run writes, in device order.
func (o *ManifestOptions) Files() []string {
	if o.Devices == nil {
		return []string{o.Path}
	}
	out := make([]string, len(o.Devices))
	for i, d := range o.Devices {
		out[i] = filepath.Join(o.Path, d.Name+".yaml")
	}
	return out
}

// CheckWritable refuses an existing manifest (without --force) or one
// that cannot be written, for every file, before anything is written.
func (o *ManifestOptions) CheckWritable() error {
	if o.Path == "-" {
		return nil
	}
	for _, p := range o.Files() {
		if err := atomicfile.CheckWritable(p, o.Force, "--values-file"); err != nil {
			return err
		}
	}
	return nil
}

// ManifestFile is one manifest written, in the printed result.
type ManifestFile struct {
	Path     string            `json:"path"`
	Device   string            `json:"device,omitempty"`
	ClientID string            `json:"clientID,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// ManifestChart is the HelmChart's chart reference.
type ManifestChart struct {
	Repo    string `json:"repo"`
	Chart   string `json:"chart"`
	Version string `json:"version,omitempty"`
	// Namespace is where the agent is installed.
	Namespace string `json:"targetNamespace"`
}

// ManifestResult is what `values --values-format k3s-manifest` did. Like
// Result it never holds the token: that is only in the manifests.
type ManifestResult struct {
	metav1.TypeMeta `json:",inline"`
	Name            string         `json:"name"`
	Namespace       string         `json:"namespace"`
	Expires         string         `json:"expires"`
	SecretName      string         `json:"secretName"`
	Chart           ManifestChart  `json:"chart"`
	Files           []ManifestFile `json:"files"`
	Warnings        []string       `json:"warnings"`
	Notes           []string       `json:"notes"`

	stdout []byte
}

// DeepCopyObject makes ManifestResult a runtime.Object for the printers.
func (r *ManifestResult) DeepCopyObject() runtime.Object {
	c := *r
	c.Files = slices.Clone(r.Files)
	c.Warnings = slices.Clone(r.Warnings)
	c.Notes = slices.Clone(r.Notes)
	c.stdout = slices.Clone(r.stdout)
	return &c
}

// Stdout is the manifest for --values-file -, to be printed once.
func (r *ManifestResult) Stdout() []byte { return r.stdout }

// WriteManifests turns a finished install (Finish with Inline: the
// values with apiServerURL and apiServerCA filled in) into k3s manifests,
// one per device or one for the flags alone, and writes them 0600 and
// atomically. A failure removes the files this run created and says so.
func (o *ManifestOptions) WriteManifests(res *Result) (*ManifestResult, error) {
	base, detail := parseValues(res.StdoutValues())
	if base == nil {
		return nil, fmt.Errorf("the values of %s are %s: delete the token and create a new one", res.Name, detail)
	}
	h := res.install
	ns := h.Namespace
	if ns == "" {
		ns = AgentNamespace
	}
	out := &ManifestResult{
		Name: res.Name, Namespace: res.Namespace, Expires: res.Expires, SecretName: res.SecretName,
		Chart:    ManifestChart{Repo: HelmRepoURL, Chart: agentChartName, Version: h.ChartVersion, Namespace: ns},
		Warnings: slices.Clone(res.Warnings), Notes: slices.Clone(res.Notes), Files: []ManifestFile{},
	}
	out.SetGroupVersionKind(ManifestGVK)
	flagLabels := map[string]string{}
	for _, l := range h.Labels {
		flagLabels[l.Key] = l.Value
	}
	devices := o.Devices
	if devices == nil {
		devices = []Device{{}}
	}
	files := o.Files()
	manifests := make([][]byte, len(devices))
	for i, d := range devices {
		labels := maps.Clone(flagLabels)
		maps.Copy(labels, d.Labels) // the inventory wins on a key
		clientID := cmpOr(d.ClientID, h.ClientID)
		values := maps.Clone(base)
		if len(labels) > 0 {
			values["labels"] = labels
		}
		if clientID != "" {
			values["clientID"] = clientID
		}
		if h.TokenName != "" {
			values["tokenName"] = h.TokenName
		}
		m, err := renderManifest(out.Chart, values, res.Name, d.Name)
		if err != nil {
			return nil, err
		}
		manifests[i] = m
		f := ManifestFile{Path: files[i], Device: d.Name, ClientID: clientID}
		if len(labels) > 0 {
			f.Labels = labels
		}
		out.Files = append(out.Files, f)
	}
	if o.Path == "-" {
		out.stdout = manifests[0]
		return out, nil
	}
	var created []string
	for i, p := range files {
		_, statErr := os.Lstat(p)
		if err := atomicfile.Write(p, manifests[i], o.Force); err != nil {
			for _, c := range created {
				_ = os.Remove(c)
			}
			if len(created) > 0 {
				return nil, fmt.Errorf("%w; the %d manifests written before it were removed again", explainWrite(err, "--values-file"), len(created))
			}
			return nil, explainWrite(err, "--values-file")
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			created = append(created, p)
		}
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// renderManifest is the multi-document YAML of one manifest: the agent's
// namespace, the values Secret and the HelmChart that reads it.
func renderManifest(chart ManifestChart, values map[string]any, token, device string) ([]byte, error) {
	raw, err := yaml.Marshal(values)
	if err != nil {
		return nil, err
	}
	spec := map[string]any{
		"repo":            chart.Repo,
		"chart":           chart.Chart,
		"targetNamespace": chart.Namespace,
		"valuesSecrets":   []any{map[string]any{"name": ManifestSecretName, "keys": []any{ManifestValuesKey}}},
	}
	if chart.Version != "" {
		spec["version"] = chart.Version
	}
	objects := []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": chart.Namespace}},
		{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
			"metadata": map[string]any{"name": ManifestSecretName, "namespace": HelmChartNamespace, "labels": manifestLabels()},
			"data":     map[string]any{ManifestValuesKey: base64.StdEncoding.EncodeToString(raw)}},
		{"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
			"metadata": map[string]any{"name": AgentRelease, "namespace": HelmChartNamespace, "labels": manifestLabels()},
			"spec":     spec},
	}
	var b strings.Builder
	about := fmt.Sprintf("token %s", token)
	if device != "" {
		about += ", device " + device
	}
	fmt.Fprintf(&b, "# The Fleet agent for k3s/rke2 to deploy by itself (%s): copy to\n", about)
	b.WriteString("# /var/lib/rancher/k3s/server/manifests/ (rke2: /var/lib/rancher/rke2/server/manifests/).\n")
	b.WriteString("# It holds the agent's registration credential: keep it mode 0600.\n")
	for _, obj := range objects {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// manifestLabels mark the objects as ours, so they can be found on the
// device later (kubectl get -l).
func manifestLabels() map[string]any {
	return map[string]any{"app.kubernetes.io/managed-by": "kubectl-regtoken"}
}
