package sharing

import (
	"fmt"
	"math"
)

// Fixed-point precision limits. Below 12 fractional bits MNIST-scale training fails
// (Piranha, fig. 5); above 24 the headroom for products before truncation
// (2f + integer bits < 62) gets too small for real data.
const (
	MinFracBits     = 12
	MaxFracBits     = 24
	DefaultFracBits = 16
)

// Codec maps reals to Z_2^64 as round(x * 2^FracBits) in two's complement.
type Codec struct {
	FracBits int
}

// NewCodec validates the precision.
func NewCodec(fracBits int) (Codec, error) {
	if fracBits < MinFracBits || fracBits > MaxFracBits {
		return Codec{}, fmt.Errorf("sharing: fixed-point precision %d fractional bits is out of range [%d, %d]", fracBits, MinFracBits, MaxFracBits)
	}
	return Codec{FracBits: fracBits}, nil
}

// Scale is 2^FracBits as a float.
func (c Codec) Scale() float64 { return math.Ldexp(1, c.FracBits) }

// One is the encoding of 1.0.
func (c Codec) One() uint64 { return 1 << c.FracBits }

// Encode maps x to the ring; it fails for NaN, infinities and values that would not
// fit in 62 bits, so no silent wrap-around can start from an input.
func (c Codec) Encode(x float64) (uint64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("sharing: cannot encode %v", x)
	}
	v := math.Round(math.Ldexp(x, c.FracBits))
	if math.Abs(v) >= 1<<62 {
		// The value itself stays out of the message: errors may travel to peers.
		return 0, fmt.Errorf("sharing: a value of magnitude 2^%d or more does not fit %d fractional bits", 62-c.FracBits, c.FracBits)
	}
	return uint64(int64(v)), nil
}

// MustEncode encodes values known to be in range (constants of the program).
func (c Codec) MustEncode(x float64) uint64 {
	v, err := c.Encode(x)
	if err != nil {
		panic(err)
	}
	return v
}

// Decode maps a ring element back to a real.
func (c Codec) Decode(v uint64) float64 { return math.Ldexp(float64(int64(v)), -c.FracBits) }

// EncodeTensor encodes a row-major slice of reals into a tensor of the given shape.
func (c Codec) EncodeTensor(xs []float64, shape ...int) (Tensor, error) {
	t := Zeros(shape...)
	if len(xs) != t.Len() {
		return Tensor{}, fmt.Errorf("sharing: shape %v needs %d values, got %d", shape, t.Len(), len(xs))
	}
	for i, x := range xs {
		v, err := c.Encode(x)
		if err != nil {
			return Tensor{}, fmt.Errorf("element %d: %w", i, err)
		}
		t.Data[i] = v
	}
	return t, nil
}

// DecodeTensor decodes every element.
func (c Codec) DecodeTensor(t Tensor) []float64 {
	out := make([]float64, t.Len())
	for i, v := range t.Data {
		out[i] = c.Decode(v)
	}
	return out
}

// ShiftRight is the plaintext twin of secure truncation: an arithmetic shift by f.
func ShiftRight(v uint64, f int) uint64 { return uint64(int64(v) >> f) }
