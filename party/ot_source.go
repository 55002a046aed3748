package party

import (
	"context"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/ot"
)

// newOTSource sets up the OT-based source of binary material and truncation pairs
// over its own channel: base OTs with every peer, then IKNP extension on demand.
func newOTSource(ctx context.Context, tr protocol.Transport, _ Randomness, _ int) (protocol.Source, error) {
	return ot.Setup(ctx, tr)
}
