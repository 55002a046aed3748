package nn

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Secure trains a network whose weights, activations and gradients exist only as
// additive shares. Every party runs the same calls on its own shares.
type Secure struct {
	Spec Spec
	e    *protocol.Engine
	w, b []sharing.Tensor // this party's shares
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

// TrainBatch does one SGD step on a shared batch (x rows x inputs, y rows x outputs,
// fixed point) and returns this party's share of the batch's sum of squared errors
// (fixed point), which the caller may accumulate and open.
func (sn *Secure) TrainBatch(ctx context.Context, x, y sharing.Tensor, lr float64) (sharing.Tensor, error) {
	e := sn.e
	layers := sn.Spec.Layers
	if x.Cols() != sn.Spec.Inputs || y.Cols() != sn.Spec.Outputs() || x.Rows() != y.Rows() {
		return sharing.Tensor{}, fmt.Errorf("nn: batch of shapes %v, %v does not fit a %d-input, %d-output network", x.Shape, y.Shape, sn.Spec.Inputs, sn.Spec.Outputs())
	}
	inputs := make([]sharing.Tensor, len(layers))
	pre := make([]sharing.Tensor, len(layers))
	a := x
	for l, layer := range layers {
		inputs[l] = a
		z, err := e.MatMulFixed(ctx, a, sn.w[l])
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d forward: %w", l, err)
		}
		z = sharing.AddRowVector(z, sn.b[l])
		pre[l] = z
		if layer.Activation.IsIdentity() {
			a = z
			continue
		}
		if a, err = e.Polynomial(ctx, z, layer.Activation.Coeffs); err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d activation %s: %w", l, layer.Activation.Name, err)
		}
	}
	grad := sharing.Sub(a, y)
	sq, err := e.SquareFixed(ctx, grad)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: loss: %w", err)
	}
	rows, outs := a.Rows(), a.Cols()
	step := lr * 2 / float64(rows*outs)
	var updates []sharing.Tensor // dW, db per layer, scaled together in one round
	for l := len(layers) - 1; l >= 0; l-- {
		act := layers[l].Activation
		if !act.IsIdentity() {
			deriv, err := e.Polynomial(ctx, pre[l], act.Derivative())
			if err != nil {
				return sharing.Tensor{}, fmt.Errorf("nn: layer %d activation derivative: %w", l, err)
			}
			if grad, err = e.MulFixed(ctx, grad, deriv); err != nil {
				return sharing.Tensor{}, fmt.Errorf("nn: layer %d backward: %w", l, err)
			}
		}
		dW, err := e.MatMulFixed(ctx, sharing.Transpose(inputs[l]), grad)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: layer %d weight gradient: %w", l, err)
		}
		updates = append(updates, dW, sharing.SumRows(grad))
		if l > 0 {
			if grad, err = e.MatMulFixed(ctx, grad, sharing.Transpose(sn.w[l])); err != nil {
				return sharing.Tensor{}, fmt.Errorf("nn: layer %d input gradient: %w", l, err)
			}
		}
	}
	scaled, err := e.ScaleFixed(ctx, step, updates...)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: update: %w", err)
	}
	for i, l := 0, len(layers)-1; l >= 0; i, l = i+2, l-1 {
		sharing.SubInPlace(sn.w[l], scaled[i])
		sharing.SubInPlace(sn.b[l], scaled[i+1])
	}
	return sharing.SumRows(sq), nil
}

// Reveal opens the model to every party.
func (sn *Secure) Reveal(ctx context.Context) (Params, error) {
	opened, err := sn.e.Open(ctx, append(append([]sharing.Tensor(nil), sn.w...), sn.b...)...)
	if err != nil {
		return Params{}, fmt.Errorf("nn: revealing the model: %w", err)
	}
	codec := sn.e.Codec()
	var p Params
	k := len(sn.w)
	for l := 0; l < k; l++ {
		p.W = append(p.W, decodeDense(codec, opened[l]))
		p.B = append(p.B, decodeDense(codec, opened[k+l]))
	}
	return p, nil
}

// Shares returns this party's shares of the weights and biases (for checkpoints and
// shared outputs).
func (sn *Secure) Shares() (w, b []sharing.Tensor) { return sn.w, sn.b }

func decodeDense(codec sharing.Codec, t sharing.Tensor) *mat.Dense {
	return mat.NewDense(t.Rows(), t.Cols(), codec.DecodeTensor(t))
}
