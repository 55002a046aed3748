package nn

import (
	"gonum.org/v1/gonum/mat"
)

// Plain trains a network in float64 with gonum: the reference for Secure.
type Plain struct {
	Spec   Spec
	Params Params
}

// NewPlain starts from a copy of params.
func NewPlain(s Spec, p Params) *Plain { return &Plain{Spec: s, Params: p.Clone()} }

// TrainBatch does one SGD step on a batch with mean squared error and returns the
// batch loss before the step.
func (p *Plain) TrainBatch(x, y *mat.Dense, lr float64) float64 {
	layers := p.Spec.Layers
	inputs := make([]*mat.Dense, len(layers)) // input of each layer
	pre := make([]*mat.Dense, len(layers))    // pre-activation of each layer
	a := x
	for l, layer := range layers {
		inputs[l] = a
		z := new(mat.Dense)
		z.Mul(a, p.Params.W[l])
		addRow(z, p.Params.B[l])
		pre[l] = z
		if layer.Activation.IsIdentity() {
			a = z
			continue
		}
		out := new(mat.Dense)
		out.Apply(func(_, _ int, v float64) float64 { return layer.Activation.Eval(v) }, z)
		a = out
	}
	rows, outs := a.Dims()
	loss := MSE(a, y)
	// dL/dpred = 2(pred - y)/(rows*outs); the constant is folded into the step size,
	// exactly as the secure trainer does.
	grad := new(mat.Dense)
	grad.Sub(a, y)
	step := lr * 2 / float64(rows*outs)
	for l := len(layers) - 1; l >= 0; l-- {
		act := layers[l].Activation
		if !act.IsIdentity() {
			d := act.Derivative()
			deriv := new(mat.Dense)
			deriv.Apply(func(_, _ int, v float64) float64 { return horner(d, v) }, pre[l])
			grad.MulElem(grad, deriv)
		}
		var dW mat.Dense
		dW.Mul(inputs[l].T(), grad)
		db := colSums(grad)
		var next *mat.Dense
		if l > 0 {
			next = new(mat.Dense)
			next.Mul(grad, p.Params.W[l].T())
		}
		dW.Scale(step, &dW)
		p.Params.W[l].Sub(p.Params.W[l], &dW)
		db.Scale(step, db)
		p.Params.B[l].Sub(p.Params.B[l], db)
		grad = next
	}
	return loss
}

func colSums(m *mat.Dense) *mat.Dense {
	r, c := m.Dims()
	out := mat.NewDense(1, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Set(0, j, out.At(0, j)+m.At(i, j))
		}
	}
	return out
}

// Predict runs the current model forward.
func (p *Plain) Predict(x *mat.Dense) *mat.Dense { return Predict(p.Spec, p.Params, x) }
