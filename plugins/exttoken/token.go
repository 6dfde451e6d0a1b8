package exttoken

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// now is the clock of every command; tests stop it.
var now = time.Now

// extToken is the part of an ext Token (docs/rancher-tokens.md §2) the
// commands reason about.
type extToken struct {
	Name, UserID, Kind, Description, ClusterName string
	TTL                                          int64
	Enabled                                      bool
	Created, LastUsed, LastActivity              time.Time
	Current                                      bool
	UID, ResourceVersion                         string
}

func tokenFrom(u *unstructured.Unstructured) extToken {
	t := extToken{Name: u.GetName(), Created: u.GetCreationTimestamp().Time, UID: string(u.GetUID()), ResourceVersion: u.GetResourceVersion()}
	t.UserID, _, _ = unstructured.NestedString(u.Object, "spec", "userID")
	t.Kind, _, _ = unstructured.NestedString(u.Object, "spec", "kind")
	t.Description, _, _ = unstructured.NestedString(u.Object, "spec", "description")
	t.ClusterName, _, _ = unstructured.NestedString(u.Object, "spec", "clusterName")
	t.TTL, _, _ = unstructured.NestedInt64(u.Object, "spec", "ttl")
	enabled, found, _ := unstructured.NestedBool(u.Object, "spec", "enabled")
	t.Enabled = !found || enabled // null means true
	t.Current, _, _ = unstructured.NestedBool(u.Object, "status", "current")
	t.LastUsed = parseTime(u, "status", "lastUsedAt")
	t.LastActivity = parseTime(u, "status", "lastActivitySeen")
	return t
}

func parseTime(u *unstructured.Unstructured, path ...string) time.Time {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// expiresAt is computed from creation and TTL, never taken from the
// stored status (for v3 tokens the stored field is stale, §7).
func (t extToken) expiresAt() (time.Time, bool) { return expiry(t.Created, t.TTL) }

func (t extToken) expired(now time.Time) bool {
	at, ok := t.expiresAt()
	return ok && !now.Before(at)
}
