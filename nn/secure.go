package nn

import (
	"context"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Secure trains a network whose weights, activations and gradients exist only as
// additive shares. Every party runs the same calls on its own shares.
type Secure struct {
	Spec   Spec
	e      *protocol.Engine
	w, b   []sharing.Tensor // this party's shares
	vw, vb []sharing.Tensor // momentum buffers, shared
}

// NewSecure shares a public initial model (party 0 holds it, the others zeros: an
// initial model carries no private information).
func NewSecure(e *protocol.Engine, s Spec, init Params) (*Secure, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	sn := &Secure{Spec: s, e: e}
	codec := e.Codec()
	for l := range s.Layers {
		w, err := encodeDense(codec, init.W[l])
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d weights: %w", l, err)
		}
		b, err := encodeDense(codec, init.B[l])
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d bias: %w", l, err)
		}
		sn.w = append(sn.w, e.Public(w))
		sn.b = append(sn.b, e.Public(b))
		sn.vw = append(sn.vw, sharing.Zeros(w.Shape...))
		sn.vb = append(sn.vb, sharing.Zeros(b.Shape...))
	}
	return sn, nil
}

// SecureFromShares resumes a network from this party's shares of its weights.
func SecureFromShares(e *protocol.Engine, s Spec, w, b []sharing.Tensor) (*Secure, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(w) != len(s.Layers) || len(b) != len(s.Layers) {
		return nil, fmt.Errorf("nn: shares of %d layers for a %d-layer network", len(w), len(s.Layers))
	}
	in := s.Inputs
	sn := &Secure{Spec: s, e: e}
	for l, layer := range s.Layers {
		if len(w[l].Shape) != 2 || w[l].Shape[0] != in || w[l].Shape[1] != layer.Units || len(w[l].Data) != in*layer.Units {
			return nil, fmt.Errorf("nn: layer %d weight share has shape %v, want [%d %d]", l, w[l].Shape, in, layer.Units)
		}
		if len(b[l].Shape) != 2 || b[l].Shape[0] != 1 || b[l].Shape[1] != layer.Units || len(b[l].Data) != layer.Units {
			return nil, fmt.Errorf("nn: layer %d bias share has shape %v, want [1 %d]", l, b[l].Shape, layer.Units)
		}
		sn.w = append(sn.w, w[l].Clone())
		sn.b = append(sn.b, b[l].Clone())
		sn.vw = append(sn.vw, sharing.Zeros(in, layer.Units))
		sn.vb = append(sn.vb, sharing.Zeros(1, layer.Units))
		in = layer.Units
	}
	return sn, nil
}

// SecureFromState resumes a network from this party's shares of its weights and of
// its momentum buffers (a training checkpoint).
func SecureFromState(e *protocol.Engine, s Spec, w, b, vw, vb []sharing.Tensor) (*Secure, error) {
	sn, err := SecureFromShares(e, s, w, b)
	if err != nil {
		return nil, err
	}
	if len(vw) != len(s.Layers) || len(vb) != len(s.Layers) {
		return nil, fmt.Errorf("nn: momentum shares of %d layers for a %d-layer network", len(vw), len(s.Layers))
	}
	for l := range s.Layers {
		if !slices.Equal(vw[l].Shape, sn.vw[l].Shape) || len(vw[l].Data) != len(sn.vw[l].Data) {
			return nil, fmt.Errorf("nn: layer %d weight momentum share has shape %v, want %v", l, vw[l].Shape, sn.vw[l].Shape)
		}
		if !slices.Equal(vb[l].Shape, sn.vb[l].Shape) || len(vb[l].Data) != len(sn.vb[l].Data) {
			return nil, fmt.Errorf("nn: layer %d bias momentum share has shape %v, want %v", l, vb[l].Shape, sn.vb[l].Shape)
		}
		sn.vw[l], sn.vb[l] = vw[l].Clone(), vb[l].Clone()
	}
	return sn, nil
}

