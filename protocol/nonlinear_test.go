package protocol_test

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// nonlinearConfigs: every party count at the default precision, and the ends of
// the precision range.
var nonlinearConfigs = []struct{ parties, fracBits int }{
	{2, 16}, {3, 16}, {5, 16}, {3, 12}, {2, 24},
}

func configName(parties, fracBits int) string {
	return fmt.Sprintf("parties=%d/f=%d", parties, fracBits)
}

// fixedTensor encodes reals (which must be encodable) into a tensor.
func fixedTensor(t testing.TB, codec sharing.Codec, xs []float64, shape ...int) sharing.Tensor {
	t.Helper()
	x, err := codec.EncodeTensor(xs, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// withFixed returns random fixed-point values in (-bound, bound) followed by the
// given ring values, flat.
func withFixed(codec sharing.Codec, bound float64, count int, edges ...uint64) sharing.Tensor {
	r, _ := randomFixed(codec, bound, count)
	return sharing.Tensor{Shape: []int{count + len(edges)}, Data: append(r.Data, edges...)}
}

// checkBound fails unless |got_i - want_i| <= bound for all i and reports the
// largest error seen.
func checkBound(t *testing.T, what string, codec sharing.Codec, x []float64, got sharing.Tensor, want []float64, bound float64) {
	t.Helper()
	g := codec.DecodeTensor(got)
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	worst := 0.0
	for i := range g {
		d := math.Abs(g[i] - want[i])
		if !(d <= bound) {
			t.Fatalf("%s(%g) = %.9g, want %.9g: error %.3g > bound %.3g", what, x[i], g[i], want[i], d, bound)
		}
		worst = max(worst, d)
	}
	t.Logf("%s: worst error %.3g = %.2f ulp (bound %.3g) over %d values", what, worst, worst*codec.Scale(), bound, len(g))
}

func TestReLUExact(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			// The edges of the range where ReLU is exact: all of the ring on 64 bits,
			// |x| < 2^31 ulps on 32.
			limit := uint64(1<<62 - 1)
			if protocol.ReLUCompareBits(c.fracBits) == 32 {
				limit = 1<<31 - 1
			}
			x := withFixed(codec, min(1000, protocol.ReLUBound(c.fracBits)), 300, 0, 1, math.MaxUint64, limit, -limit, -limit-1,
				codec.One(), -codec.One(), codec.MustEncode(0.5), codec.MustEncode(-0.5))
			x, err := x.Reshape(2, 155)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range compareModes {
				run := runSharedMode(t, c.parties, c.fracBits, mode.lookup, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
					y, d, err := e.ReLU(ctx, mine[0])
					return []sharing.Tensor{y, d}, err
				})
				if want := protocol.ReLURoundsFor(c.parties, c.fracBits, mode.lookup); run.rounds != want {
					t.Fatalf("%s: ReLU took %d rounds, documented %d", mode.name, run.rounds, want)
				}
				if !mode.lookup && protocol.ReLURounds(c.parties, c.fracBits) != run.rounds {
					t.Fatalf("ReLURounds(%d, %d) is not the adder's %d", c.parties, c.fracBits, run.rounds)
				}
				checkReLU(t, x, run.out[0], run.out[1], func(v uint64) bool { return int64(v) < 0 })
			}
		})
	}
}

// checkReLU checks y = x (1 - neg(x)) and d = 1 - neg(x) exactly.
func checkReLU(t *testing.T, x, y, d sharing.Tensor, neg func(uint64) bool) {
	t.Helper()
	if !sharing.SameShape(y, x) || !sharing.SameShape(d, x) {
		t.Fatalf("ReLU of shape %v returned shapes %v and %v", x.Shape, y.Shape, d.Shape)
	}
	for i, v := range x.Data {
		wantY, wantD := v, uint64(1)
		if neg(v) {
			wantY, wantD = 0, 0
		}
		if y.Data[i] != wantY || d.Data[i] != wantD {
			t.Fatalf("ReLU(%d) = (%d, %d), want (%d, %d)", int64(v), int64(y.Data[i]), d.Data[i], int64(wantY), wantD)
		}
	}
}

