package rancher

import "fmt"

// Version selects which Rancher release the emulator behaves like, for the
// differences listed in docs/rancher-tokens.md §1 and §3.
type Version string

// The releases whose ext token behaviour differs.
const (
	V2_12 Version = "2.12" // no bearerToken, no clusterName, no deletecollection, 500 for a missing token ID
	V2_13 Version = "2.13" // bearerToken, clusterName, deletecollection, 403 for a missing token ID
	V2_14 Version = "2.14" // WatchList fix
	V2_15 Version = "2.15" // v2.15.0: still returns hash, still the old selector merge
	Main  Version = "main" // hash no longer returned, labels.Parse selector merge, default/max TTL settings
)

// Versions lists every accepted Version, oldest first.
var Versions = []Version{V2_12, V2_13, V2_14, V2_15, Main}

// ParseVersion accepts "2.12", "v2.13", "2.15.0", "main".
func ParseVersion(s string) (Version, error) {
	switch s {
	case "2.12", "v2.12", "2.12.0", "v2.12.0":
		return V2_12, nil
	case "2.13", "v2.13", "2.13.0", "v2.13.0":
		return V2_13, nil
	case "2.14", "v2.14", "2.14.0", "v2.14.0":
		return V2_14, nil
	case "2.15", "v2.15", "2.15.0", "v2.15.0":
		return V2_15, nil
	case "main", "2.16", "v2.16":
		return Main, nil
	}
	return "", fmt.Errorf("unknown Rancher version %q: use one of 2.12, 2.13, 2.14, 2.15, main", s)
}

func (v Version) rank() int {
	for i, x := range Versions {
		if x == v {
			return i
		}
	}
	return len(Versions) - 1
}

func (v Version) atLeast(o Version) bool { return v.rank() >= o.rank() }

// bearerToken: status.bearerToken in create responses (2.13+).
func (v Version) bearerToken() bool { return v.atLeast(V2_13) }

// clusterName: spec.clusterName exists (2.13+).
func (v Version) clusterName() bool { return v.atLeast(V2_13) }

// deleteCollection: the deletecollection verb (2.13+).
func (v Version) deleteCollection() bool { return v.atLeast(V2_13) }

// forbiddenWithoutTokenID: 403 instead of 500 for a missing token ID (2.13+).
func (v Version) forbiddenWithoutTokenID() bool { return v.atLeast(V2_13) }

// watchList: sendInitialEvents passed on to the Secret watch (2.14+).
func (v Version) watchList() bool { return v.atLeast(V2_14) }

// returnsHash: status.hash in get/list/watch/update, up to v2.15.0.
func (v Version) returnsHash() bool { return !v.atLeast(Main) }

// oldSelectorMerge: labels.ConvertSelectorToLabelsMap merge with the
// other-user pass-through bug, up to v2.15.0.
func (v Version) oldSelectorMerge() bool { return !v.atLeast(Main) }

// ingestWithDefault: main's IngestTTL with auth-token-default-ttl-minutes.
func (v Version) ingestWithDefault() bool { return v.atLeast(Main) }
