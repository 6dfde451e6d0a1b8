package cli

import "testing"

func TestWorkersRateRaisesButNeverLowers(t *testing.T) {
	for _, tc := range []struct {
		qps       float32
		burst, n  int
		wantQPS   float32
		wantBurst int
	}{
		{qps: 50, burst: 100, n: 1, wantQPS: 50, wantBurst: 100},       // one worker: the shared limit
		{qps: 50, burst: 100, n: 16, wantQPS: 800, wantBurst: 100},     // 16 workers: 50 each
		{qps: 50, burst: 10, n: 16, wantQPS: 800, wantBurst: 32},       // burst at least two per worker
		{qps: 2000, burst: 4000, n: 4, wantQPS: 2000, wantBurst: 4000}, // a higher configured limit stays
	} {
		q, b := workersRate(tc.qps, tc.burst, tc.n)
		if q != tc.wantQPS || b != tc.wantBurst {
			t.Errorf("workersRate(%v, %d, %d) = %v, %d; want %v, %d", tc.qps, tc.burst, tc.n, q, b, tc.wantQPS, tc.wantBurst)
		}
	}
}