func encodeDense(codec sharing.Codec, m *mat.Dense) (sharing.Tensor, error) {
	r, c := m.Dims()
	data := make([]float64, 0, r*c)
	for i := 0; i < r; i++ {
		data = append(data, m.RawRowView(i)...)
	}
	return codec.EncodeTensor(data, r, c)
}

// forwardLayer computes layer l on input a and returns the pre-activation, the
// activation and what the backward pass needs of the activation (its derivative).
func (sn *Secure) forwardLayer(ctx context.Context, l int, a sharing.Tensor) (z, out, deriv sharing.Tensor, err error) {
	if z, err = sn.e.MatMulFixed(ctx, a, sn.w[l]); err != nil {
		return z, out, deriv, err
	}
	return sn.activate(ctx, l, sharing.AddRowVector(z, sn.b[l]))
}

// activate applies layer l's activation to its pre-activation z.
func (sn *Secure) activate(ctx context.Context, l int, z sharing.Tensor) (_, out, deriv sharing.Tensor, err error) {
	e := sn.e
	act := sn.Spec.Layers[l].Activation
	switch {
	case act.IsIdentity():
		out = z
	case act.IsPolynomial():
		out, err = e.Polynomial(ctx, z, act.Coeffs)
	case act.Name == "relu":
		out, deriv, err = e.ReLU(ctx, z)
	case act.Name == "sigmoid":
		out, err = e.Sigmoid(ctx, z)
		if err == nil {
			// sigma' = sigma (1 - sigma), computed now while sigma is at hand.
			deriv, err = e.MulFixed(ctx, out, e.AddScalar(sharing.Neg(out), e.Codec().One()))
		}
	default:
		err = fmt.Errorf("nn: activation %s has no secure implementation", act.Name)
	}
	return z, out, deriv, err
}

// backActivation multiplies the gradient by the activation's derivative.
func (sn *Secure) backActivation(ctx context.Context, l int, grad, z, deriv sharing.Tensor) (sharing.Tensor, error) {
	e := sn.e
	act := sn.Spec.Layers[l].Activation
	switch {
	case act.IsIdentity():
		return grad, nil
	case act.IsPolynomial():
		d, err := e.Polynomial(ctx, z, act.Derivative())
		if err != nil {
			return grad, err
		}
		return e.MulFixed(ctx, grad, d)
	case act.Name == "relu":
		// The derivative is a shared bit at integer scale: the product needs no
		// truncation.
		return e.Mul(ctx, grad, deriv)
	default:
		return e.MulFixed(ctx, grad, deriv)
	}
}

// Forward runs the network on shared inputs and returns shared outputs (logits for
// cross-entropy networks).
func (sn *Secure) Forward(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	a := x
	for l := range sn.Spec.Layers {
		_, out, _, err := sn.forwardLayer(ctx, l, a)
		if err != nil {
			return a, fmt.Errorf("nn: layer %d forward: %w", l, err)
		}
		a = out
	}
	return a, nil
}

