package protocol

import (
	"context"

	"github.com/tessera-mpc/tessera/sharing"
)

// MaxRowsOnLanes exposes maxRows with a comparison width to the tests.
func (e *Engine) MaxRowsOnLanes(ctx context.Context, x sharing.Tensor, width int) (sharing.Tensor, error) {
	return e.maxRows(ctx, x, width)
}

// RideForTest queues an additive opening for the next opening round (ride) and
// returns a function that gives its sum once that round has run.
func (e *Engine) RideForTest(words []uint64) func() []uint64 {
	r := e.ride(words)
	return func() []uint64 { return r.sum }
}
