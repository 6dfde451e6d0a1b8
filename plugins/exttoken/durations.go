package exttoken

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// notUsed is a last use that never happened. Not "never": that word is
// the plugins' one word for a credential that never expires, and the two
// stand in one row.
const notUsed = "unused"

// humanAgo renders a last use the way kubectl renders AGE, with "ago";
// zero is notUsed.
func humanAgo(t, now time.Time) string {
	if t.IsZero() {
		return notUsed
	}
	return duration.HumanDuration(now.Sub(t)) + " ago"
}

// usedStamp is a last use as describe shows it (printer.Stamp); zero is
// notUsed.
func usedStamp(t, now time.Time) string {
	if t.IsZero() {
		return notUsed
	}
	return printer.Stamp(t, now)
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