// TrainBatch does one SGD step on a shared batch (x rows x inputs, y rows x outputs,
// fixed point). For mean squared error it returns this party's share of the
// batch's sum of squared errors per output (fixed point), which the caller may
// accumulate and open; for cross-entropy it returns an empty tensor.
func (sn *Secure) TrainBatch(ctx context.Context, x, y sharing.Tensor, opt Optimizer) (sharing.Tensor, error) {
	e := sn.e
	layers := sn.Spec.Layers
	if x.Cols() != sn.Spec.Inputs || y.Cols() != sn.Spec.Outputs() || x.Rows() != y.Rows() {
		return sharing.Tensor{}, fmt.Errorf("nn: batch of shapes %v, %v does not fit a %d-input, %d-output network", x.Shape, y.Shape, sn.Spec.Inputs, sn.Spec.Outputs())
	}
	// Every matrix that enters two products (a layer's input: forward and weight
	// gradient; its weights: forward and input gradient; its output gradient: both
	// gradients) is opened once under a mask and reused.
	inputs := make([]*protocol.Masked, len(layers))
	weights := make([]*protocol.Masked, len(layers))
	pre := make([]sharing.Tensor, len(layers))
	derivs := make([]sharing.Tensor, len(layers))
	a := x
	for l := range layers {
		exit := e.Enter(fmt.Sprintf("layer %d forward", l+1))
		z, out, deriv, err := sn.trainForward(ctx, l, a, inputs, weights)
		exit()
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d forward: %w", l+1, err)
		}
		pre[l], derivs[l], a = z, deriv, out
	}
	rows, outs := a.Rows(), a.Cols()
	exit := e.Enter("loss")
	var grad, lossShare sharing.Tensor
	step := opt.LearningRate * 2 / float64(rows*outs)
	if sn.Spec.CrossEntropy() {
		p, err := sn.probabilities(ctx, a)
		if err != nil {
			exit()
			return sharing.Tensor{}, err
		}
		grad = sharing.Sub(p, y)
		step = opt.LearningRate / float64(rows)
	} else {
		grad = sharing.Sub(a, y)
		sq, err := e.SquareFixed(ctx, grad)
		if err != nil {
			exit()
			return sharing.Tensor{}, fmt.Errorf("nn: loss: %w", err)
		}
		lossShare = sharing.SumRows(sq)
	}
	exit()
	var updates []sharing.Tensor // dW, db per layer, from the last layer down
	for l := len(layers) - 1; l >= 0; l-- {
		exit := e.Enter(fmt.Sprintf("layer %d backward", l+1))
		var err error
		if grad, err = sn.backActivation(ctx, l, grad, pre[l], derivs[l]); err != nil {
			exit()
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d activation backward: %w", l+1, err)
		}
		dW, next, err := sn.trainBackward(ctx, l, grad, inputs[l], weights[l])
		exit()
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d backward: %w", l+1, err)
		}
		updates = append(updates, dW, sharing.SumRows(grad))
		grad = next
	}
	exit = e.Enter("update")
	defer exit()
	if err := sn.applyUpdates(ctx, updates, step, opt.Momentum); err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: update: %w", err)
	}
	return lossShare, nil
}

// probabilities is the secure twin of Spec.Probabilities: a sigmoid of the single
// output for binary cross-entropy, a row-wise softmax otherwise.
func (sn *Secure) probabilities(ctx context.Context, logits sharing.Tensor) (sharing.Tensor, error) {
	if !sn.Spec.Binary() {
		p, err := sn.e.Softmax(ctx, logits)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: softmax: %w", err)
		}
		return p, nil
	}
	p, err := sn.e.Sigmoid(ctx, logits)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: sigmoid: %w", err)
	}
	return p, nil
}

// trainForward computes layer l on input a with masked products, keeping the masked
// input and weights for the backward pass.
func (sn *Secure) trainForward(ctx context.Context, l int, a sharing.Tensor, inputs, weights []*protocol.Masked) (z, out, deriv sharing.Tensor, err error) {
	e := sn.e
	ms, err := e.MaskMatrices(ctx, a, sn.w[l])
	if err != nil {
		return z, out, deriv, err
	}
	inputs[l], weights[l] = ms[0], ms[1]
	if z, err = e.MatMulMasked(ctx, ms[0], false, ms[1], false); err != nil {
		return z, out, deriv, err
	}
	if z, err = e.Truncate(ctx, z); err != nil {
		return z, out, deriv, err
	}
	return sn.activate(ctx, l, sharing.AddRowVector(z, sn.b[l]))
}

