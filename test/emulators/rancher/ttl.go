package rancher

import "time"

// ttlSettings are the settings TTL ingest reads, in minutes, effective
// values (§8). hasDefault tells whether auth-token-default-ttl-minutes
// exists (main only).
type ttlSettings struct {
	maxMinutes     int64
	defaultMinutes int64
	hasDefault     bool
}

const minute = int64(time.Minute / time.Millisecond)

// ingestTTL turns a requested TTL (ms; 0 = default, <0 = never) into the
// stored one, per §4 for the emulated version.
func ingestTTL(v Version, s ttlSettings, ttl int64) int64 {
	if !v.ingestWithDefault() {
		// 2.12–2.15 clampMaxTTL.
		max := s.maxMinutes * minute
		if max <= 0 {
			if ttl == 0 {
				return -1
			}
			return ttl
		}
		if ttl <= 0 || ttl > max {
			return max
		}
		return ttl
	}
	// main IngestTTL.
	max := int64(-1)
	if s.maxMinutes >= 1 {
		max = s.maxMinutes * minute
	}
	def := max
	if s.hasDefault && s.defaultMinutes != 0 {
		def = s.defaultMinutes * minute
	}
	if ttl == 0 {
		ttl = def
	}
	if max > 0 && (ttl < 0 || ttl > max) {
		ttl = max
	}
	return ttl
}

// ttlGreater reports a > b where any negative TTL is infinity (§4).
func ttlGreater(a, b int64) bool {
	switch {
	case a < 0 && b < 0:
		return false
	case a < 0:
		return true
	case b < 0:
		return false
	}
	return a > b
}
