package fleet

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Label is one --label KEY=VALUE, kept in the order given so the printed
// command reads like the user's.
type Label struct{ Key, Value string }

// droppedLabelPrefixes are label key prefixes Fleet drops at registration
// (v0.12.19, v0.13.15, v0.14.10, v0.15.6, v0.16.1+; PRs #5600–#5605).
var droppedLabelPrefixes = []string{"fleet.cattle.io/", "management.cattle.io/"}

// ParseLabels checks --label values. They become labels of the Fleet
// Cluster object, so they must be valid Kubernetes labels: anything else
// would make the registration fail on the downstream side, long after the
// token was used.
func ParseLabels(in []string) (labels []Label, warnings []string, err error) {
	seen := map[string]bool{}
	for _, kv := range in {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--label %q has no '=': pass KEY=VALUE, e.g. --label env=prod", kv)
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, nil, fmt.Errorf("--label key %q is not a valid label key: %s; fix the key", key, errs[0])
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return nil, nil, fmt.Errorf("--label %s value %q is not a valid label value: %s; fix the value", key, value, errs[0])
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("--label %s is given twice: pass each key once", key)
		}
		seen[key] = true
		for _, p := range droppedLabelPrefixes {
			if strings.HasPrefix(key, p) {
				warnings = append(warnings, fmt.Sprintf("label %s: Fleet drops label keys prefixed %s at registration; the cluster will not get it", key, p))
			}
		}
		labels = append(labels, Label{Key: key, Value: value})
	}
	return labels, warnings, nil
}

// sortedLabels are a label map in key order, as --label flags would be.
func sortedLabels(m map[string]string) []Label {
	out := make([]Label, 0, len(m))
	for k, v := range m {
		out = append(out, Label{k, v})
	}
	slices.SortFunc(out, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// sameLabels tells whether labels given say what the map holds.
func sameLabels(m map[string]string, given []Label) bool {
	if len(m) != len(given) {
		return false
	}
	for _, l := range given {
		if v, ok := m[l.Key]; !ok || v != l.Value {
			return false
		}
	}
	return true
}

// formatLabels is a label map for a sentence: k=v,k2=v2 in key order.
func formatLabels(m map[string]string) string {
	parts := []string{}
	for _, l := range sortedLabels(m) {
		parts = append(parts, l.Key+"="+l.Value)
	}
	return strings.Join(parts, ",")
}
