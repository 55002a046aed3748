package nn

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Aggregate test metrics on a shared model's predictions: the predictions stay
// shared and only one total per metric is meant to be opened, so a party learns
// the model's score on public rows, not its outputs row by row (which, with enough
// rows, would pin the model down).

// SquaredErrorTotal returns shares of the sum over all entries of (pred - target)^2,
// fixed point, for shared predictions and public targets.
func SquaredErrorTotal(ctx context.Context, e *protocol.Engine, pred sharing.Tensor, target *mat.Dense) (sharing.Tensor, error) {
	r, c := target.Dims()
	if pred.Len() != r*c {
		return sharing.Tensor{}, fmt.Errorf("nn: squared error of %v predictions against %dx%d targets", pred.Shape, r, c)
	}
	codec := e.Codec()
	neg := sharing.Zeros(pred.Shape...)
	for i := range neg.Data {
		v, err := codec.Encode(-target.At(i/c, i%c))
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: test target: %w", err)
		}
		neg.Data[i] = v
	}
	sq, err := e.SquareFixed(ctx, e.AddPublic(pred, neg))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: squared error: %w", err)
	}
	return sumAll(sq), nil
}

// CorrectCount returns shares of the number of rows (integer scale, not fixed
// point) where shared predictions match public targets as Accuracy decides: with one
// output, [pred > 0.5] = [target > 0.5]; with several, the first maximal output
// of pred is the first maximal entry of target. Two comparison layers (R_msb
// rounds each), whatever the number of rows.
func CorrectCount(ctx context.Context, e *protocol.Engine, pred sharing.Tensor, target *mat.Dense) (sharing.Tensor, error) {
	r, c := target.Dims()
	if pred.Len() != r*c {
		return sharing.Tensor{}, fmt.Errorf("nn: accuracy of %v predictions against %dx%d targets", pred.Shape, r, c)
	}
	if c == 1 {
		return correctBinary(ctx, e, pred, target)
	}
	// Row i is wrong iff some j beats its label l: pred[j] >= pred[l] for j < l
	// (argmax keeps the first maximum), pred[j] > pred[l] for j > l. Both are
	// signs of public-label differences: [pred[l] - pred[j] - 1 < 0] and
	// [pred[l] - pred[j] < 0].
	diffs := sharing.Zeros(r * (c - 1))
	for i := range r {
		l := argmax(target.RawRowView(i))
		k := i * (c - 1)
		for j := range c {
			if j == l {
				continue
			}
			diffs.Data[k] = pred.Data[i*c+l] - pred.Data[i*c+j]
			if j < l && e.Self() == 0 {
				diffs.Data[k]-- // one unit in the last place: >= becomes >
			}
			k++
		}
	}
	beaten, err := e.LessThanZero(ctx, diffs)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: accuracy: %w", err)
	}
	losses := sharing.Zeros(r)
	for i := range r {
		for _, b := range beaten.Data[i*(c-1) : (i+1)*(c-1)] {
			losses.Data[i] += b
		}
	}
	// [losses - 1 < 0] = [losses = 0]: the row is right.
	right, err := e.LessThanZero(ctx, e.AddScalar(losses, ^uint64(0)))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: accuracy: %w", err)
	}
	return sumAll(right), nil
}

// correctBinary counts rows with [pred > 0.5] = [target > 0.5].
func correctBinary(ctx context.Context, e *protocol.Engine, pred sharing.Tensor, target *mat.Dense) (sharing.Tensor, error) {
	half := e.Codec().MustEncode(0.5)
	// [0.5 - pred < 0] = [pred > 0.5]
	above, err := e.LessThanZero(ctx, e.AddScalar(sharing.Neg(pred), half))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: accuracy: %w", err)
	}
	right := sharing.Zeros(above.Len())
	for i, b := range above.Data {
		if target.At(i, 0) > 0.5 {
			right.Data[i] = b
		} else {
			right.Data[i] = -b
			if e.Self() == 0 {
				right.Data[i]++
			}
		}
	}
	return sumAll(right), nil
}

func sumAll(t sharing.Tensor) sharing.Tensor {
	total := sharing.Zeros(1)
	for _, v := range t.Data {
		total.Data[0] += v
	}
	return total
}
