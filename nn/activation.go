package nn

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Activation is an activation function. Polynomial ones (Coeffs set) are Beaver
// products on shares; "relu" uses a secure comparison (sign-bit extraction) and
// "sigmoid" an iterative exp and reciprocal. Polynomial fits approximate their
// Target only on Interval; outside it they diverge, so inputs should be scaled to
// stay inside it.
type Activation struct {
	Name     string
	Coeffs   []float64  // polynomial coefficients, lowest degree first; nil if not a polynomial
	Interval [2]float64 // where a fit holds; zero for exact functions
	MaxError float64    // max |fit - target| on Interval
	Target   func(float64) float64
}

func relu(x float64) float64    { return math.Max(x, 0) }
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// The activations. Polynomial coefficients are least-squares fits on 20,001 evenly
// spaced points of the interval (ReLU's degree-2 fit on [-a, a] has the closed form
// 3a/32 + x/2 + 15x^2/(32a)).
var activations = map[string]Activation{
	"identity": {Name: "identity", Coeffs: []float64{0, 1}},
	"square":   {Name: "square", Coeffs: []float64{0, 0, 1}},
	"relu-poly": {
		Name: "relu-poly", Coeffs: []float64{0.375, 0.5, 0.1171875},
		Interval: [2]float64{-4, 4}, MaxError: 0.375, Target: relu,
	},
	"sigmoid-poly": {
		Name: "sigmoid-poly", Coeffs: []float64{0.5, 0.19832646464954035, 0, -0.004473104514356231},
		Interval: [2]float64{-5, 5}, MaxError: 0.0609, Target: sigmoid,
	},
	"relu":    {Name: "relu", Target: relu},
	"sigmoid": {Name: "sigmoid", Target: sigmoid},
}

// ActivationByName looks an activation up; the error lists the known names.
func ActivationByName(name string) (Activation, error) {
	if name == "" {
		name = "identity"
	}
	a, ok := activations[name]
	if !ok {
		return Activation{}, fmt.Errorf("nn: unknown activation %q (known: %s)", name, strings.Join(ActivationNames(), ", "))
	}
	return a, nil
}

// ActivationNames lists the activations, sorted.
func ActivationNames() []string {
	var names []string
	for n := range activations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsIdentity reports whether the activation is f(x) = x.
func (a Activation) IsIdentity() bool { return a.Name == "identity" }

// IsPolynomial reports whether the activation is evaluated as a polynomial.
func (a Activation) IsPolynomial() bool { return a.Coeffs != nil }

// Eval computes the activation in float64: the polynomial itself for polynomial
// activations (the plaintext twin computes what the secure network computes), the
// exact function otherwise.
func (a Activation) Eval(x float64) float64 {
	if a.IsPolynomial() {
		return horner(a.Coeffs, x)
	}
	return a.Target(x)
}

// Deriv computes the derivative in float64, given the pre-activation x.
func (a Activation) Deriv(x float64) float64 {
	switch {
	case a.IsPolynomial():
		return horner(a.Derivative(), x)
	case a.Name == "relu":
		if x < 0 {
			return 0
		}
		return 1
	default: // sigmoid
		s := sigmoid(x)
		return s * (1 - s)
	}
}

// Derivative returns the coefficients of f' for a polynomial activation.
func (a Activation) Derivative() []float64 {
	if len(a.Coeffs) <= 1 {
		return []float64{0}
	}
	d := make([]float64, len(a.Coeffs)-1)
	for j := 1; j < len(a.Coeffs); j++ {
		d[j-1] = float64(j) * a.Coeffs[j]
	}
	return d
}

func horner(c []float64, x float64) float64 {
	v := 0.0
	for j := len(c) - 1; j >= 0; j-- {
		v = v*x + c[j]
	}
	return v
}