// TestReLUBeyondBound pins what the documentation says of ReLU on 32 bits past
// its bound: the sign is that of x mod 2^32 read as a signed 32-bit integer.
func TestReLUBeyondBound(t *testing.T) {
	const f = 16
	if protocol.ReLUCompareBits(f) != 32 || protocol.ReLUBound(f) != 1<<15 {
		t.Fatalf("ReLU at f = %d compares on %d bits with bound %g, want 32 and 2^15", f, protocol.ReLUCompareBits(f), protocol.ReLUBound(f))
	}
	if protocol.ReLUCompareBits(24) != 64 || !math.IsInf(protocol.ReLUBound(24), 1) {
		t.Fatalf("ReLU at f = 24 compares on %d bits, want 64", protocol.ReLUCompareBits(24))
	}
	x := sharing.Tensor{Shape: []int{6}, Data: []uint64{1 << 31, 1<<32 - 1, 1 << 32, 1<<32 + 5, ^uint64(1<<31-1) - 1, ^uint64(1<<32 - 1)}}
	for _, n := range partyCounts {
		for _, mode := range compareModes {
			run := runSharedMode(t, n, f, mode.lookup, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
				y, d, err := e.ReLU(ctx, mine[0])
				return []sharing.Tensor{y, d}, err
			})
			checkReLU(t, x, run.out[0], run.out[1], func(v uint64) bool { return int32(uint32(v)) < 0 })
		}
	}
}

func TestSelectAndLessThanExact(t *testing.T) {
	for _, n := range partyCounts {
		codec := sharing.Codec{FracBits: 16}
		x, xs := randomFixed(codec, 50, 40)
		y, ys := randomFixed(codec, 50, 40)
		copy(y.Data[:5], x.Data[:5]) // ties: not less
		run := runShared(t, n, 16, []sharing.Tensor{x, y}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
			lt, err := e.LessThan(ctx, mine[0], mine[1])
			if err != nil {
				return nil, err
			}
			smaller, err := e.Select(ctx, lt, mine[0], mine[1])
			return []sharing.Tensor{lt, smaller}, err
		})
		for i := range xs {
			less := int64(x.Data[i]) < int64(y.Data[i])
			want := y.Data[i]
			if less {
				want = x.Data[i]
			}
			if (run.out[0].Data[i] == 1) != less || run.out[0].Data[i] > 1 || run.out[1].Data[i] != want {
				t.Fatalf("parties=%d: %g < %g gave bit %d and min %d", n, xs[i], ys[i], run.out[0].Data[i], int64(run.out[1].Data[i]))
			}
		}
	}
}

func TestMaxRowsExact(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			maxFixed := uint64(1<<62 - 1)
			var inputs []sharing.Tensor
			for _, cols := range []int{1, 2, 3, 5, 10, 16} {
				x, _ := randomFixed(codec, 100, 9, cols)
				// Ties and negatives: a few rows drawn from a small set of values.
				small := randomRing(3 * cols)
				for j := range 3 * cols {
					x.Data[j] = uint64(int64(small.Data[j]%5)-2) << c.fracBits
				}
				// A row of equal values, a row of extremes, an all-negative row.
				for j := range cols {
					x.Data[3*cols+j] = -codec.One()
					x.Data[4*cols+j] = -maxFixed
					x.Data[5*cols+j] = -(uint64(j+1) << c.fracBits)
				}
				x.Data[4*cols+cols/2] = maxFixed
				inputs = append(inputs, x)
			}
			run := runShared(t, c.parties, c.fracBits, inputs, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
				var out []sharing.Tensor
				for _, x := range mine {
					m, err := e.MaxRows(ctx, x)
					if err != nil {
						return nil, err
					}
					out = append(out, m)
				}
				return out, nil
			})
			wantRounds := 0
			for k, x := range inputs {
				rows, cols := x.Shape[0], x.Shape[1]
				// One sign extraction for all pairs, an AND tree over the cols-1 comparisons
				// of each candidate, a bit conversion with the product in its round.
				if cols > 1 {
					wantRounds += msbRounds[c.parties] + bits.Len(uint(cols-2))
				}
				if protocol.MaxRowsRounds(c.parties, cols) != msbRounds[c.parties]+bits.Len(uint(cols-2)) && cols > 1 {
					t.Fatalf("MaxRowsRounds(%d, %d) = %d", c.parties, cols, protocol.MaxRowsRounds(c.parties, cols))
				}
				got := run.out[k]
				if len(got.Shape) != 2 || got.Shape[0] != rows || got.Shape[1] != 1 {
					t.Fatalf("MaxRows of %v returned shape %v", x.Shape, got.Shape)
				}
				for r := range rows {
					want := x.Data[r*cols]
					for _, v := range x.Data[r*cols : (r+1)*cols] {
						if int64(v) > int64(want) {
							want = v
						}
					}
					if got.Data[r] != want {
						t.Fatalf("%d columns, row %d: max = %d, got %d", cols, r, int64(want), int64(got.Data[r]))
					}
				}
			}
			if run.rounds != wantRounds {
				t.Fatalf("MaxRows took %d rounds, documented %d", run.rounds, wantRounds)
			}
		})
	}
}

