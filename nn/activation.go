package nn

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Activation is a polynomial activation function: f(x) = sum Coeffs[j] x^j. Fits
// approximate a named function only on Interval; outside it they diverge, so
// inputs should be scaled to stay inside it.
type Activation struct {
	Name     string
	Coeffs   []float64
	Interval [2]float64 // where the fit holds; zero for exact polynomials
	MaxError float64    // max |fit - target| on Interval
	Target   func(float64) float64
}

// The activations. Coefficients are least-squares fits on 20,001 evenly spaced
// points of the interval (ReLU's degree-2 fit on [-a, a] has the closed form
// 3a/32 + x/2 + 15x^2/(32a)).
var activations = map[string]Activation{
	"identity": {Name: "identity", Coeffs: []float64{0, 1}},
	"square":   {Name: "square", Coeffs: []float64{0, 0, 1}},
	"relu-poly": {
		Name: "relu-poly", Coeffs: []float64{0.375, 0.5, 0.1171875},
		Interval: [2]float64{-4, 4}, MaxError: 0.375,
		Target: func(x float64) float64 { return math.Max(x, 0) },
	},
	"sigmoid-poly": {
		Name: "sigmoid-poly", Coeffs: []float64{0.5, 0.19832646464954035, 0, -0.004473104514356231},
		Interval: [2]float64{-5, 5}, MaxError: 0.0609,
		Target: func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	},
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

// Eval computes f(x) in float64.
func (a Activation) Eval(x float64) float64 { return horner(a.Coeffs, x) }

// Derivative returns the coefficients of f'.
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
