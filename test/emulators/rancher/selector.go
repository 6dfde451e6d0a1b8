package rancher

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// mergeListOptions restricts a list, watch or deletecollection to the
// caller's own tokens unless the caller has full access (§3 note 3).
// Up to v2.15.0 only `k=v[,k=v]` selectors parse, and a selector that
// names another user's ID is passed on unchanged (returning that user's
// tokens); afterwards the owner requirement is ANDed onto any selector.
func mergeListOptions(v Version, fullAccess bool, user string, opts metav1.ListOptions) (metav1.ListOptions, error) {
	if fullAccess {
		return opts, nil
	}
	own := labels.Set{LabelUserID: user}
	if v.oldSelectorMerge() {
		if opts == (metav1.ListOptions{}) {
			return metav1.ListOptions{LabelSelector: own.AsSelector().String()}, nil
		}
		caller, err := labels.ConvertSelectorToLabelsMap(opts.LabelSelector)
		if err != nil {
			return opts, err
		}
		if caller.Has(LabelUserID) {
			return opts, nil
		}
		opts.LabelSelector = labels.Merge(caller, own).AsSelector().String()
		return opts, nil
	}
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return opts, err
	}
	req, err := labels.NewRequirement(LabelUserID, selection.Equals, []string{user})
	if err != nil {
		return opts, err
	}
	opts.LabelSelector = sel.Add(*req).String()
	return opts, nil
}