// On 32-bit lanes the maximum is exact while entries of a row differ by less than
// 2^31, whatever their magnitude, with one round fewer than on 64 bits.
func TestMaxRowsOn32BitLanes(t *testing.T) {
	for _, parties := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("parties=%d", parties), func(t *testing.T) {
			const rows, cols = 33, 7 // an odd number of comparisons: a half-empty word
			x := randomRing(rows * cols)
			x.Shape = []int{rows, cols}
			for r := range rows {
				base := x.Data[r*cols] // any ring value, near the wrap included
				if r == 0 {
					base = 1<<63 - 1<<30
				}
				for j := range cols {
					spread := int64(x.Data[r*cols+j]%(1<<31)) - 1<<30 // |difference| < 2^31
					if r%4 == 1 {
						spread = int64(j % 2) // ties
					}
					x.Data[r*cols+j] = base + uint64(spread)
				}
			}
			for _, mode := range compareModes {
				run := runSharedMode(t, parties, 16, mode.lookup, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
					m, err := e.MaxRowsOnLanes(ctx, mine[0], 32)
					return []sharing.Tensor{m}, err
				})
				checkMaxRowsOn32(t, x, run, parties, cols, mode.lookup)
			}
		})
	}
}

// checkMaxRowsOn32 checks TestMaxRowsOn32BitLanes' run: the row maxima by the
// differences' 32-bit signs, in the documented rounds.
func checkMaxRowsOn32(t *testing.T, x sharing.Tensor, run sharedRun, parties, cols int, lookup bool) {
	t.Helper()
	for r := range x.Shape[0] {
		base := x.Data[r*cols]
		want := base
		for _, v := range x.Data[r*cols : (r+1)*cols] {
			if int64(v-base) > int64(want-base) {
				want = v
			}
		}
		if got := run.out[0].Data[r]; got != want {
			t.Fatalf("row %d: max %d, got %d", r, want, got)
		}
	}
	want := protocol.MaxRowsRounds(parties, cols) - 1
	if parties > 2 { // a sign pair: its 6 rounds, the AND tree, the conversion
		want = protocol.SignPairRounds(32) + bits.Len(uint(cols-2)) + 1
	}
	if lookup {
		want = protocol.MaxRowsOnRoundsFor(parties, cols, 32, true)
	} else if protocol.MaxRowsOnRoundsFor(parties, cols, 32, false) != want {
		t.Fatalf("MaxRowsOnRoundsFor(%d, %d, 32) is not %d", parties, cols, want)
	}
	if run.rounds != want {
		t.Fatalf("%d rounds on 32-bit lanes, want %d", run.rounds, want)
	}
}

