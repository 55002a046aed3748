package nn

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// layerCase is one layer on one input shape.
type layerCase struct {
	name  string
	in    Shape
	layer Layer
}

// layerCases are the layers under test; activations are layers of their own, so
// that each case's secure error is one truncation deep.
func layerCases() []layerCase {
	sq, _ := ActivationByName("square")
	relu, _ := ActivationByName("relu")
	return []layerCase{
		{"conv 3x3 stride 2 pad 1", Shape{2, 5, 5}, Layer{Type: LayerConv, Maps: 3, Kernel: 3, Stride: 2, Padding: 1}},
		{"conv 5x5 stride 2", Shape{1, 9, 9}, Layer{Type: LayerConv, Maps: 2, Kernel: 5, Stride: 2}},
		{"conv 2x2 stride 1", Shape{3, 4, 3}, Layer{Type: LayerConv, Maps: 2, Kernel: 2}},
		{"maxpool 2", Shape{3, 4, 6}, Layer{Type: LayerMaxPool, Size: 2}},
		{"maxpool 2 with ties", Shape{3, 4, 6}, Layer{Type: LayerMaxPool, Size: 2}},
		{"avgpool 2", Shape{2, 4, 4}, Layer{Type: LayerAvgPool, Size: 2}},
		{"flatten", Shape{2, 3, 3}, Layer{Type: LayerFlatten}},
		{"relu", Shape{2, 3, 3}, Layer{Type: LayerActivation, Activation: relu}},
		{"square", Shape{2, 3, 3}, Layer{Type: LayerActivation, Activation: sq}},
		{"dense relu", Shape{2, 3, 3}, Layer{Units: 4, Activation: relu}},
	}
}

// gridMatrix draws rows x cols values on a grid of 2^-8 in [-2, 2], exact in
// fixed point; the rng makes test data, not secrets.
func gridMatrix(rng *mrand.Rand, rows, cols int) *mat.Dense {
	m := mat.NewDense(rows, cols, nil)
	for i := range rows {
		for j := range cols {
			m.Set(i, j, float64(rng.IntN(1025)-512)/256)
		}
	}
	return m
}

// stageOf resolves a single layer and draws its parameters.
func stageOf(t *testing.T, c layerCase, rng *mrand.Rand) (stage, Params) {
	t.Helper()
	stages, err := resolve(c.in, []Layer{c.layer})
	if err != nil {
		t.Fatal(err)
	}
	st := stages[0]
	var p Params
	if st.hasParams() {
		r, cols := st.paramShape()
		p.W, p.B = []*mat.Dense{gridMatrix(rng, r, cols)}, []*mat.Dense{gridMatrix(rng, 1, cols)}
	}
	return st, p
}

// runStage is one stage forward and backward in an arithmetic: its output, input
// gradient and parameter gradients, for output gradient g.
func runStage[T, S any](ctx context.Context, ar arithmetic[T, S], st stage, x, g T) ([]T, error) {
	out, tp, err := forwardStage(ctx, ar, st, x, true)
	if err != nil {
		return nil, err
	}
	if a := st.act(); !a.IsIdentity() {
		if g, err = ar.activateBack(ctx, a, tp.act, g); err != nil {
			return nil, err
		}
	}
	dW, db, dx, err := backwardStage(ctx, ar, st, tp.op, g, true)
	if err != nil {
		return nil, err
	}
	res := []T{out, dx}
	if st.hasParams() {
		res = append(res, dW, db)
	}
	return res, nil
}

