package nn

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// secureArith is the arithmetic of a model on additive shares. Every matrix that
// enters two products (a layer's input: forward and weight gradient; its weights:
// forward and input gradient; its output gradient: both gradients) is opened once
// under a mask and reused; a convolution's input is masked as images and unfolded
// locally (protocol.Engine.ConvMasked), so the unfolded copy is never opened.
//
// A training pass (fuse) leaves a layer's product untruncated when the next
// operation can truncate it in its own rounds: a ReLU (Engine.TruncateReLU), the
// softmax of the logits (Engine.TruncateSoftmax, on softmaxStage's output) or, for
// the first layer's weight gradient, the update (a shifted term of
// Engine.LinearCombos). Each saves the truncation's round; the values differ from
// truncating first by at most N-1 units in the last place (see those functions).
//
// Backward, a training pass leaves every weight and bias gradient at scale
// 2^(2f) for the update to truncate (with its momentum, one truncation), and a
// dense stage's input gradient untruncated when a dense ReLU stage other than
// the first lies below: the ReLU's derivative is an exact bit product at any
// scale, the stage below takes its gradient at 2^(2f) and truncates its own
// products, then at 2^(3f), by 2f bits (one round, as before). That saves the
// round and the opening of the input gradient's truncation. Values at 2^(3f)
// must stay below 2^(62-3f) (2^14 at f = 16), which gradients of a trained
// network do by far. Above f = 17 (fusesGrads) backward truncates every gradient
// at once: values at 2^(2f) or 2^(3f) would leave the update's constants or the
// ring too few bits.
type secureArith struct {
	e      *protocol.Engine
	w, b   []sharing.Tensor
	stages []stage
	fuse   bool
	// softmaxStage is the index of the stage whose output feeds the softmax (-1:
	// none, or not fused).
	softmaxStage int
	// untruncated says the last affine output is a product at scale 2^(2f).
	untruncated bool
	// gradShifts are the extra scales (in bits over f) of the gradients backward
	// returned so far, in its order; wideGrad says the gradient passed down is
	// at 2^(2f).
	gradShifts []int
	wideGrad   bool
}

// minWideGradBits is the fewest integer bits a gradient at 2^(3f) must keep for
// gradients to stay untruncated in backward: 11 (values below 2^11 = 2,048), so
// f <= 17.
const minWideGradBits = 11

// fusesGrads reports whether a training pass leaves gradients untruncated in
// backward (see secureArith).
func (ar *secureArith) fusesGrads() bool {
	return ar.fuse && 62-3*ar.e.Codec().FracBits >= minWideGradBits
}

// keepsInputGrad reports whether affineBack leaves st's input gradient at scale
// 2^(2f) for the stage below (see secureArith).
func (ar *secureArith) keepsInputGrad(st stage) bool {
	if !ar.fusesGrads() || st.kind() != LayerDense {
		return false
	}
	// The stage below must not be the first: its weight gradient would be at
	// 2^(3f), a truncation of its own. A stage's index is its position.
	if st.index < 2 {
		return false
	}
	below := ar.stages[st.index-1]
	return below.kind() == LayerDense && below.act().Name == "relu"
}

// fusesTruncation reports whether affine leaves st's product for the operation
// after it to truncate.
func (ar *secureArith) fusesTruncation(st stage) bool {
	return ar.fuse && (st.act().Name == "relu" || (st.index == ar.softmaxStage && st.act().IsIdentity()))
}

// secureTape keeps a stage's masked input and weights, or an activation's
// pre-activation and derivative, or a max pool's winner indicator (in deriv).
type secureTape struct {
	in, w    *protocol.Masked
	z, deriv sharing.Tensor
}

func (ar *secureArith) enter(scope string) func() { return ar.e.Enter(scope) }

func (*secureArith) rows(x sharing.Tensor) int { return x.Rows() }

func (*secureArith) reshape(x sharing.Tensor, rows, cols int) sharing.Tensor {
	return sharing.Tensor{Shape: []int{rows, cols}, Data: x.Data}
}

func (*secureArith) gather(x sharing.Tensor, idx []int) sharing.Tensor {
	return sharing.Tensor{Shape: []int{x.Rows(), len(idx)}, Data: gatherCols(x.Data, x.Cols(), idx)}
}

func (*secureArith) scatter(x sharing.Tensor, idx []int, cols int) sharing.Tensor {
	return sharing.Tensor{Shape: []int{x.Rows(), cols}, Data: scatterCols(x.Data, idx, cols)}
}