func TestExpWithinBound(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			ulp := math.Ldexp(1, -c.fracBits)
			var xs []float64
			for i := range 400 { // the whole range, and densely where e^x matters
				xs = append(xs, -256*float64(i)/399, -16*float64(i)/399, -4*float64(i)/399)
			}
			r, _ := randomFixed(codec, 128, 300)
			for _, v := range codec.DecodeTensor(r) {
				xs = append(xs, v-128)
			}
			xs = append(xs, 0, -ulp, -3, -16, -255.99, -256, -256+ulp, -2)
			beyond := []float64{-256 - ulp, -300, -383.9}
			positive := []float64{ulp, 0.25, 0.5, 0.75, 1 - ulp, 1}
			all := append(append(xs, beyond...), positive...)
			x := fixedTensor(t, codec, all, len(all))
			xs = codec.DecodeTensor(x)
			run := runShared(t, c.parties, c.fracBits, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
				y, err := e.Exp(ctx, mine[0])
				return []sharing.Tensor{y}, err
			})
			wantRounds := protocol.ExpIterations + 2
			if c.fracBits > 22 {
				wantRounds++
			}
			if run.rounds != wantRounds {
				t.Fatalf("Exp took %d rounds, documented %d", run.rounds, wantRounds)
			}
			want := make([]float64, len(xs))
			for i, v := range xs {
				want[i] = math.Exp(v)
			}
			part := func(from, to int) sharing.Tensor {
				return sharing.Tensor{Shape: []int{to - from}, Data: run.out[0].Data[from:to]}
			}
			n, m := len(xs)-len(beyond)-len(positive), len(xs)-len(positive)
			checkBound(t, "Exp", codec, xs[:n], part(0, n), want[:n], protocol.ExpMaxError(c.fracBits))
			checkBound(t, "Exp below -256", codec, xs[n:m], part(n, m), want[n:m], 1e-50+ulp)
			checkBound(t, "Exp on (0, 1]", codec, xs[m:], part(m, len(xs)), want[m:], 1e-5+ulp)
		})
	}
}

func TestReciprocalWithinBound(t *testing.T) {
	ranges := [][2]float64{{1, 2}, {1, 10}, {0.5, 64}, {3, 3}, {1.0 / 16, 16}}
	wantSteps := map[[2]float64]int{{1, 2}: 3, {1, 10}: 5, {0.5, 64}: 8}
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			var inputs []sharing.Tensor
			var plain [][]float64
			for _, rg := range ranges {
				lo, hi := rg[0], rg[1]
				u, _ := randomFixed(codec, 1, 200)
				var xs []float64
				for _, v := range codec.DecodeTensor(u) {
					xs = append(xs, lo+(hi-lo)*(v+1)/2)
				}
				xs = append(xs, lo, hi, (lo+hi)/2)
				x := fixedTensor(t, codec, xs, 1, len(xs))
				inputs = append(inputs, x)
				plain = append(plain, codec.DecodeTensor(x))
			}
			run := runShared(t, c.parties, c.fracBits, inputs, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
				var out []sharing.Tensor
				for k, rg := range ranges {
					y, err := e.Reciprocal(ctx, mine[k], rg[0], rg[1])
					if err != nil {
						return nil, err
					}
					out = append(out, y)
				}
				return out, nil
			})
			wantRounds := 0
			for k, rg := range ranges {
				rounds, err := protocol.ReciprocalRounds(rg[0], rg[1], c.fracBits)
				if err != nil {
					t.Fatal(err)
				}
				if s, ok := wantSteps[rg]; ok && c.fracBits == 16 && rounds != 3+2*s {
					t.Fatalf("Reciprocal on %v: %d rounds, documented %d", rg, rounds, 3+2*s)
				}
				wantRounds += rounds
				bound, err := protocol.ReciprocalMaxError(rg[0], rg[1], c.fracBits)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, len(plain[k]))
				for i, v := range plain[k] {
					want[i] = 1 / v
				}
				checkBound(t, fmt.Sprintf("Reciprocal on %v", rg), codec, plain[k], run.out[k], want, bound)
			}
			if run.rounds != wantRounds {
				t.Fatalf("Reciprocal took %d rounds, documented %d", run.rounds, wantRounds)
			}
		})
	}
}

