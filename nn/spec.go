package nn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/sharing"
)

// Layer is a dense layer followed by an activation.
type Layer struct {
	Units      int
	Activation Activation
}

// Loss names.
const (
	LossMSE          = "mse"
	LossCrossEntropy = "cross-entropy" // softmax over the outputs, then cross-entropy
	// LossBinaryCrossEntropy is logistic regression's loss: a sigmoid of the single
	// output, then binary cross-entropy against a 0/1 target.
	LossBinaryCrossEntropy = "binary-cross-entropy"
)

// Spec describes a feed-forward network and its loss.
type Spec struct {
	Inputs int
	Layers []Layer
	Loss   string // LossMSE (default), LossCrossEntropy or LossBinaryCrossEntropy
	// Init is "xavier" (uniform, sqrt(6/(in+out))) or "he" (uniform, sqrt(6/in));
	// empty means he for relu layers and xavier otherwise.
	Init string
}

// Validate checks sizes.
func (s Spec) Validate() error {
	if s.Inputs < 1 {
		return fmt.Errorf("nn: the network needs at least one input, got %d", s.Inputs)
	}
	if len(s.Layers) == 0 {
		return fmt.Errorf("nn: the network has no layers")
	}
	for i, l := range s.Layers {
		if l.Units < 1 {
			return fmt.Errorf("nn: layer %d has %d units", i, l.Units)
		}
		if l.Activation.Name == "" {
			return fmt.Errorf("nn: layer %d has no activation", i)
		}
	}
	switch s.Loss {
	case "", LossMSE:
	case LossCrossEntropy, LossBinaryCrossEntropy:
		if last := s.Layers[len(s.Layers)-1]; !last.Activation.IsIdentity() {
			return fmt.Errorf("nn: with %s the output layer's activation must be identity (the %s is part of the loss), got %s", s.Loss, s.squash(), last.Activation.Name)
		}
		if s.Binary() && s.Outputs() != 1 {
			return fmt.Errorf("nn: binary cross-entropy needs exactly 1 output, got %d", s.Outputs())
		}
		if !s.Binary() && s.Outputs() < 2 {
			return fmt.Errorf("nn: cross-entropy needs at least 2 outputs, got %d", s.Outputs())
		}
	default:
		return fmt.Errorf("nn: unknown loss %q (known: %s, %s, %s)", s.Loss, LossMSE, LossCrossEntropy, LossBinaryCrossEntropy)
	}
	switch s.Init {
	case "", "xavier", "he":
	default:
		return fmt.Errorf("nn: unknown initialisation %q (known: xavier, he)", s.Init)
	}
	return nil
}

// CrossEntropy reports whether the loss is a cross-entropy on the network's logits
// (softmax or binary): the output layer gives logits, and the loss gradient is
// probabilities minus targets.
func (s Spec) CrossEntropy() bool { return s.Loss == LossCrossEntropy || s.Binary() }

// Binary reports whether the loss is binary cross-entropy (logistic regression).
func (s Spec) Binary() bool { return s.Loss == LossBinaryCrossEntropy }

func (s Spec) squash() string {
	if s.Binary() {
		return "sigmoid"
	}
	return "softmax"
}

// Probabilities turns a cross-entropy network's logits into probabilities: the
// sigmoid of the single output (binary), the row-wise softmax otherwise.
func (s Spec) Probabilities(logits *mat.Dense) *mat.Dense {
	if !s.Binary() {
		return Softmax(logits)
	}
	var p mat.Dense
	p.Apply(func(_, _ int, v float64) float64 { return sigmoid(v) }, logits)
	return &p
}

// Outputs is the width of the last layer.
func (s Spec) Outputs() int { return s.Layers[len(s.Layers)-1].Units }

// Params are a network's weights and biases in float64: W[l] is in x out, B[l] is
// 1 x out.
type Params struct {
	W []*mat.Dense
	B []*mat.Dense
}

// InitParams draws uniform weights (Xavier or He) and zero biases from a seeded
// AES-CTR stream, so every party and the plaintext reference start from the same
// model.
func InitParams(s Spec, seed sharing.Seed) Params {
	prg := sharing.NewPRG(seed, 0)
	var p Params
	in := s.Inputs
	for _, l := range s.Layers {
		limit := math.Sqrt(6 / float64(in+l.Units))
		if s.Init == "he" || (s.Init == "" && l.Activation.Name == "relu") {
			limit = math.Sqrt(6 / float64(in))
		}
		w := mat.NewDense(in, l.Units, nil)
		for i := 0; i < in; i++ {
			for j := 0; j < l.Units; j++ {
				u := float64(prg.Uint64()>>11) / (1 << 53)
				w.Set(i, j, (2*u-1)*limit)
			}
		}
		p.W = append(p.W, w)
		p.B = append(p.B, mat.NewDense(1, l.Units, nil))
		in = l.Units
	}
	return p
}

