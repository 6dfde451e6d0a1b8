// Package rancherimport imports existing clusters into Rancher through
// its API, as docs/rancher-tokens.md §13 describes: the provisioning
// cluster, its management ID, the import token wherever the Rancher
// release keeps it, the manifest fetched over HTTPS trusting Rancher's CA,
// its objects applied server-side downstream, and the wait until the
// management cluster is Ready. It knows nothing of flags or printing.
//
// The import URL and the token are credentials: no error, state or
// result of this package carries them; only Token.Reveal and
// Manifest.Bytes hand them out, for a caller the user asked to print them.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package rancherimport

import "k8s.io/apimachinery/pkg/runtime/schema"

// Rancher's names (§13).
const (
	// DefaultWorkspace is the namespace of provisioning clusters.
	DefaultWorkspace = "fleet-default"
	// TokenName is the import token Rancher creates in the cluster's
	// namespace.
	TokenName = "default-token"
	// FieldManager owns what import applies downstream.
	FieldManager = "kubectl-regtoken"
	// AgentNamespace and AgentDeployment are the agent the manifest runs.
	AgentNamespace  = "cattle-system"
	AgentDeployment = "cattle-cluster-agent"
	// CreatorAnnotation is where Rancher's webhook records who created a
	// provisioning cluster.
	CreatorAnnotation = "field.cattle.io/creatorId"
)

var (
	// ProvisioningClustersGVR is clusters.provisioning.cattle.io/v1.
	ProvisioningClustersGVR = schema.GroupVersionResource{Group: "provisioning.cattle.io", Version: "v1", Resource: "clusters"}
	// ManagementClustersGVR is clusters.management.cattle.io/v3.
	ManagementClustersGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "clusters"}
	// ImportTokensGVR is Rancher's clusterregistrationtokens.management.cattle.io
	// (not Fleet's of the same plural).
	ImportTokensGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "clusterregistrationtokens"}
	// SettingsGVR is settings.management.cattle.io.
	SettingsGVR = schema.GroupVersionResource{Group: "management.cattle.io", Version: "v3", Resource: "settings"}
)