// trainBackward returns layer l's weight gradient input^T·grad and, below the first
// layer, the gradient of its input grad·W^T: one masking round and one
// truncation round for both.
func (sn *Secure) trainBackward(ctx context.Context, l int, grad sharing.Tensor, input, weights *protocol.Masked) (dW, next sharing.Tensor, err error) {
	e := sn.e
	ms, err := e.MaskMatrices(ctx, grad)
	if err != nil {
		return dW, next, err
	}
	if dW, err = e.MatMulMasked(ctx, input, true, ms[0], false); err != nil {
		return dW, next, err
	}
	if l == 0 {
		dW, err = e.Truncate(ctx, dW)
		return dW, next, err
	}
	if next, err = e.MatMulMasked(ctx, ms[0], false, weights, true); err != nil {
		return dW, next, err
	}
	out, err := e.TruncateMany(ctx, e.Codec().FracBits, dW, next)
	if err != nil {
		return dW, next, err
	}
	return out[0], out[1], nil
}

// applyUpdates turns the gradients into new momentum buffers, v = momentum*v +
// step*g, in one round (one truncation per buffer), and subtracts them from the
// weights.
func (sn *Secure) applyUpdates(ctx context.Context, updates []sharing.Tensor, step, momentum float64) error {
	k := len(sn.Spec.Layers)
	params := func(i int) (w, v *sharing.Tensor) { // i-th update: layers from the last down, W then b
		l := k - 1 - i/2
		if i%2 == 0 {
			return &sn.w[l], &sn.vw[l]
		}
		return &sn.b[l], &sn.vb[l]
	}
	combos := make([]protocol.Combo, len(updates))
	for i, g := range updates {
		combos[i] = protocol.Combo{{C: step, X: g}}
		if momentum != 0 {
			_, v := params(i)
			combos[i] = append(combos[i], protocol.Term{C: momentum, X: *v})
		}
	}
	steps, err := sn.e.LinearCombos(ctx, combos)
	if err != nil {
		return err
	}
	for i := range updates {
		w, v := params(i)
		if momentum != 0 {
			*v = steps[i]
		}
		sharing.SubInPlace(*w, steps[i])
	}
	return nil
}

// Reveal opens the model to every party.
func (sn *Secure) Reveal(ctx context.Context) (Params, error) {
	opened, err := sn.e.Open(ctx, append(append([]sharing.Tensor(nil), sn.w...), sn.b...)...)
	if err != nil {
		return Params{}, fmt.Errorf("nn: revealing the model: %w", err)
	}
	return sn.decode(opened), nil
}

// RevealTo opens the model to one party; the others get empty Params.
func (sn *Secure) RevealTo(ctx context.Context, to int) (Params, error) {
	all := append(append([]sharing.Tensor(nil), sn.w...), sn.b...)
	opened := make([]sharing.Tensor, len(all))
	for i, t := range all {
		o, err := sn.e.OpenTo(ctx, t, to)
		if err != nil {
			return Params{}, fmt.Errorf("nn: revealing the model to party %d: %w", to, err)
		}
		opened[i] = o
	}
	if sn.e.Self() != to {
		return Params{}, nil
	}
	return sn.decode(opened), nil
}

func (sn *Secure) decode(opened []sharing.Tensor) Params {
	codec := sn.e.Codec()
	var p Params
	k := len(sn.w)
	for l := 0; l < k; l++ {
		p.W = append(p.W, decodeDense(codec, opened[l]))
		p.B = append(p.B, decodeDense(codec, opened[k+l]))
	}
	return p
}

// Shares returns this party's shares of the weights and biases (for checkpoints and
// shared outputs).
func (sn *Secure) Shares() (w, b []sharing.Tensor) { return sn.w, sn.b }

// Momentum returns this party's shares of the momentum buffers (for checkpoints).
func (sn *Secure) Momentum() (vw, vb []sharing.Tensor) { return sn.vw, sn.vb }

func decodeDense(codec sharing.Codec, t sharing.Tensor) *mat.Dense {
	return mat.NewDense(t.Rows(), t.Cols(), codec.DecodeTensor(t))
}
