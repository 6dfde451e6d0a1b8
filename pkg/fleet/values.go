package fleet

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// requiredValuesKeys are the values.yaml keys every Fleet controller since
// v0.5 writes; tokenName is added by v0.16 (docs/fleet-registration.md §2).
var requiredValuesKeys = []string{"apiServerCA", "apiServerURL", "clusterNamespace", "systemRegistrationNamespace", "token"}

// Values is the decoded values.yaml of a token. Raw is written to the file
// unchanged: it is what the controller made.
type Values struct {
	Raw          []byte
	APIServerURL string
	APIServerCA  string
	TokenName    string
	HasTokenName bool
	// SystemNamespace is internal.systemNamespace, else the chart's
	// default: the namespace helm must install into.
	SystemNamespace string
	Token           string
	Warnings        []string

	m map[string]any
}

var yamlLine = regexp.MustCompile(`line [0-9]+`)

// DecodeValues checks the values Secret of token ns/name and decodes it.
// Errors never quote the content: it holds the agent's credential.
func DecodeValues(s *corev1.Secret, ns, name string, f cli.Clients) (*Values, error) {
	where := fmt.Sprintf("Secret %q in namespace %q", s.Name, ns)
	again := fmt.Sprintf("delete the token (%s) and create a new one", Hint(f, "delete", name, "-n", ns))
	if string(s.Type) != ValuesSecretType {
		return nil, fmt.Errorf("%s has type %q, not %s, so it was not written by the Fleet controller for token %q: delete or rename that Secret, or use another token name", where, s.Type, ValuesSecretType, name)
	}
	raw, ok := s.Data[ValuesKey]
	if !ok {
		return nil, fmt.Errorf("%s has no %q key, so the Fleet controller did not finish it: %s", where, ValuesKey, again)
	}
	m, detail := parseValues(raw)
	if m == nil {
		return nil, fmt.Errorf("the %q key of %s is %s: %s", ValuesKey, where, detail, again)
	}
	var missing []string
	for _, k := range requiredValuesKeys {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the values in %s lack %s, which the fleet-agent chart needs: %s", where, strings.Join(missing, ", "), again)
	}
	var wrongType []string
	str := func(m map[string]any, k string) string {
		v, ok := m[k].(string)
		if !ok && m[k] != nil {
			wrongType = append(wrongType, k)
		}
		return v
	}
	v := &Values{Raw: raw, m: m, APIServerURL: str(m, "apiServerURL"), APIServerCA: str(m, "apiServerCA"), Token: str(m, "token"), SystemNamespace: AgentNamespace}
	clusterNS := str(m, "clusterNamespace")
	str(m, "systemRegistrationNamespace")
	if _, v.HasTokenName = m["tokenName"]; v.HasTokenName {
		v.TokenName = str(m, "tokenName")
	}
	if internal, ok := m["internal"].(map[string]any); ok {
		if sys := str(internal, "systemNamespace"); sys != "" {
			v.SystemNamespace = sys
		}
	}
	if len(wrongType) > 0 {
		sort.Strings(wrongType)
		return nil, fmt.Errorf("the values in %s have non-string %s: %s", where, strings.Join(wrongType, ", "), again)
	}
	if v.Token == "" {
		return nil, fmt.Errorf("the values in %s have an empty token: the controller has no service account token yet; %s", where, again)
	}
	if v.HasTokenName && v.TokenName != name {
		v.Warnings = append(v.Warnings, fmt.Sprintf("values.yaml names token %q, not %q", v.TokenName, name))
	}
	if clusterNS != ns {
		v.Warnings = append(v.Warnings, fmt.Sprintf("values.yaml has clusterNamespace %q, not the token's namespace %q", clusterNS, ns))
	}
	return v, nil
}

// parseValues reads values YAML as a mapping; detail says why not.
func parseValues(raw []byte) (map[string]any, string) {
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		detail := "not valid YAML"
		if line := yamlLine.FindString(err.Error()); line != "" {
			detail += " (" + line + ")"
		}
		return nil, detail
	}
	if m == nil {
		return nil, "not a YAML mapping"
	}
	return m, ""
}

// with is values.yaml with the top-level string keys of fill set, in the
// controller's own form (sigs.k8s.io/yaml from a map: sorted keys).
func (v *Values) with(fill map[string]string) ([]byte, error) {
	if len(fill) == 0 {
		return v.Raw, nil
	}
	m := make(map[string]any, len(v.m))
	for k, x := range v.m {
		m[k] = x
	}
	for k, x := range fill {
		m[k] = x
	}
	return yaml.Marshal(m)
}

// checkValuesFileOwner refuses a values file that holds another token's
// values: helm would register the cluster with that token instead. A
// missing file is left to finish's note.
func checkValuesFileOwner(f cli.Clients, path string, v *Values, ns, name string) error {
	if path == "-" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	rewrite := fmt.Sprintf("write this token's values with %s and pass that file", Hint(f, "values", name, "-n", ns, "--values-file", name+"-values.yaml"))
	if err != nil {
		return fmt.Errorf("--values-file %s cannot be read: %w; %s", path, apierror.PathCause(err), rewrite)
	}
	m, detail := parseValues(raw)
	if m == nil {
		return fmt.Errorf("--values-file %s is %s: %s", path, detail, rewrite)
	}
	fileName, _ := m["tokenName"].(string)
	fileNS, _ := m["clusterNamespace"].(string)
	fileToken, _ := m["token"].(string)
	switch {
	case fileName != "" && fileName != name || fileNS != "" && fileNS != ns:
		owner := fmt.Sprintf("token %q in namespace %q", fileName, fileNS)
		if fileName == "" {
			owner = fmt.Sprintf("a token in namespace %q", fileNS)
		}
		return fmt.Errorf("--values-file %s belongs to %s (its tokenName/clusterNamespace), not to %q in namespace %q: %s", path, owner, name, ns, rewrite)
	case fileToken != v.Token:
		return fmt.Errorf("--values-file %s holds another credential than token %q in namespace %q (values of an earlier token of that name?): %s", path, name, ns, rewrite)
	}
	return nil
}
