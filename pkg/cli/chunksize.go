package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// DefaultChunkSize is kubectl's --chunk-size default: lists come in pages
// of this many objects (client-go's tools/pager does the paging).
const DefaultChunkSize int64 = 500

// AddChunkSizeFlag binds --chunk-size as kubectl does.
func AddChunkSizeFlag(cmd *cobra.Command, p *int64) {
	AddChunkSizeFlagDefault(cmd, p, DefaultChunkSize)
}

// AddChunkSizeFlagDefault binds --chunk-size with a default measured for
// one list (small objects page well in larger chunks).
func AddChunkSizeFlagDefault(cmd *cobra.Command, p *int64, def int64) {
	*p = def
	cmd.Flags().Int64Var(p, "chunk-size", def, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
}

// ValidateChunkSize is the one check and wording of --chunk-size n for
// the three plugins: 0 (one request) or a page size.
func ValidateChunkSize(n int64) error {
	if n < 0 {
		return fmt.Errorf("--chunk-size %d is negative: pass 0 for one request, or a page size", n)
	}
	return nil
}
