package rancher

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The wire types of ext.cattle.io/v1 Kubeconfig, written from
// docs/rancher-tokens.md §12 and §13 (fields, errors, table).

// Names of Rancher's ext kubeconfigs.
const (
	KubeconfigResource = "kubeconfigs"
	KubeconfigKind     = "Kubeconfig"
	KubeconfigListKind = "KubeconfigList"
	KubeconfigSingular = "kubeconfig"
	// KubeconfigNamespace holds one ConfigMap per Kubeconfig: the
	// emulator's storage (Rancher's own is not part of the API).
	KubeconfigNamespace = "cattle-kubeconfigs"
	// LabelKubeconfigID links a kubeconfig's tokens to it (§2, §12).
	LabelKubeconfigID = "authn.management.cattle.io/kubeconfig-id"
	// KubeconfigTokenKind is spec.kind of the tokens a Kubeconfig mints.
	KubeconfigTokenKind = "kubeconfig"
	// DefaultEntry names the kubeconfig entry for Rancher itself (the
	// server URL), present unless includeDefaultEntry is false (2.15+).
	DefaultEntry = "rancher"
	// KubeconfigGeneratePrefix starts generated Kubeconfig names.
	KubeconfigGeneratePrefix = "kubeconfig-"
)

// KubeconfigGroupResource is kubeconfigs.ext.cattle.io.
var KubeconfigGroupResource = schema.GroupResource{Group: Group, Resource: KubeconfigResource}

// Kubeconfig is ext.cattle.io/v1 Kubeconfig.
type Kubeconfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              KubeconfigSpec   `json:"spec"`
	Status            KubeconfigStatus `json:"status,omitempty"`
}

// KubeconfigSpec is what a caller asks for. TTL is in seconds (§12).
type KubeconfigSpec struct {
	// Clusters are management cluster IDs; "*" first means every
	// cluster the caller may reach.
	Clusters       []string `json:"clusters,omitempty"`
	CurrentContext string   `json:"currentContext,omitempty"`
	Description    string   `json:"description,omitempty"`
	TTL            int64    `json:"ttl,omitempty"`
	// IncludeDefaultEntry exists from 2.15.0; nil means true.
	IncludeDefaultEntry *bool `json:"includeDefaultEntry,omitempty"`
}

// KubeconfigStatus is set by the server; Value only in the create
// response.
type KubeconfigStatus struct {
	Summary string   `json:"summary,omitempty"`
	Tokens  []string `json:"tokens,omitempty"`
	Value   string   `json:"value,omitempty"`
}

// KubeconfigList is ext.cattle.io/v1 KubeconfigList.
type KubeconfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Kubeconfig `json:"items"`
}

func (k *Kubeconfig) setTypeMeta() {
	k.APIVersion = GroupVersion.String()
	k.Kind = KubeconfigKind
}

// includeDefaultEntry: the field's default is true.
func (k *Kubeconfig) includeDefaultEntry() bool {
	return k.Spec.IncludeDefaultEntry == nil || *k.Spec.IncludeDefaultEntry
}
