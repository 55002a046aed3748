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

// Spec describes a feed-forward network trained with mean squared error.
type Spec struct {
	Inputs int
	Layers []Layer
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
		if len(l.Activation.Coeffs) == 0 {
			return fmt.Errorf("nn: layer %d has no activation", i)
		}
	}
	return nil
}

// Outputs is the width of the last layer.
func (s Spec) Outputs() int { return s.Layers[len(s.Layers)-1].Units }

// Params are a network's weights and biases in float64: W[l] is in x out, B[l] is
// 1 x out.
type Params struct {
	W []*mat.Dense
	B []*mat.Dense
}

// InitParams draws Xavier-uniform weights and zero biases from a seeded AES-CTR
// stream, so every party and the plaintext reference start from the same model.
func InitParams(s Spec, seed sharing.Seed) Params {
	prg := sharing.NewPRG(seed, 0)
	var p Params
	in := s.Inputs
	for _, l := range s.Layers {
		limit := math.Sqrt(6 / float64(in+l.Units))
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

// Predict runs the network forward in float64.
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
		for j := 0; j < c; j++ {
			z.Set(i, j, z.At(i, j)+b.At(0, j))
		}
	}
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
