package cli

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
)

// RequestBudget is --qps and --burst: how fast a command that registers
// many clusters may send requests to the management cluster. Past it,
// requests wait on the client; a server that still sheds load answers 429
// with Retry-After, which client-go honours and retries (up to 10 times)
// before a request fails.
type RequestBudget struct {
	QPS   float32
	Burst int
}

// AddFlags binds --qps and --burst.
func (b *RequestBudget) AddFlags(fs *pflag.FlagSet) {
	fs.Float32Var(&b.QPS, "qps", 50, "Requests per second to the management cluster at most (a 429 from it is waited out and retried as it asks).")
	fs.IntVar(&b.Burst, "burst", 100, "Requests that may go at once above --qps.")
}

// Validate checks the flags.
func (b *RequestBudget) Validate() error {
	switch {
	case b.QPS <= 0:
		return fmt.Errorf("--qps %g is not positive: pass requests per second, e.g. --qps 20", b.QPS)
	case b.Burst < 1:
		return fmt.Errorf("--burst %d is less than 1: pass e.g. --burst 40", b.Burst)
	}
	return nil
}

// Apply makes the management clients of f keep to the budget; it must
// come before the first client is built.
func (b *RequestBudget) Apply(f Clients) {
	cf := f.Flags()
	wrap := cf.WrapConfigFn
	cf.WrapConfigFn = func(c *rest.Config) *rest.Config {
		if wrap != nil {
			c = wrap(c)
		}
		c.QPS, c.Burst = b.QPS, b.Burst
		return c
	}
}
