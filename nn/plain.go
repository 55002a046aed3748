package nn

import (
	"gonum.org/v1/gonum/mat"
)

// Plain trains a network in float64 with gonum: the reference for Secure.
type Plain struct {
	Spec     Spec
	Params   Params
	velocity Params
}

// NewPlain starts from a copy of params.
func NewPlain(s Spec, p Params) *Plain {
	v := p.Clone()
	for l := range v.W {
		v.W[l].Zero()
		v.B[l].Zero()
	}
	return &Plain{Spec: s, Params: p.Clone(), velocity: v}
}

// TrainBatch does one SGD step on a batch and returns the batch loss before the
// step.
func (p *Plain) TrainBatch(x, y *mat.Dense, opt Optimizer) float64 {
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
	for l := len(layers) - 1; l >= 0; l-- {
		act := layers[l].Activation
		if !act.IsIdentity() {
			deriv := new(mat.Dense)
			deriv.Apply(func(_, _ int, v float64) float64 { return act.Deriv(v) }, pre[l])
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
		p.update(p.Params.W[l], p.velocity.W[l], &dW, step, opt.Momentum)
		p.update(p.Params.B[l], p.velocity.B[l], db, step, opt.Momentum)
		grad = next
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

// Predict runs the current model forward.
func (p *Plain) Predict(x *mat.Dense) *mat.Dense { return Predict(p.Spec, p.Params, x) }