// Each layer's forward and backward on shares against the plaintext twin. Inputs,
// parameters and gradients lie on a 2^-8 grid, so the only error is truncation:
// each product or scaling is truncated once (floor or one more, at most 1 ulp),
// and a square activation's backward multiplies by the derivative once more; the
// bound is 4 ulp (2^-14) on every entry. Max pooling and ReLU are exact.
func TestLayersOnSharesMatchPlaintext(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, c := range layerCases() {
		st, params := stageOf(t, c, rng)
		const rows = 3
		x, g := gridMatrix(rng, rows, st.in.Size()), gridMatrix(rng, rows, st.out.Size())
		if strings.HasSuffix(c.name, "with ties") {
			// Three levels: most windows hold a tied maximum, whose entries share
			// the gradient in the twin.
			x.Apply(func(_, _ int, v float64) float64 { return math.Round(v / 2) }, x)
		}
		want, err := runStage[*mat.Dense, plainTape](context.Background(), &plainArith{params: params}, st, x, g)
		if err != nil {
			t.Fatal(err)
		}
		xs, gs := encodeDenseT(t, codec, x), encodeDenseT(t, codec, g)
		bound := 4 * math.Ldexp(1, -codec.FracBits)
		if st.kind() == LayerMaxPool || st.act().Name == "relu" {
			bound = 0
		}
		for _, n := range []int{2, 3, 5} {
			t.Run(fmt.Sprintf("%s/parties=%d", c.name, n), func(t *testing.T) {
				got := protocoltest.Engines(t, n, protocol.Config{Codec: codec}, func(ctx context.Context, e *protocol.Engine) ([]*mat.Dense, error) {
					ar := &secureArith{e: e}
					for l := range params.W {
						ar.w = append(ar.w, e.Public(encodeDenseT(t, codec, params.W[l])))
						ar.b = append(ar.b, e.Public(encodeDenseT(t, codec, params.B[l])))
					}
					res, err := runStage[sharing.Tensor, secureTape](ctx, ar, st, e.Public(xs), e.Public(gs))
					if err != nil {
						return nil, err
					}
					opened, err := e.Open(ctx, res...)
					if err != nil {
						return nil, err
					}
					out := make([]*mat.Dense, len(opened))
					for i, o := range opened {
						out[i] = decodeDense(codec, o)
					}
					return out, nil
				})
				for i, w := range want {
					if d := maxAbsDiff(got[0][i], w); d > bound {
						t.Errorf("result %d (output, input gradient, dW, db) differs from plaintext by %g > %g", i, d, bound)
					}
				}
			})
		}
	}
}

func encodeDenseT(t *testing.T, codec sharing.Codec, m *mat.Dense) sharing.Tensor {
	t.Helper()
	v, err := encodeDense(codec, m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func maxAbsDiff(a, b *mat.Dense) float64 {
	ar, ac := a.Dims()
	br, bc := b.Dims()
	if ar != br || ac != bc {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range ar {
		for j := range ac {
			worst = math.Max(worst, math.Abs(a.At(i, j)-b.At(i, j)))
		}
	}
	return worst
}

// The plaintext layers' gradients against finite differences of the scalar
// L = sum(out ⊙ R) for a random R: the input gradient and the parameter gradients
// at a few coordinates each. Max pooling is differentiable away from ties, which
// the random inputs avoid.
func TestPlainLayerGradientsByFiniteDifferences(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, c := range layerCases() {
		t.Run(c.name, func(t *testing.T) {
			st, params := stageOf(t, c, rng)
			x := mat.NewDense(2, st.in.Size(), nil)
			for i := range 2 * st.in.Size() {
				x.RawMatrix().Data[i] = rng.Float64()*4 - 2 // distinct: no ties in a window
			}
			r := gridMatrix(rng, 2, st.out.Size())
			ar := &plainArith{params: params}
			ctx := context.Background()
			grads, err := runStage[*mat.Dense, plainTape](ctx, ar, st, x, r)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				out, _, err := forwardStage(ctx, ar, st, x, false)
				if err != nil {
					t.Fatal(err)
				}
				var prod mat.Dense
				prod.MulElem(out, r)
				return mat.Sum(&prod)
			}
			checkFiniteDiff(t, "input gradient", x, grads[1], loss, rng)
			if st.hasParams() {
				checkFiniteDiff(t, "weight gradient", params.W[0], grads[2], loss, rng)
				checkFiniteDiff(t, "bias gradient", params.B[0], grads[3], loss, rng)
			}
		})
	}
}

// checkFiniteDiff compares grad with central differences of loss in v at up to 8
// random coordinates.
func checkFiniteDiff(t *testing.T, what string, v, grad *mat.Dense, loss func() float64, rng *mrand.Rand) {
	t.Helper()
	data := v.RawMatrix().Data
	const h = 1e-5
	for range 8 {
		i := rng.IntN(len(data))
		old := data[i]
		data[i] = old + h
		up := loss()
		data[i] = old - h
		down := loss()
		data[i] = old
		fd := (up - down) / (2 * h)
		if g := grad.RawMatrix().Data[i]; math.Abs(fd-g) > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Errorf("%s at %d: backward gives %g, finite differences %g", what, i, g, fd)
		}
	}
}

// Bad configurations are errors naming the layer.
func TestBadLayerConfigsNameTheLayer(t *testing.T) {
	id, _ := ActivationByName("identity")
	out := Layer{Units: 10, Activation: id}
	for _, c := range []struct {
		name   string
		spec   Spec
		wanted string
	}{
		{"kernel larger than input", Spec{Inputs: 16, Input: Shape{1, 4, 4}, Layers: []Layer{{Type: LayerConv, Maps: 2, Kernel: 5}, out}},
			"layer 1 (conv2d): kernel 5x5 is larger than its 1x4x4 input"},
		{"pooling does not divide", Spec{Inputs: 36, Input: Shape{1, 6, 6}, Layers: []Layer{{Type: LayerConv, Maps: 2, Kernel: 2}, {Type: LayerMaxPool, Size: 2}, out}},
			"layer 2 (maxpool): pooling 2x2 does not divide its 2x5x5 input"},
		{"conv after dense does not chain", Spec{Inputs: 36, Input: Shape{1, 6, 6}, Layers: []Layer{{Units: 8, Activation: id}, {Type: LayerConv, Maps: 2, Kernel: 3}, out}},
			"layer 2 (conv2d): kernel 3x3 is larger than its 8x1x1 input"},
		{"input shape of the wrong size", Spec{Inputs: 30, Input: Shape{1, 6, 6}, Layers: []Layer{out}},
			"input shape 1x6x6 has 36 features, not 30"},
		{"unknown type", Spec{Inputs: 36, Layers: []Layer{{Type: "conv3d"}, out}},
			"layer 1 (conv3d): unknown layer type"},
		{"activation layer without activation", Spec{Inputs: 36, Layers: []Layer{{Type: LayerActivation}, out}},
			"layer 1 (activation): no activation"},
	} {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.wanted) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wanted)
		}
	}
}