func (ar *secureArith) affine(ctx context.Context, st stage, x sharing.Tensor, train bool) (sharing.Tensor, secureTape, error) {
	e, w, b := ar.e, ar.w[st.param], ar.b[st.param]
	var tp secureTape
	if st.kind() == LayerDense && !train {
		z, err := e.MatMulFixed(ctx, x, w)
		if err != nil {
			return z, tp, err
		}
		return sharing.AddRowVector(z, b), tp, nil
	}
	ms, err := e.MaskMatrices(ctx, x, w)
	if err != nil {
		return sharing.Tensor{}, tp, err
	}
	tp.in, tp.w = ms[0], ms[1]
	var z sharing.Tensor
	if st.kind() == LayerConv {
		z, err = e.ConvMasked(ctx, ms[0], st.conv, false, ms[1], false)
	} else {
		z, err = e.MatMulMasked(ctx, ms[0], false, ms[1], false)
	}
	if err != nil {
		return z, tp, err
	}
	// A convolution's rows are patches: the bias is per map, then the patches of an
	// image are its output row.
	if ar.untruncated = ar.fusesTruncation(st); ar.untruncated {
		z = sharing.AddRowVector(z, sharing.Scale(b, 1<<e.Codec().FracBits))
		return ar.reshape(z, x.Rows(), st.out.Size()), tp, nil
	}
	if z, err = e.Truncate(ctx, z); err != nil {
		return z, tp, err
	}
	z = sharing.AddRowVector(z, b)
	return ar.reshape(z, x.Rows(), st.out.Size()), tp, nil
}

// affineBack: the weight gradient input^T·grad (unfolded input for a convolution)
// and, below the first layer, the input gradient grad·W^T (folded back onto the
// images for a convolution): one masking round and one truncation round for both
// (none when a training pass leaves both to others, see secureArith).
func (ar *secureArith) affineBack(ctx context.Context, st stage, s secureTape, g sharing.Tensor, wantInput bool) (dW, db, dx sharing.Tensor, err error) {
	e, f := ar.e, ar.e.Codec().FracBits
	rows := g.Rows()
	wide := ar.wideGrad
	ar.wideGrad = false
	if st.kind() == LayerConv {
		g = ar.reshape(g, rows*st.conv.Patches(), st.Maps)
	}
	db = sharing.SumRows(g)
	ms, err := e.MaskMatrices(ctx, g)
	if err != nil {
		return dW, db, dx, err
	}
	if st.kind() == LayerConv {
		dW, err = e.ConvMasked(ctx, s.in, st.conv, true, ms[0], false)
	} else {
		dW, err = e.MatMulMasked(ctx, s.in, true, ms[0], false)
	}
	if err != nil {
		return dW, db, dx, err
	}
	if wantInput {
		if dx, err = e.MatMulMasked(ctx, ms[0], false, s.w, true); err != nil {
			return dW, db, dx, err
		}
		if st.kind() == LayerConv {
			// Fold before truncating: fewer entries, one rounding per input entry.
			dx = ar.scatter(ar.reshape(dx, rows, st.conv.Patches()*st.conv.PatchSize()), st.unfold, st.in.Size())
		}
	}
	if !ar.fusesGrads() {
		if !wantInput {
			dW, err = e.Truncate(ctx, dW)
			return dW, db, dx, err
		}
		out, err := e.TruncateMany(ctx, f, dW, dx)
		if err != nil {
			return dW, db, dx, err
		}
		return out[0], db, out[1], nil
	}
	return ar.truncateGrads(ctx, st, dW, db, dx, wide, wantInput)
}

// truncateGrads finishes a training pass's affineBack: the weight and bias
// gradients go to the update at 2^(2f) (dW from a gradient at 2^(2f) is at
// 2^(3f) and loses f bits here), the input gradient is truncated to 2^f, or by
// 2f bits from 2^(3f), or left at 2^(2f) for the stage below (keepsInputGrad).
// One round at most.
func (ar *secureArith) truncateGrads(ctx context.Context, st stage, dW, db, dx sharing.Tensor, wide, wantInput bool) (sharing.Tensor, sharing.Tensor, sharing.Tensor, error) {
	e, f := ar.e, ar.e.Codec().FracBits
	bShift := 0
	if wide {
		bShift = f
	}
	ar.gradShifts = append(ar.gradShifts, f, bShift)
	var bits []int
	var xs []sharing.Tensor
	if wide {
		bits, xs = append(bits, f), append(xs, dW)
	}
	switch {
	case !wantInput:
	case wide:
		bits, xs = append(bits, 2*f), append(xs, dx)
	case ar.keepsInputGrad(st):
		ar.wideGrad = true
	default:
		bits, xs = append(bits, f), append(xs, dx)
	}
	if len(xs) == 0 {
		return dW, db, dx, nil
	}
	// Compact openings: the input gradient's truncation by 2f bits sends half the
	// words (two lanes a word) for N - 1/2 ulp of error instead of one; the
	// others (f bits, one lane) are plain truncations.
	out, err := e.TruncateEachCompact(ctx, bits, xs)
	if err != nil {
		return dW, db, dx, err
	}
	if wide {
		dW, out = out[0], out[1:]
	}
	if len(out) > 0 {
		dx = out[0]
	}
	return dW, db, dx, nil
}

