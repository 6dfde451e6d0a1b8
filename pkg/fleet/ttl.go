package fleet

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// Fleet v0.16's CEL rule on spec.ttl (docs/fleet-registration.md §1)
// accepts Go durations in the units ns…h only, at most 2562047h and 32
// characters. --ttl is read with the one TTL grammar (pkg/ttl: d and
// w anywhere, never) and written in a form every Fleet accepts.
const (
	ttlMax       = 2562047 * time.Hour
	ttlMaxLength = 32
)

// TTLSpec is spec.ttl for --ttl v: "" for a token that never expires
// (never, or 0, which Fleet also reads as never), else a Go duration
// without d or w, e.g. 36h or 1h30m. note says when the value was
// converted, so the user sees what was sent.
func TTLSpec(flag string, v ttl.Value) (spec, note string, err error) {
	switch {
	case v.Never:
		return "", "", nil
	case v.Duration == 0:
		return "", fmt.Sprintf("%s 0 means the token never expires", flag), nil
	case v.Duration > ttlMax:
		return "", "", fmt.Errorf("%s %s is too long: Fleet accepts at most 2562047h (about 292 years); pass a shorter %s, or never", flag, ttl.Format(v.Duration), flag)
	}
	spec = goDuration(v.Duration)
	if len(spec) > ttlMaxLength {
		return "", "", fmt.Errorf("%s %s is longer than %d characters as a Go duration (%s): Fleet refuses it; round it to whole seconds", flag, ttl.Format(v.Duration), ttlMaxLength, spec)
	}
	return spec, "", nil
}

// goDuration is d as time.Duration prints it, without zero minute and
// second parts: 36h, 1h30m, 90s.
func goDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"h0m0s", "m0s"} {
		if strings.HasSuffix(s, z) {
			return strings.TrimSuffix(s, z) + z[:1]
		}
	}
	return s
}
