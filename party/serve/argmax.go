package serve

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// argmaxRows returns shares of each row's argmax, the lowest index among equal
// maxima, as a fixed-point value (the index times 2^f) so that a client
// decodes it as it decodes logits. Nothing is opened but what the engine's
// MaxRowsArg opens (triple- and daBit-masked words), so the parties learn
// nothing; the client learns the index alone, not the logits.
//
// Ties are broken before the comparisons: every entry becomes
// x*2^k + (cols-1-j), k = bits.Len(cols-1), so the entries of a row are
// distinct, the maximum is unique and belongs to the lowest index among the
// maxima of x. The engine's MaxRowsArg then gives one winner bit per entry
// (1 at the maximum only) from one comparison layer, and the index is
// sum_j j*winner_j, a local linear combination. Exact while |x| < 2^(61-k)
// in the ring: logits below 2^(61-k-f) in magnitude (2^41 for ten classes
// and 16 fractional bits), far beyond a trained model's.
//
// Rounds: MaxRowsArgRounds (13 for ten classes and N = 3; MaxRows followed
// by a comparison with the maximum took 22).
func argmaxRows(ctx context.Context, e *protocol.Engine, x sharing.Tensor) (sharing.Tensor, error) {
	if len(x.Shape) != 2 || x.Shape[1] < 2 || x.Shape[0]*x.Shape[1] != x.Len() {
		return sharing.Tensor{}, fmt.Errorf("argmax of shape %v: need a matrix of at least two columns", x.Shape)
	}
	rows, cols := x.Shape[0], x.Shape[1]
	k := bits.Len(uint(cols - 1))
	tie := sharing.Zeros(rows, cols)
	for r := range rows {
		for j := range cols {
			tie.Data[r*cols+j] = uint64(cols - 1 - j)
		}
	}
	xs := e.AddPublic(sharing.Scale(x, 1<<k), tie)
	_, winners, err := e.MaxRowsArg(ctx, xs)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("argmax: %w", err)
	}
	one := e.Codec().One()
	index := sharing.Zeros(rows, 1)
	for r := range rows {
		var sum uint64
		for j := range cols {
			sum += uint64(j) * winners.Data[r*cols+j]
		}
		index.Data[r] = sum * one
	}
	return index, nil
}