func (ar *secureArith) activate(ctx context.Context, a Activation, z sharing.Tensor, train bool) (out sharing.Tensor, tp secureTape, err error) {
	e := ar.e
	tp.z = z
	if ar.untruncated {
		ar.untruncated = false
		if a.Name != "relu" {
			return out, tp, fmt.Errorf("nn: activation %s after an untruncated product", a.Name)
		}
		out, tp.deriv, err = e.TruncateReLU(ctx, z)
		return out, tp, err
	}
	switch {
	case a.IsPolynomial():
		out, err = e.Polynomial(ctx, z, a.Coeffs)
	case a.Name == "relu":
		out, tp.deriv, err = e.ReLU(ctx, z)
	case a.Name == "sigmoid":
		out, err = e.Sigmoid(ctx, z)
		if err == nil && train {
			// sigma' = sigma (1 - sigma), computed now while sigma is at hand.
			tp.deriv, err = e.MulFixed(ctx, out, e.AddScalar(sharing.Neg(out), e.Codec().One()))
		}
	default:
		err = fmt.Errorf("nn: activation %s has no secure implementation", a.Name)
	}
	return out, tp, err
}

// activateBack multiplies the gradient by the activation's derivative.
func (ar *secureArith) activateBack(ctx context.Context, a Activation, s secureTape, g sharing.Tensor) (sharing.Tensor, error) {
	e := ar.e
	switch {
	case a.IsPolynomial():
		d, err := e.Polynomial(ctx, s.z, a.Derivative())
		if err != nil {
			return g, err
		}
		return e.MulFixed(ctx, g, d)
	case a.Name == "relu":
		// The derivative is a shared bit at integer scale: the product needs no
		// truncation, and as a bit product it opens a bit and a word, not two words.
		return e.MulBits(ctx, s.deriv, g)
	default:
		return e.MulFixed(ctx, g, s.deriv)
	}
}

// maxRows is the engine's MaxRows; for training, MaxRowsArg, whose comparisons
// also give the winner bits (1 at every entry equal to its row's maximum, ties
// included, at integer scale) without a second comparison layer. Both compare on
// MaxPoolCompareBits: exact while a window's entries differ by less than
// protocol.MaxPoolBound (32,768 at f = 16), as ReLU is below ReLUBound.
// A party learns nothing from either: only masked values and shared bits move.
func (ar *secureArith) maxRows(ctx context.Context, x sharing.Tensor, train bool) (sharing.Tensor, secureTape, error) {
	var tp secureTape
	width := protocol.MaxPoolCompareBits(ar.e.Codec().FracBits)
	if !train {
		m, err := ar.e.MaxRowsOn(ctx, x, width)
		return m, tp, err
	}
	m, winners, err := ar.e.MaxRowsArgOn(ctx, x, width)
	tp.deriv = winners
	return m, tp, err
}

// maxRowsBack multiplies the row gradient by the winner bits: exact (integer-scale
// bits, MulBits), one round.
func (ar *secureArith) maxRowsBack(ctx context.Context, s secureTape, g sharing.Tensor) (sharing.Tensor, error) {
	return ar.e.MulBits(ctx, s.deriv, broadcastCols(g, s.deriv.Cols()))
}

func (ar *secureArith) scale(ctx context.Context, c float64, x sharing.Tensor) (sharing.Tensor, error) {
	out, err := ar.e.ScaleFixed(ctx, c, x)
	if err != nil {
		return x, err
	}
	return out[0], nil
}

// broadcastCols repeats a column vector across cols columns.
func broadcastCols(v sharing.Tensor, cols int) sharing.Tensor {
	out := sharing.Zeros(v.Len(), cols)
	for i, x := range v.Data {
		for j := 0; j < cols; j++ {
			out.Data[i*cols+j] = x
		}
	}
	return out
}
