package nn

import (
	"context"
	"fmt"
)

// A model is a sequence of layers run over one of two arithmetics: float64
// matrices (Plain, the reference) or additive shares on a protocol.Engine
// (Secure). The order of the layers' steps, what each keeps for its backward pass,
// which parameter receives which gradient and how pooling and unfolding move
// entries are written once, here and in layers.go; an arithmetic supplies only the
// primitives below. So the plaintext twin follows the secure model by
// construction: they can differ only inside a primitive, and each primitive is
// tested against its twin.
//
// T is a batch of examples, one per row; S is what a primitive keeps for its
// backward pass.
type arithmetic[T, S any] interface {
	// enter opens a cost-accounting scope (a no-op in plaintext).
	enter(scope string) (exit func())
	rows(x T) int
	reshape(x T, rows, cols int) T
	gather(x T, idx []int) T            // gatherCols
	scatter(x T, idx []int, cols int) T // scatterCols
	// affine is x·W_p + b_p for a dense stage and Unfold(x)·W_p + b_p, one output
	// image per row, for a conv2d stage.
	affine(ctx context.Context, st stage, x T, train bool) (T, S, error)
	// affineBack returns the gradients of W_p and b_p and, when wantInput, of the
	// stage's input, given the gradient g of its output.
	affineBack(ctx context.Context, st stage, s S, g T, wantInput bool) (dW, db, dx T, err error)
	activate(ctx context.Context, a Activation, z T, train bool) (T, S, error)
	activateBack(ctx context.Context, a Activation, s S, g T) (T, error)
	// maxRows is the maximum of every row; maxRowsBack gives every entry equal to
	// its row's maximum the row's gradient (ties share it), the others 0.
	maxRows(ctx context.Context, x T, train bool) (T, S, error)
	maxRowsBack(ctx context.Context, s S, g T) (T, error)
	scale(ctx context.Context, c float64, x T) (T, error)
}

// tape is what a stage keeps from forward for backward.
type tape[S any] struct{ op, act S }

// forward runs the stages on x; with train, it keeps what backward needs.
func forward[T, S any](ctx context.Context, ar arithmetic[T, S], stages []stage, x T, train bool) (T, []tape[S], error) {
	tapes := make([]tape[S], len(stages))
	for l, st := range stages {
		exit := func() {}
		if train {
			exit = ar.enter(fmt.Sprintf("layer %d forward", l+1))
		}
		var err error
		x, tapes[l], err = forwardStage(ctx, ar, st, x, train)
		exit()
		if err != nil {
			return x, nil, fmt.Errorf("nn: %s forward: %w", st.name(), err)
		}
	}
	return x, tapes, nil
}

func forwardStage[T, S any](ctx context.Context, ar arithmetic[T, S], st stage, x T, train bool) (T, tape[S], error) {
	var tp tape[S]
	var err error
	rows := ar.rows(x)
	switch st.kind() {
	case LayerDense, LayerConv:
		x, tp.op, err = ar.affine(ctx, st, x, train)
	case LayerMaxPool:
		w := ar.reshape(ar.gather(x, st.windows), rows*st.out.Size(), st.Size*st.Size)
		if x, tp.op, err = ar.maxRows(ctx, w, train); err == nil {
			x = ar.reshape(x, rows, st.out.Size())
		}
	case LayerAvgPool:
		x, err = ar.scale(ctx, 1/float64(st.Size*st.Size), ar.scatter(x, st.poolInto, st.out.Size()))
	}
	if err != nil {
		return x, tp, err
	}
	if a := st.act(); !a.IsIdentity() {
		x, tp.act, err = ar.activate(ctx, a, x, train)
	}
	return x, tp, err
}

// backward propagates the loss gradient g through the stages and returns the
// parameters' gradients, dW then db for each parametric stage from the last down.
func backward[T, S any](ctx context.Context, ar arithmetic[T, S], stages []stage, tapes []tape[S], g T) ([]T, error) {
	var grads []T
	for l := len(stages) - 1; l >= 0; l-- {
		st := stages[l]
		exit := ar.enter(fmt.Sprintf("layer %d backward", l+1))
		var err error
		if a := st.act(); !a.IsIdentity() {
			if g, err = ar.activateBack(ctx, a, tapes[l].act, g); err != nil {
				exit()
				return nil, fmt.Errorf("nn: %s activation backward: %w", st.name(), err)
			}
		}
		var dW, db T
		dW, db, g, err = backwardStage(ctx, ar, st, tapes[l].op, g, l > 0)
		exit()
		if err != nil {
			return nil, fmt.Errorf("nn: %s backward: %w", st.name(), err)
		}
		if st.hasParams() {
			grads = append(grads, dW, db)
		}
	}
	return grads, nil
}

// backwardStage returns a stage's parameter gradients (if it has parameters) and,
// when wantInput, its input gradient.
func backwardStage[T, S any](ctx context.Context, ar arithmetic[T, S], st stage, s S, g T, wantInput bool) (dW, db, dx T, err error) {
	if st.hasParams() {
		return ar.affineBack(ctx, st, s, g, wantInput)
	}
	if !wantInput {
		return dW, db, dx, nil
	}
	rows := ar.rows(g)
	switch st.kind() {
	case LayerMaxPool:
		spread, err := ar.maxRowsBack(ctx, s, ar.reshape(g, rows*st.out.Size(), 1))
		if err != nil {
			return dW, db, dx, err
		}
		return dW, db, ar.scatter(ar.reshape(spread, rows, st.out.Size()*st.Size*st.Size), st.windows, st.in.Size()), nil
	case LayerAvgPool:
		scaled, err := ar.scale(ctx, 1/float64(st.Size*st.Size), g)
		if err != nil {
			return dW, db, dx, err
		}
		return dW, db, ar.gather(scaled, st.poolInto), nil
	}
	return dW, db, g, nil // flatten, activation: the identity
}