// The ReLU of a conv2d before a max pool moves onto the pool (poolBeforeReLU); the
// plaintext model's outputs and every gradient must equal those of the layers in
// their written order, on inputs with tied and zero window maxima.
func TestPoolBeforeReLUKeepsOutputsAndGradients(t *testing.T) {
	relu, _ := ActivationByName("relu")
	layers := []Layer{
		{Type: LayerConv, Maps: 3, Kernel: 3, Activation: relu},
		{Type: LayerMaxPool, Size: 2},
		{Units: 4, Activation: relu},
		{Units: 3},
	}
	in := Shape{Channels: 2, Height: 6, Width: 6}
	swapped, err := resolve(in, layers)
	if err != nil {
		t.Fatal(err)
	}
	if !swapped[0].act().IsIdentity() || swapped[1].act().Name != "relu" || swapped[2].act().Name != "relu" {
		t.Fatalf("activations after the swap: %s, %s, %s; want identity, relu, relu", swapped[0].act().Name, swapped[1].act().Name, swapped[2].act().Name)
	}
	written, err := resolveInOrder(in, layers)
	if err != nil {
		t.Fatal(err)
	}
	rng := mrand.New(mrand.NewPCG(5, 6))
	var p Params
	for _, st := range written {
		if st.hasParams() {
			r, c := st.paramShape()
			p.W, p.B = append(p.W, gridMatrix(rng, r, c)), append(p.B, gridMatrix(rng, 1, c))
		}
	}
	// Integer inputs and weights: many outputs are exactly 0 or tie in a window.
	round := func(_, _ int, v float64) float64 { return math.Round(v) }
	for _, w := range p.W {
		w.Apply(round, w)
	}
	for _, b := range p.B {
		b.Apply(round, b)
	}
	x, g := gridMatrix(rng, 8, in.Size()), gridMatrix(rng, 8, 3)
	x.Apply(round, x)
	ties, zeros := 0, 0
	run := func(stages []stage) []*mat.Dense {
		ar := &plainArith{params: p}
		out, tapes, err := forward(context.Background(), ar, stages, x, true)
		if err != nil {
			t.Fatal(err)
		}
		grads, err := backward(context.Background(), ar, stages, tapes, g)
		if err != nil {
			t.Fatal(err)
		}
		if &stages[0] == &swapped[0] {
			ind := tapes[1].op.z
			r, c := ind.Dims()
			for i := range r {
				if mat.Sum(ind.RowView(i)) > 1 {
					ties++
				}
			}
			_ = c
			for _, v := range tapes[1].act.z.RawMatrix().Data {
				if v == 0 {
					zeros++
				}
			}
		}
		return append([]*mat.Dense{out}, grads...)
	}
	want, got := run(written), run(swapped)
	if ties == 0 || zeros == 0 {
		t.Fatalf("%d tied windows and %d zero maxima: the inputs do not exercise the edge cases", ties, zeros)
	}
	for i := range want {
		if d := maxAbsDiff(got[i], want[i]); d != 0 {
			t.Errorf("result %d (output, then dW and db from the last layer down) differs by %g after the swap", i, d)
		}
	}
}
