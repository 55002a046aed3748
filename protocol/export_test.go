package protocol

import (
	"context"

	"github.com/tessera-mpc/tessera/sharing"
)

// MaxRowsOnLanes exposes maxRows with a comparison width to the tests.
func (e *Engine) MaxRowsOnLanes(ctx context.Context, x sharing.Tensor, width int) (sharing.Tensor, error) {
	return e.maxRows(ctx, x, width)
}
