package nn

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Plain trains a network in float64 with gonum: the reference for Secure. It runs
// the same layer definitions (model.go) over float64 arithmetic.
type Plain struct {
	Spec     Spec
	Params   Params
	velocity Params
	stages   []stage
}

// NewPlain starts from a copy of params. The spec must validate.
func NewPlain(s Spec, p Params) *Plain {
	v := p.Clone()
	for l := range v.W {
		v.W[l].Zero()
		v.B[l].Zero()
	}
	stages, err := s.stages()
	if err != nil {
		panic(fmt.Sprintf("nn: NewPlain with an invalid spec: %v", err)) // a programming error: callers validate first
	}
	return &Plain{Spec: s, Params: p.Clone(), velocity: v, stages: stages}
}

// TrainBatch does one SGD step on a batch and returns the batch loss before the
// step.
func (p *Plain) TrainBatch(x, y *mat.Dense, opt Optimizer) float64 {
	ar := &plainArith{params: p.Params}
	ctx := context.Background() // float64 arithmetic never waits
	a, tapes, _ := forward(ctx, ar, p.stages, x, true)
	rows, outs := a.Dims()
	loss := p.Spec.LossOf(a, y)
	// The loss gradient's constant (2/(rows*outs) for MSE, 1/rows for softmax
	// cross-entropy) is folded into the step size, exactly as the secure trainer does.
	grad := new(mat.Dense)
	step := opt.LearningRate * 2 / float64(rows*outs)
	if p.Spec.CrossEntropy() {
		grad.Sub(p.Spec.Probabilities(a), y)
		step = opt.LearningRate / float64(rows)
	} else {
		grad.Sub(a, y)
	}
	grads, _ := backward(ctx, ar, p.stages, tapes, grad)
	k := len(p.Params.W)
	for i := 0; i < len(grads); i += 2 {
		l := k - 1 - i/2
		p.update(p.Params.W[l], p.velocity.W[l], grads[i], step, opt.Momentum)
		p.update(p.Params.B[l], p.velocity.B[l], grads[i+1], step, opt.Momentum)
	}
	return loss
}

func (p *Plain) update(w, v, g *mat.Dense, step, momentum float64) {
	g.Scale(step, g)
	if momentum != 0 {
		v.Scale(momentum, v)
		v.Add(v, g)
		g = v
	}
	w.Sub(w, g)
}

// Predict runs the current model forward.
func (p *Plain) Predict(x *mat.Dense) *mat.Dense { return Predict(p.Spec, p.Params, x) }

// plainArith is the float64 arithmetic of a model: exact where the secure one
// truncates, and the exact activations where the secure one is exact too
// (polynomials are evaluated as the polynomial).
type plainArith struct{ params Params }

// plainTape keeps a stage's input (unfolded, for a convolution), pre-activation
// or window-maximum indicator.
type plainTape struct{ in, z *mat.Dense }

func (*plainArith) enter(string) func() { return func() {} }

func (*plainArith) rows(x *mat.Dense) int { r, _ := x.Dims(); return r }

func (*plainArith) reshape(x *mat.Dense, rows, cols int) *mat.Dense {
	return mat.NewDense(rows, cols, denseData(x))
}

func (*plainArith) gather(x *mat.Dense, idx []int) *mat.Dense {
	r, c := x.Dims()
	return mat.NewDense(r, len(idx), gatherCols(denseData(x), c, idx))
}

func (*plainArith) scatter(x *mat.Dense, idx []int, cols int) *mat.Dense {
	r, _ := x.Dims()
	return mat.NewDense(r, cols, scatterCols(denseData(x), idx, cols))
}

// denseData is x's entries, row-major (x may be a view with a stride).
func denseData(x *mat.Dense) []float64 {
	r, c := x.Dims()
	raw := x.RawMatrix()
	if raw.Stride == c {
		return raw.Data[:r*c]
	}
	return mat.DenseCopyOf(x).RawMatrix().Data
}

func (ar *plainArith) affine(_ context.Context, st stage, x *mat.Dense, _ bool) (*mat.Dense, plainTape, error) {
	rows := ar.rows(x)
	in := x
	if st.kind() == LayerConv {
		in = ar.reshape(ar.gather(x, st.unfold), rows*st.conv.Patches(), st.conv.PatchSize())
	}
	z := new(mat.Dense)
	z.Mul(in, ar.params.W[st.param])
	addRow(z, ar.params.B[st.param])
	if st.kind() == LayerConv {
		z = ar.reshape(z, rows, st.out.Size())
	}
	return z, plainTape{in: in}, nil
}

func (ar *plainArith) affineBack(_ context.Context, st stage, s plainTape, g *mat.Dense, wantInput bool) (dW, db, dx *mat.Dense, err error) {
	rows := ar.rows(g)
	if st.kind() == LayerConv {
		g = ar.reshape(g, rows*st.conv.Patches(), st.Maps)
	}
	dW = new(mat.Dense)
	dW.Mul(s.in.T(), g)
	db = colSums(g)
	if !wantInput {
		return dW, db, nil, nil
	}
	dx = new(mat.Dense)
	dx.Mul(g, ar.params.W[st.param].T())
	if st.kind() == LayerConv {
		dx = ar.scatter(ar.reshape(dx, rows, st.conv.Patches()*st.conv.PatchSize()), st.unfold, st.in.Size())
	}
	return dW, db, dx, nil
}

func (*plainArith) activate(_ context.Context, a Activation, z *mat.Dense, _ bool) (*mat.Dense, plainTape, error) {
	out := new(mat.Dense)
	out.Apply(func(_, _ int, v float64) float64 { return a.Eval(v) }, z)
	return out, plainTape{z: z}, nil
}

func (*plainArith) activateBack(_ context.Context, a Activation, s plainTape, g *mat.Dense) (*mat.Dense, error) {
	deriv := new(mat.Dense)
	deriv.Apply(func(_, _ int, v float64) float64 { return a.Deriv(v) }, s.z)
	out := new(mat.Dense)
	out.MulElem(g, deriv)
	return out, nil
}

func (*plainArith) maxRows(_ context.Context, x *mat.Dense, _ bool) (*mat.Dense, plainTape, error) {
	r, c := x.Dims()
	m := mat.NewDense(r, 1, nil)
	ind := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		row := x.RawRowView(i)
		best := row[argmax(row)]
		m.Set(i, 0, best)
		for j, v := range row {
			if v == best {
				ind.Set(i, j, 1)
			}
		}
	}
	return m, plainTape{z: ind}, nil
}

func (*plainArith) maxRowsBack(_ context.Context, s plainTape, g *mat.Dense) (*mat.Dense, error) {
	out := new(mat.Dense)
	out.Apply(func(i, _ int, v float64) float64 { return v * g.At(i, 0) }, s.z)
	return out, nil
}

func (*plainArith) scale(_ context.Context, c float64, x *mat.Dense) (*mat.Dense, error) {
	out := new(mat.Dense)
	out.Scale(c, x)
	return out, nil
}

func colSums(m *mat.Dense) *mat.Dense {
	r, c := m.Dims()
	out := mat.NewDense(1, c, nil)
	o := out.RawRowView(0)
	for i := 0; i < r; i++ {
		for j, v := range m.RawRowView(i) {
			o[j] += v
		}
	}
	return out
}