// Clone deep-copies the parameters.
func (p Params) Clone() Params {
	var q Params
	for l := range p.W {
		q.W = append(q.W, mat.DenseCopyOf(p.W[l]))
		q.B = append(q.B, mat.DenseCopyOf(p.B[l]))
	}
	return q
}

// MaxAbs is the largest magnitude of any weight or bias.
func (p Params) MaxAbs() float64 {
	m := 0.0
	for l := range p.W {
		for _, d := range [][]float64{p.W[l].RawMatrix().Data, p.B[l].RawMatrix().Data} {
			for _, v := range d {
				m = math.Max(m, math.Abs(v))
			}
		}
	}
	return m
}

// Predict runs the network forward in float64 and returns its outputs (logits,
// for cross-entropy networks).
func Predict(s Spec, p Params, x *mat.Dense) *mat.Dense {
	a := x
	for l, layer := range s.Layers {
		var z mat.Dense
		z.Mul(a, p.W[l])
		addRow(&z, p.B[l])
		if !layer.Activation.IsIdentity() {
			z.Apply(func(_, _ int, v float64) float64 { return layer.Activation.Eval(v) }, &z)
		}
		a = &z
	}
	return a
}

func addRow(z *mat.Dense, b *mat.Dense) {
	r, c := z.Dims()
	for i := 0; i < r; i++ {
		row := z.RawRowView(i)
		for j := 0; j < c; j++ {
			row[j] += b.At(0, j)
		}
	}
}

// Softmax returns the row-wise softmax of logits.
func Softmax(logits *mat.Dense) *mat.Dense {
	r, c := logits.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		row := logits.RawRowView(i)
		m := row[0]
		for _, v := range row {
			m = math.Max(m, v)
		}
		sum := 0.0
		o := out.RawRowView(i)
		for j, v := range row {
			o[j] = math.Exp(v - m)
			sum += o[j]
		}
		for j := range o {
			o[j] /= sum
		}
	}
	return out
}

// Loss is the network's loss on predictions (outputs of Predict) and targets.
func (s Spec) LossOf(pred, target *mat.Dense) float64 {
	if s.Binary() {
		return BinaryCrossEntropy(s.Probabilities(pred), target)
	}
	if s.CrossEntropy() {
		return CrossEntropy(Softmax(pred), target)
	}
	return MSE(pred, target)
}

// BinaryCrossEntropy is the mean over rows of -(t log p + (1-t) log(1-p)) for
// probabilities p and 0/1 targets t in one column.
func BinaryCrossEntropy(prob, target *mat.Dense) float64 {
	r, _ := prob.Dims()
	s := 0.0
	for i := 0; i < r; i++ {
		p, t := prob.At(i, 0), target.At(i, 0)
		s -= t*math.Log(math.Max(p, 1e-12)) + (1-t)*math.Log(math.Max(1-p, 1e-12))
	}
	return s / float64(r)
}

// CrossEntropy is the mean over rows of -sum_j target_j log p_j.
func CrossEntropy(prob, target *mat.Dense) float64 {
	r, c := prob.Dims()
	s := 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if t := target.At(i, j); t != 0 {
				s -= t * math.Log(math.Max(prob.At(i, j), 1e-12))
			}
		}
	}
	return s / float64(r)
}

// MSE is the mean over all elements of (pred - target)^2.
func MSE(pred, target *mat.Dense) float64 {
	r, c := pred.Dims()
	s := 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			d := pred.At(i, j) - target.At(i, j)
			s += d * d
		}
	}
	return s / float64(r*c)
}

// Accuracy is the fraction of rows whose predicted class equals the label; with one
// output the class is pred > 0.5, otherwise the arg max. Labels are one-hot rows
// (or a single 0/1 column).
func Accuracy(pred, target *mat.Dense) float64 {
	r, c := pred.Dims()
	correct := 0
	for i := 0; i < r; i++ {
		if c == 1 {
			if (pred.At(i, 0) > 0.5) == (target.At(i, 0) > 0.5) {
				correct++
			}
			continue
		}
		if argmax(pred.RawRowView(i)) == argmax(target.RawRowView(i)) {
			correct++
		}
	}
	return float64(correct) / float64(r)
}

func argmax(v []float64) int {
	best := 0
	for j := range v {
		if v[j] > v[best] {
			best = j
		}
	}
	return best
}

// Optimizer is mini-batch SGD with momentum: v <- momentum*v + lr*g; w <- w - v.
type Optimizer struct {
	LearningRate float64
	Momentum     float64
}
