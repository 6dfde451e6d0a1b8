package rancher

import "fmt"

// Release is the Rancher patch release whose cluster import behaves as
// emulated (docs/rancher-tokens.md §13). Import differs by patch release,
// where the ext token API (Version) differs by minor release.
type Release string

// The releases whose import side differs.
const (
	R2_12_11 Release = "2.12.11" // token in status.token; /v3/import renders for any token
	R2_12_12 Release = "2.12.12" // token in status.token; /v3/import checks it
	R2_13_8  Release = "2.13.8"  // crt-token-<name> Secret, literal {token} in the commands, no rotation
	R2_14_4  Release = "2.14.4"  // as 2.13.8
	R2_15_0  Release = "2.15.0"  // as 2.13.8, and crt-token-ttl-rotation on: expiry, grace, previous token
)

// Releases lists every accepted Release, oldest first.
var Releases = []Release{R2_12_11, R2_12_12, R2_13_8, R2_14_4, R2_15_0}

// ParseRelease accepts "2.15.0" and "v2.15.0".
func ParseRelease(s string) (Release, error) {
	for _, r := range Releases {
		if s == string(r) || s == "v"+string(r) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown Rancher release %q: use one of 2.12.11, 2.12.12, 2.13.8, 2.14.4, 2.15.0", s)
}

// Version is the minor release, for the ext token API.
func (r Release) Version() Version {
	v, err := ParseVersion(string(r[:4]))
	if err != nil {
		return Main
	}
	return v
}

// tokenInSecret: the token lives in Secret crt-token-<name> and the
// command fields hold a literal {token}.
func (r Release) tokenInSecret() bool { return r != R2_12_11 && r != R2_12_12 }

// checksImportToken: /v3/import refuses a token that is not the cluster's.
func (r Release) checksImportToken() bool { return r != R2_12_11 }

// rotates: crt-token-ttl-rotation is on by default.
func (r Release) rotates() bool { return r == R2_15_0 }

// registryEnv is the agent's registry variable in the rendered manifest.
func (r Release) registryEnv() string {
	if r == R2_15_0 {
		return "CATTLE_SYSTEM_DEFAULT_REGISTRY"
	}
	return "CATTLE_CLUSTER_REGISTRY"
}
