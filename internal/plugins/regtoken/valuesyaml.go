package regtoken

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// requiredValuesKeys are the values.yaml keys every Fleet controller since
// v0.5 writes; tokenName is added by v0.16.
var requiredValuesKeys = []string{"apiServerCA", "apiServerURL", "clusterNamespace", "systemRegistrationNamespace", "token"}

// Values is the decoded values.yaml of a token. Raw is written to the file
// unchanged: it is what the controller made.
type Values struct {
	Raw          []byte
	APIServerURL string
	APIServerCA  string
	TokenName    string
	HasTokenName bool
	Warnings     []string
}

var yamlLine = regexp.MustCompile(`line [0-9]+`)

// decodeValues checks the values Secret of token ns/name and decodes it.
// Errors never quote the content: it holds the agent's credential.
func decodeValues(s *corev1.Secret, ns, name string) (*Values, error) {
	where := fmt.Sprintf("Secret %q in namespace %q", s.Name, ns)
	again := fmt.Sprintf("delete the token (kubectl regtoken delete %s -n %s) and create a new one", name, ns)
	if string(s.Type) != valuesSecretType {
		return nil, fmt.Errorf("%s has type %q, not %s, so it was not written by the Fleet controller for token %q: delete or rename that Secret, or use another token name", where, s.Type, valuesSecretType, name)
	}
	raw, ok := s.Data[valuesKey]
	if !ok {
		return nil, fmt.Errorf("%s has no %q key, so the Fleet controller did not finish it: %s", where, valuesKey, again)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil || m == nil {
		detail := "not a YAML mapping"
		if err != nil {
			detail = "not valid YAML"
			if line := yamlLine.FindString(err.Error()); line != "" {
				detail += " (" + line + ")"
			}
		}
		return nil, fmt.Errorf("the %q key of %s is %s: %s", valuesKey, where, detail, again)
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
	str := func(k string) string {
		v, ok := m[k].(string)
		if !ok && m[k] != nil {
			wrongType = append(wrongType, k)
		}
		return v
	}
	v := &Values{Raw: raw, APIServerURL: str("apiServerURL"), APIServerCA: str("apiServerCA")}
	token := str("token")
	clusterNS := str("clusterNamespace")
	str("systemRegistrationNamespace")
	if _, v.HasTokenName = m["tokenName"]; v.HasTokenName {
		v.TokenName = str("tokenName")
	}
	if len(wrongType) > 0 {
		sort.Strings(wrongType)
		return nil, fmt.Errorf("the values in %s have non-string %s: %s", where, strings.Join(wrongType, ", "), again)
	}
	if token == "" {
		return nil, fmt.Errorf("the values in %s have an empty token: the controller has no service account token yet; %s", where, again)
	}
	if !v.HasTokenName {
		v.Warnings = append(v.Warnings, "values.yaml has no tokenName: the Fleet controller is older than v0.16; a v0.16 controller needs the agent chart to get tokenName")
	} else if v.TokenName != name {
		v.Warnings = append(v.Warnings, fmt.Sprintf("values.yaml names token %q, not %q", v.TokenName, name))
	}
	if clusterNS != ns {
		v.Warnings = append(v.Warnings, fmt.Sprintf("values.yaml has clusterNamespace %q, not the token's namespace %q", clusterNS, ns))
	}
	return v, nil
}
