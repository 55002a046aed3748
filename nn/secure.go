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
// additive shares. Every party runs the same calls on its own shares. It runs the
// same layer definitions as Plain (model.go) over shares (secureArith).
type Secure struct {
	Spec   Spec
	e      *protocol.Engine
	w, b   []sharing.Tensor // this party's shares, one W/B pair per parametric layer
	vw, vb []sharing.Tensor // momentum buffers, shared
	stages []stage
}

// NewSecure shares a public initial model (party 0 holds it, the others zeros: an
// initial model carries no private information).
func NewSecure(e *protocol.Engine, s Spec, init Params) (*Secure, error) {
	shapes, err := s.paramShapes()
	if err != nil {
		return nil, err
	}
	if len(init.W) != len(shapes) || len(init.B) != len(shapes) {
		return nil, fmt.Errorf("nn: an initial model of %d layers for a network of %d parametric layers", len(init.W), len(shapes))
	}
	sn := &Secure{Spec: s, e: e}
	if sn.stages, err = s.stages(); err != nil {
		return nil, err
	}
	codec := e.Codec()
	for l := range shapes {
		w, err := encodeDense(codec, init.W[l])
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d weights: %w", l, err)
		}
		b, err := encodeDense(codec, init.B[l])
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d bias: %w", l, err)
		}
		if w.Rows() != shapes[l][0] || w.Cols() != shapes[l][1] || b.Rows() != 1 || b.Cols() != shapes[l][1] {
			return nil, fmt.Errorf("nn: initial weights %v and bias %v of parametric layer %d, want [%d %d]", w.Shape, b.Shape, l, shapes[l][0], shapes[l][1])
		}
		sn.w = append(sn.w, e.Public(w))
		sn.b = append(sn.b, e.Public(b))
		sn.vw = append(sn.vw, sharing.Zeros(w.Shape...))
		sn.vb = append(sn.vb, sharing.Zeros(b.Shape...))
	}
	return sn, nil
}

// paramShapes validates the spec and returns its parameter shapes.
func (s Spec) paramShapes() ([][2]int, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s.ParamShapes()
}

