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
// MaxRows and LessThanZero open (masked differences), so the parties learn
// nothing; the client learns the index alone, not the logits.
//
// Ties are broken before the comparisons: every entry becomes
// x*2^k + (cols-1-j), k = bits.Len(cols-1), so the entries of a row are
// distinct, the maximum is unique and belongs to the lowest index among the
// maxima of x. Then [x'_j < max] is 0 at the winner only, and the index is
// sum_j j*(1 - [x'_j < max]), a local linear combination. Exact while
// |x| < 2^(61-k) in the ring: logits below 2^(61-k-f) in magnitude (2^41 for
// ten classes and 16 fractional bits), far beyond a trained model's.
//
// Rounds: MaxRowsRounds + MSBRounds.
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
	best, err := e.MaxRows(ctx, xs)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("argmax: %w", err)
	}
	diff := sharing.Zeros(rows, cols)
	for r := range rows {
		for j := range cols {
			diff.Data[r*cols+j] = xs.Data[r*cols+j] - best.Data[r]
		}
	}
	below, err := e.LessThanZero(ctx, diff)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("argmax: %w", err)
	}
	one := e.Codec().One()
	index := sharing.Zeros(rows, 1)
	for r := range rows {
		var sum uint64
		for j := range cols {
			sum -= uint64(j) * below.Data[r*cols+j]
		}
		index.Data[r] = sum * one
	}
	// + sum_j j, a public constant, at fixed point.
	return e.AddScalar(index, uint64(cols*(cols-1)/2)*one), nil
}