func TestReciprocalRangeErrors(t *testing.T) {
	session(t, 2, 16, func(ctx context.Context, e *protocol.Engine) (int, error) {
		x := sharing.Zeros(3)
		for _, rg := range [][2]float64{{0, 1}, {-1, 1}, {2, 1}, {1, math.Inf(1)}, {math.NaN(), 1}, {1e-6, 1e6}, {1, 1e9}} {
			if _, err := e.Reciprocal(ctx, x, rg[0], rg[1]); err == nil {
				return 0, fmt.Errorf("Reciprocal on %v succeeded", rg)
			}
		}
		if e.Rounds() != 0 {
			return 0, fmt.Errorf("rejected ranges used %d rounds", e.Rounds())
		}
		return 0, nil
	})
}

// softmaxRows computes the row-wise softmax in float64.
func softmaxRows(xs []float64, cols int) []float64 {
	out := make([]float64, len(xs))
	for r := 0; r < len(xs)/cols; r++ {
		row := xs[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for j, v := range row {
			out[r*cols+j] = math.Exp(v-m) / s
		}
	}
	return out
}

// TestSoftmaxRoundsAsDocumented pins the counts Softmax's documentation gives
// for 10 classes at f = 16: the maximum on the 16-bit window, Exp (10) and the
// normalisation (7).
func TestSoftmaxRoundsAsDocumented(t *testing.T) {
	for n, want := range map[int]int{2: 26, 3: 27, 5: 27} {
		if got, err := protocol.SoftmaxRounds(n, 10, 16); err != nil || got != want {
			t.Errorf("SoftmaxRounds(%d, 10, 16) = %d, %v; documented %d", n, got, err, want)
		}
	}
}

func TestSoftmaxWithinBound(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			shapes := [][2]int{{40, 10}, {4, 3}, {3, 1}, {2, 2}}
			var inputs []sharing.Tensor
			var plain [][]float64
			for _, s := range shapes {
				rows, cols := s[0], s[1]
				x, xs := randomFixed(codec, 20, rows, cols)
				// Row 0: all equal. Row 1: the spread limit (256). Row 2 (10 classes):
				// one dominant class and a tie for second.
				for j := range cols {
					xs[j] = -3.5
					if rows > 1 {
						xs[cols+j] = -128 + 256*float64(j)/float64(max(cols-1, 1))
					}
				}
				if cols == 10 {
					copy(xs[2*cols:3*cols], []float64{12, 3, 3, -7, 0, 1, 2, -20, 5, 4})
				}
				x = fixedTensor(t, codec, xs, rows, cols)
				inputs = append(inputs, x)
				plain = append(plain, codec.DecodeTensor(x))
			}
			for _, mode := range compareModes {
				checkSoftmaxRuns(t, c.parties, c.fracBits, mode.lookup, shapes, inputs, plain)
			}
		})
	}
}

// checkSoftmaxRuns runs Softmax on every input among the parties, comparing by
// lookup or not, and checks its rounds and error bound.
func checkSoftmaxRuns(t *testing.T, parties, fracBits int, lookup bool, shapes [][2]int, inputs []sharing.Tensor, plain [][]float64) {
	t.Helper()
	codec := sharing.Codec{FracBits: fracBits}
	run := runSharedMode(t, parties, fracBits, lookup, inputs, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
		var out []sharing.Tensor
		for _, x := range mine {
			before := e.Rounds()
			y, err := e.Softmax(ctx, x)
			if err != nil {
				return nil, err
			}
			// The rounds of each call, as a public tensor of party 0.
			r := sharing.Zeros(1)
			if e.Self() == 0 {
				r.Data[0] = e.Rounds() - before
			}
			out = append(out, y, r)
		}
		return out, nil
	})
	for k, s := range shapes {
		rows, cols := s[0], s[1]
		got := run.out[2*k]
		if !sharing.SameShape(got, inputs[k]) {
			t.Fatalf("Softmax of %v returned shape %v", inputs[k].Shape, got.Shape)
		}
		wantRounds, err := protocol.SoftmaxRoundsFor(parties, cols, fracBits, lookup)
		if err != nil {
			t.Fatal(err)
		}
		if adder, err := protocol.SoftmaxRounds(parties, cols, fracBits); !lookup && (err != nil || adder != wantRounds) {
			t.Fatalf("SoftmaxRounds(%d, %d, %d) = %d, %v, not SoftmaxRoundsFor's %d", parties, cols, fracBits, adder, err, wantRounds)
		}
		if r := int(run.out[2*k+1].Data[0]); r != wantRounds {
			t.Fatalf("Softmax of %dx%d took %d rounds, documented %d", rows, cols, r, wantRounds)
		}
		bound, err := protocol.SoftmaxMaxError(cols, fracBits)
		if err != nil {
			t.Fatal(err)
		}
		checkBound(t, fmt.Sprintf("Softmax %dx%d", rows, cols), codec, plain[k], got, softmaxRows(plain[k], cols), bound)
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	return math.Exp(x) / (1 + math.Exp(x))
}

