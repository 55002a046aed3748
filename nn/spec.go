package nn

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/sharing"
)

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
	// Input is the shape of an example (images); zero means Inputs flat features.
	// Its size must be Inputs.
	Input  Shape
	Layers []Layer
	Loss   string // LossMSE (default), LossCrossEntropy or LossBinaryCrossEntropy
	// Init is "xavier" (uniform, sqrt(6/(in+out))) or "he" (uniform, sqrt(6/in));
	// empty means he for relu layers and xavier otherwise.
	Init string
}

// Validate checks sizes: every layer must take its input's shape (errors name the
// layer), the loss must suit the output.
func (s Spec) Validate() error {
	if s.Inputs < 1 {
		return fmt.Errorf("nn: the network needs at least one input, got %d", s.Inputs)
	}
	if len(s.Layers) == 0 {
		return fmt.Errorf("nn: the network has no layers")
	}
	if s.Input != (Shape{}) && s.Input.Size() != s.Inputs {
		return fmt.Errorf("nn: input shape %s has %d features, not %d", s.Input, s.Input.Size(), s.Inputs)
	}
	for i, l := range s.Layers {
		if l.kind() == LayerDense && l.Activation.Name == "" {
			return fmt.Errorf("nn: layer %d has no activation", i)
		}
	}
	if _, err := s.stages(); err != nil {
		return err
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

// InputShape is the shape of one example: Input, or Inputs flat features.
func (s Spec) InputShape() Shape {
	if s.Input == (Shape{}) {
		return flat(s.Inputs)
	}
	return s.Input
}

// stages resolves the layers against the input shape.
func (s Spec) stages() ([]stage, error) { return resolve(s.InputShape(), s.Layers) }

// Outputs is the width of the last layer's output (0 for a spec that does not
// validate).
func (s Spec) Outputs() int {
	if len(s.Layers) > 0 && s.Layers[len(s.Layers)-1].kind() == LayerDense {
		return s.Layers[len(s.Layers)-1].Units
	}
	st, err := s.stages()
	if err != nil {
		return 0
	}
	return st[len(st)-1].out.Size()
}

// ParamShapes are the shapes of the W of every parametric layer in order (its B
// is 1 x the same columns).
func (s Spec) ParamShapes() ([][2]int, error) {
	stages, err := s.stages()
	if err != nil {
		return nil, err
	}
	var out [][2]int
	for _, st := range stages {
		if st.hasParams() {
			r, c := st.paramShape()
			out = append(out, [2]int{r, c})
		}
	}
	return out, nil
}

// Params are a network's weights and biases in float64: W[l] is in x out, B[l] is
// 1 x out.
type Params struct {
	W []*mat.Dense
	B []*mat.Dense
}

// InitParams draws uniform weights (Xavier or He) and zero biases from a seeded
// AES-CTR stream, so every party and the plaintext reference start from the same
// model. A convolution's fan-in is its patch size and its fan-out maps x kernel
// area. The spec must validate.
func InitParams(s Spec, seed sharing.Seed) Params {
	prg := sharing.NewPRG(seed, 0)
	var p Params
	stages, err := s.stages()
	if err != nil {
		panic(fmt.Sprintf("nn: InitParams of an invalid spec: %v", err)) // a programming error: callers validate first
	}
	for _, st := range stages {
		if !st.hasParams() {
			continue
		}
		in, out := st.paramShape()
		fanOut := out
		if st.kind() == LayerConv {
			fanOut = out * st.Kernel * st.Kernel
		}
		limit := math.Sqrt(6 / float64(in+fanOut))
		if s.Init == "he" || (s.Init == "" && st.act().Name == "relu") {
			limit = math.Sqrt(6 / float64(in))
		}
		w := mat.NewDense(in, out, nil)
		for i := 0; i < in; i++ {
			for j := 0; j < out; j++ {
				u := float64(prg.Uint64()>>11) / (1 << 53)
				w.Set(i, j, (2*u-1)*limit)
			}
		}
		p.W = append(p.W, w)
		p.B = append(p.B, mat.NewDense(1, out, nil))
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
// for cross-entropy networks). The spec must validate.
func Predict(s Spec, p Params, x *mat.Dense) *mat.Dense {
	stages, err := s.stages()
	if err != nil {
		panic(fmt.Sprintf("nn: Predict with an invalid spec: %v", err)) // a programming error: callers validate first
	}
	out, _, _ := forward(context.Background(), &plainArith{params: p}, stages, x, false)
	return out
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
