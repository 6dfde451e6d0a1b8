package exttoken

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// humanAgo renders a past time the way kubectl renders AGE, with "ago";
// zero is "<never>".
func humanAgo(t, now time.Time) string {
	if t.IsZero() {
		return "<never>"
	}
	return duration.HumanDuration(now.Sub(t)) + " ago"
}

// humanExpires renders an expiry relative to now: "in 29d", "3h ago",
// "never".
func humanExpires(at time.Time, ok bool, now time.Time) string {
	if !ok {
		return ttl.Never
	}
	if at.After(now) {
		return "in " + duration.HumanDuration(at.Sub(now))
	}
	return duration.HumanDuration(now.Sub(at)) + " ago"
}

// humanTTL renders a TTL in ms as the server's table does
// (duration.HumanDuration, so -1 shows as 0s there); we say "never".
func humanTTL(ms int64) string {
	if ms < 0 {
		return ttl.Never
	}
	return duration.HumanDuration(time.Duration(ms) * time.Millisecond)
}