func TestSigmoidWithinBound(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			ulp := math.Ldexp(1, -c.fracBits)
			maxFixed := uint64(1<<62 - 1)
			var edges []uint64
			for _, v := range []float64{0, ulp, -ulp, 1, -1, 32, -32, 32 - ulp, -32 + ulp, 32 + ulp, -32 - ulp, 40, -40, 1000, -1000, 1 << 20, -(1 << 20)} {
				edges = append(edges, codec.MustEncode(v))
			}
			edges = append(edges, maxFixed, -maxFixed)
			x := withFixed(codec, 40, 3*200-len(edges), edges...)
			x, err := x.Reshape(200, 3)
			if err != nil {
				t.Fatal(err)
			}
			xs := codec.DecodeTensor(x)
			run := runShared(t, c.parties, c.fracBits, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
				y, err := e.Sigmoid(ctx, mine[0])
				return []sharing.Tensor{y}, err
			})
			recip, err := protocol.ReciprocalRounds(1, 2, c.fracBits)
			if err != nil {
				t.Fatal(err)
			}
			exp := protocol.ExpIterations + 2
			if c.fracBits > 22 {
				exp++
			}
			if want := msbRounds[c.parties] + 1 + exp + recip + 1; run.rounds != want {
				t.Fatalf("Sigmoid took %d rounds, documented %d", run.rounds, want)
			}
			if !sharing.SameShape(run.out[0], x) {
				t.Fatalf("Sigmoid of shape %v returned shape %v", x.Shape, run.out[0].Shape)
			}
			want := make([]float64, len(xs))
			for i, v := range xs {
				want[i] = sigmoid(v)
			}
			checkBound(t, "Sigmoid", codec, xs, run.out[0], want, protocol.SigmoidMaxError(c.fracBits))
		})
	}
}

func TestNonlinearShapeErrors(t *testing.T) {
	session(t, 2, 16, func(ctx context.Context, e *protocol.Engine) (int, error) {
		discard := func(_ sharing.Tensor, err error) error { return err }
		checks := []struct {
			what string
			call func() error
		}{
			{"MaxRows of a vector", func() error { return discard(e.MaxRows(ctx, sharing.Zeros(3))) }},
			{"MaxRows without columns", func() error { return discard(e.MaxRows(ctx, sharing.Zeros(3, 0))) }},
			{"Softmax of a 3-d tensor", func() error { return discard(e.Softmax(ctx, sharing.Zeros(2, 2, 2))) }},
			{"LessThan of different shapes", func() error { return discard(e.LessThan(ctx, sharing.Zeros(2), sharing.Zeros(3))) }},
			{"Select of different shapes", func() error {
				return discard(e.Select(ctx, sharing.Zeros(2), sharing.Zeros(2), sharing.Zeros(3)))
			}},
		}
		for _, c := range checks {
			if err := c.call(); err == nil || !strings.Contains(err.Error(), "shape") {
				return 0, fmt.Errorf("%s: got error %v", c.what, err)
			}
		}
		if e.Rounds() != 0 {
			return 0, fmt.Errorf("rejected calls used %d rounds", e.Rounds())
		}
		return 0, nil
	})
}