// SecureFromShares resumes a network from this party's shares of its weights.
func SecureFromShares(e *protocol.Engine, s Spec, w, b []sharing.Tensor) (*Secure, error) {
	shapes, err := s.paramShapes()
	if err != nil {
		return nil, err
	}
	if len(w) != len(shapes) || len(b) != len(shapes) {
		return nil, fmt.Errorf("nn: shares of %d layers for a %d-layer network", len(w), len(shapes))
	}
	sn := &Secure{Spec: s, e: e}
	if sn.stages, err = s.stages(); err != nil {
		return nil, err
	}
	for l, sh := range shapes {
		in, units := sh[0], sh[1]
		if len(w[l].Shape) != 2 || w[l].Shape[0] != in || w[l].Shape[1] != units || len(w[l].Data) != in*units {
			return nil, fmt.Errorf("nn: layer %d weight share has shape %v, want [%d %d]", l, w[l].Shape, in, units)
		}
		if len(b[l].Shape) != 2 || b[l].Shape[0] != 1 || b[l].Shape[1] != units || len(b[l].Data) != units {
			return nil, fmt.Errorf("nn: layer %d bias share has shape %v, want [1 %d]", l, b[l].Shape, units)
		}
		sn.w = append(sn.w, w[l].Clone())
		sn.b = append(sn.b, b[l].Clone())
		sn.vw = append(sn.vw, sharing.Zeros(in, units))
		sn.vb = append(sn.vb, sharing.Zeros(1, units))
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
	if len(vw) != len(sn.w) || len(vb) != len(sn.w) {
		return nil, fmt.Errorf("nn: momentum shares of %d layers for a %d-layer network", len(vw), len(sn.w))
	}
	for l := range sn.w {
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

// Forward runs the network on shared inputs and returns shared outputs (logits for
// cross-entropy networks).
func (sn *Secure) Forward(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	out, _, err := forward(ctx, sn.arith(), sn.stages, x, false)
	return out, err
}

func (sn *Secure) arith() *secureArith {
	return &secureArith{e: sn.e, w: sn.w, b: sn.b, stages: sn.stages, softmaxStage: -1}
}

// TrainBatch does one SGD step on a shared batch (x rows x inputs, y rows x outputs,
// fixed point). For mean squared error it returns this party's share of the
// batch's sum of squared errors per output (fixed point), which the caller may
// accumulate and open; for cross-entropy it returns an empty tensor.
func (sn *Secure) TrainBatch(ctx context.Context, x, y sharing.Tensor, opt Optimizer) (sharing.Tensor, error) {
	e := sn.e
	if x.Cols() != sn.Spec.Inputs || y.Cols() != sn.Spec.Outputs() || x.Rows() != y.Rows() {
		return sharing.Tensor{}, fmt.Errorf("nn: batch of shapes %v, %v does not fit a %d-input, %d-output network", x.Shape, y.Shape, sn.Spec.Inputs, sn.Spec.Outputs())
	}
	ar := sn.arith()
	ar.fuse = true
	if sn.Spec.CrossEntropy() && !sn.Spec.Binary() {
		ar.softmaxStage = len(sn.stages) - 1
	}
	a, tapes, err := forward(ctx, ar, sn.stages, x, true)
	if err != nil {
		return sharing.Tensor{}, err
	}
	rows, outs := a.Rows(), a.Cols()
	exit := e.Enter("loss")
	var grad, lossShare sharing.Tensor
	step := opt.LearningRate * 2 / float64(rows*outs)
	if sn.Spec.CrossEntropy() {
		p, err := sn.probabilities(ctx, a, ar.untruncated)
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
	updates, err := backward(ctx, ar, sn.stages, tapes, grad)
	if err != nil {
		return sharing.Tensor{}, err
	}
	exit = e.Enter("update")
	defer exit()
	if err := sn.applyUpdates(ctx, updates, ar.gradShifts, step, opt.Momentum); err != nil {
		return sharing.Tensor{}, fmt.Errorf("nn: update: %w", err)
	}
	return lossShare, nil
}

// probabilities is the secure twin of Spec.Probabilities: a sigmoid of the single
// output for binary cross-entropy, a row-wise softmax otherwise. untruncated says
// the logits are a product at scale 2^(2f) that the softmax truncates in its own
// rounds.
func (sn *Secure) probabilities(ctx context.Context, logits sharing.Tensor, untruncated bool) (sharing.Tensor, error) {
	if untruncated {
		p, err := sn.e.TruncateSoftmax(ctx, logits)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("nn: softmax: %w", err)
		}
		return p, nil
	}
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

// maxWeightStep bounds a momentum buffer, the change of a weight in one step: a
// model whose weights move by 16 or more in a step has diverged. It lets the
// update truncate an untruncated gradient and the buffer together (one
// truncation instead of two, LinearCombos); past it, the update is garbage.
const maxWeightStep = 16

// applyUpdates turns the gradients into new momentum buffers, v = momentum*v +
// step*g, in one round (one compact truncation per buffer: N - 1/2 ulp of
// unbiased error in a weight's step, for a half or a third of the bytes), and
// subtracts them from the weights. shifts[i], when given, says updates[i] is at scale 2^(f+shifts[i])
// (a product not yet truncated), truncated here with its buffer.
func (sn *Secure) applyUpdates(ctx context.Context, updates []sharing.Tensor, shifts []int, step, momentum float64) error {
	k := len(sn.w)
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
		if i < len(shifts) {
			combos[i][0].Shift = shifts[i]
		}
		if momentum != 0 {
			_, v := params(i)
			combos[i] = append(combos[i], protocol.Term{C: momentum, X: *v, Bound: maxWeightStep})
		}
	}
	steps, err := sn.e.LinearCombosCompact(ctx, combos)
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
