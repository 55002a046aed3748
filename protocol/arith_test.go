package protocol_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// Edge values of the ring that every exact operation must survive.
var ringEdges = []uint64{0, 1, math.MaxUint64, 1 << 63, 1<<63 - 1, 1 << 62, 1<<64 - 1<<62}

func withEdges(x sharing.Tensor) sharing.Tensor {
	for i := 0; i < len(ringEdges) && i < x.Len(); i++ {
		x.Data[i] = ringEdges[i]
	}
	return x
}

func TestOpenAndInputExact(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			x := withEdges(randomRing(7, 3))
			shares := splitAll(t, n, x)
			opened := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
				o, err := e.Open(ctx, shares[e.Self()][0])
				if err != nil {
					return sharing.Tensor{}, err
				}
				return o[0], nil
			})
			for i, o := range opened {
				if !sharing.Equal(o, x) {
					t.Fatalf("party %d opened a different value", i)
				}
			}
			// Input from the last party, then OpenTo party 1 only.
			owner := n - 1
			got := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
				var mine sharing.Tensor
				if e.Self() == owner {
					mine = x
				}
				s, err := e.Input(ctx, owner, mine, 7, 3)
				if err != nil {
					return sharing.Tensor{}, err
				}
				return e.OpenTo(ctx, s, 1)
			})
			if !sharing.Equal(got[1], x) {
				t.Fatalf("OpenTo(1) gave party 1 a different value")
			}
			for i, g := range got {
				if i != 1 && g.Len() != 0 {
					t.Fatalf("party %d learned an output meant for party 1", i)
				}
			}
		})
	}
}

func TestRingProductsExact(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 9, 1}, {9, 1, 9}, {5, 7, 3}, {16, 33, 2}, {0, 4, 3}, {3, 4, 0}}
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			x, y := withEdges(randomRing(11, 13)), withEdges(randomRing(11, 13))
			var ms, ks []sharing.Tensor
			for _, s := range shapes {
				ms = append(ms, withEdges(randomRing(s[0], s[1])))
				ks = append(ks, withEdges(randomRing(s[1], s[2])))
			}
			inputs := append([]sharing.Tensor{x, y}, append(ms, ks...)...)
			shares := splitAll(t, n, inputs...)
			results := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
				mine := shares[e.Self()]
				prod, err := e.Mul(ctx, mine[0], mine[1])
				if err != nil {
					return nil, err
				}
				sq, err := e.Square(ctx, mine[0])
				if err != nil {
					return nil, err
				}
				out := []sharing.Tensor{prod, sq}
				for j := range shapes {
					z, err := e.MatMul(ctx, mine[2+j], mine[2+len(shapes)+j])
					if err != nil {
						return nil, err
					}
					out = append(out, z)
				}
				return out, nil
			})
			get := func(j int) sharing.Tensor {
				var ss []sharing.Tensor
				for _, r := range results {
					ss = append(ss, r[j])
				}
				return reconstruct(t, ss)
			}
			if !sharing.Equal(get(0), sharing.Hadamard(x, y)) {
				t.Fatal("Mul differs from the ring product")
			}
			if !sharing.Equal(get(1), sharing.Hadamard(x, x)) {
				t.Fatal("Square differs from the ring product")
			}
			for j, s := range shapes {
				if !sharing.Equal(get(2+j), sharing.MatMul(ms[j], ks[j])) {
					t.Fatalf("MatMul %v differs from the ring product", s)
				}
			}
		})
	}
}

func TestShapeErrors(t *testing.T) {
	session(t, 2, 16, func(ctx context.Context, e *protocol.Engine) (int, error) {
		if _, err := e.Mul(ctx, sharing.Zeros(2, 3), sharing.Zeros(3, 2)); err == nil || !strings.Contains(err.Error(), "shapes") {
			return 0, fmt.Errorf("Mul of mismatched shapes: got %v", err)
		}
		if _, err := e.MatMul(ctx, sharing.Zeros(2, 3), sharing.Zeros(2, 3)); err == nil {
			return 0, fmt.Errorf("MatMul of mismatched shapes succeeded")
		}
		if _, err := e.TruncateBy(ctx, sharing.Zeros(2), 0); err == nil {
			return 0, fmt.Errorf("truncation by 0 bits succeeded")
		}
		return 0, nil
	})
}

// truncErr returns got - floor(x / 2^f) as a signed integer.
func truncErr(got, x uint64, f int) int64 { return int64(got - sharing.ShiftRight(x, f)) }

func TestTruncateEdgeValues(t *testing.T) {
	edges := []int64{0, 1, -1, 2, -2, 1<<16 - 1, -(1 << 16), 1<<60 - 1, -(1<<60 - 1), 1 << 61, -(1 << 61), 1<<62 - 1, -(1 << 62)}
	for _, n := range partyCounts {
		for _, f := range []int{12, 16, 24} {
			x := sharing.Zeros(len(edges))
			for i, v := range edges {
				x.Data[i] = uint64(v)
			}
			for rep := 0; rep < 20; rep++ {
				shares := splitAll(t, n, x)
				out := session(t, n, f, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
					return e.Truncate(ctx, shares[e.Self()][0])
				})
				got := reconstruct(t, out)
				for i := range edges {
					if d := truncErr(got.Data[i], x.Data[i], f); d != 0 && d != 1 {
						t.Fatalf("n=%d f=%d: Truncate(%d) off by %d", n, f, edges[i], d)
					}
				}
			}
		}
	}
}

// TestTruncateTenMillion checks the wrap-safety claim where CrypTen's local
// truncation fails: 10^7 random inputs with |x| < 2^60, never more than one unit
// off.
func TestTruncateTenMillion(t *testing.T) {
	total := 10_000_000
	if testing.Short() {
		total = 1_000_000
	}
	const chunk = 1 << 20
	for _, n := range []int{2, 3} {
		hist := map[int64]int{}
		for done := 0; done < total; done += chunk {
			size := min(chunk, total-done)
			x := randomRing(size)
			for i := range x.Data {
				x.Data[i] = uint64(int64(x.Data[i]) >> 4) // |x| < 2^60
			}
			shares := splitAll(t, n, x)
			out := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
				return e.Truncate(ctx, shares[e.Self()][0])
			})
			got := reconstruct(t, out)
			for i := range got.Data {
				hist[truncErr(got.Data[i], x.Data[i], 16)]++
			}
		}
		for d, c := range hist {
			if d != 0 && d != 1 {
				t.Fatalf("n=%d: %d of %d truncations were off by %d units", n, c, total, d)
			}
		}
		t.Logf("n=%d: %d truncations, error histogram %v", n, total, hist)
	}
}

func TestFixedPointOperations(t *testing.T) {
	for _, n := range partyCounts {
		for _, f := range []int{12, 16, 20, 24} {
			t.Run(fmt.Sprintf("parties=%d/f=%d", n, f), func(t *testing.T) {
				codec := sharing.Codec{FracBits: f}
				ulp := math.Ldexp(1, -f)
				x, xs := randomFixed(codec, 8, 6, 5)
				y, ys := randomFixed(codec, 8, 6, 5)
				w, ws := randomFixed(codec, 2, 5, 4)
				coeffs := []float64{0.125, 0.5, 0.25, -0.01}
				shares := splitAll(t, n, x, y, w)
				res := session(t, n, f, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
					m := shares[e.Self()]
					prod, err := e.MulFixed(ctx, m[0], m[1])
					if err != nil {
						return nil, err
					}
					sq, err := e.SquareFixed(ctx, m[0])
					if err != nil {
						return nil, err
					}
					mm, err := e.MatMulFixed(ctx, m[0], m[2])
					if err != nil {
						return nil, err
					}
					sc, err := e.ScaleFixed(ctx, -0.3, m[0])
					if err != nil {
						return nil, err
					}
					poly, err := e.Polynomial(ctx, m[0], coeffs)
					if err != nil {
						return nil, err
					}
					return []sharing.Tensor{prod, sq, mm, sc[0], poly}, nil
				})
				get := func(j int) []float64 {
					var ss []sharing.Tensor
					for _, r := range res {
						ss = append(ss, r[j])
					}
					return codec.DecodeTensor(reconstruct(t, ss))
				}
				var wantProd, wantSq, wantSc, wantPoly, polyTol []float64
				for i := range xs {
					wantProd = append(wantProd, xs[i]*ys[i])
					wantSq = append(wantSq, xs[i]*xs[i])
					wantSc = append(wantSc, xs[i]*-0.3)
					p, tol := 0.0, 1.0 // final truncation
					for j, c := range coeffs {
						p += c * math.Pow(xs[i], float64(j))
						tol += 0.5 * math.Pow(math.Abs(xs[i]), float64(j)) // coefficient encoding
						if j >= 2 {
							tol += math.Abs(c) * float64(j) * math.Pow(math.Abs(xs[i])+1, float64(j-1)) // power truncations
						}
					}
					wantPoly = append(wantPoly, p)
					polyTol = append(polyTol, tol*ulp)
				}
				wantMM := make([]float64, 6*4)
				for i := 0; i < 6; i++ {
					for j := 0; j < 4; j++ {
						for k := 0; k < 5; k++ {
							wantMM[i*4+j] += xs[i*5+k] * ws[k*4+j]
						}
					}
				}
				// Ring products of exact encodings are exact; only the truncation
				// errs, by at most one unit in the last place.
				assertClose(t, "MulFixed", get(0), wantProd, ulp)
				assertClose(t, "SquareFixed", get(1), wantSq, ulp)
				assertClose(t, "MatMulFixed", get(2), wantMM, ulp)
				// The constant carries ConstantBits significant bits: relative error 2^-20.
				assertClose(t, "ScaleFixed", get(3), wantSc, ulp+8*0.3*math.Ldexp(1, -protocol.ConstantBits))
				gotPoly := get(4)
				for i := range gotPoly {
					assertClose(t, "Polynomial", gotPoly[i:i+1], wantPoly[i:i+1], polyTol[i])
				}
			})
		}
	}
}

func TestLinearCombos(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	ulp := math.Ldexp(1, -16)
	for _, n := range partyCounts {
		x, xs := randomFixed(codec, 50, 40)
		y, ys := randomFixed(codec, 2, 40)
		shares := splitAll(t, n, x, y)
		res := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
			m := shares[e.Self()]
			return e.LinearCombos(ctx, []protocol.Combo{
				{{C: 0.9, X: m[1]}, {C: 0.05 / 128, X: m[0]}}, // a momentum update
				{{C: -3, X: m[0]}},
				{{C: 0, X: m[0]}},
			})
		})
		get := func(j int) []float64 {
			var ss []sharing.Tensor
			for _, r := range res {
				ss = append(ss, r[j])
			}
			return codec.DecodeTensor(reconstruct(t, ss))
		}
		var want0, want1 []float64
		for i := range xs {
			want0 = append(want0, 0.9*ys[i]+0.05/128*xs[i])
			want1 = append(want1, -3*xs[i])
		}
		// One truncation (1 ulp) plus the constants' relative encoding error 2^-20.
		assertClose(t, "momentum combination", get(0), want0, ulp+2*math.Ldexp(1, -20))
		assertClose(t, "scaling by -3", get(1), want1, ulp+150*math.Ldexp(1, -20))
		assertClose(t, "scaling by 0", get(2), make([]float64, 40), 0)
	}
}

// TestLinearCombosShifted checks terms on untruncated products (Shift = f): a
// momentum update from a gradient that was never truncated on its own, in one
// round with ordinary combinations.
func TestLinearCombosShifted(t *testing.T) {
	const f = 16
	codec := sharing.Codec{FracBits: f}
	ulp := math.Ldexp(1, -f)
	for _, n := range partyCounts {
		g, gs := randomFixed(codec, 30, 40)
		v, vs := randomFixed(codec, 2, 40)
		// g at scale 2^(2f), with low bits a truncation would drop.
		wide := sharing.Scale(g, 1<<f)
		low := randomRing(40)
		for i := range wide.Data {
			wide.Data[i] += low.Data[i] & (1<<f - 1)
			gs[i] = math.Ldexp(float64(int64(wide.Data[i])), -2*f)
		}
		shares := splitAll(t, n, wide, v)
		run := runShared(t, n, f, nil, func(ctx context.Context, e *protocol.Engine, _ []sharing.Tensor) ([]sharing.Tensor, error) {
			m := shares[e.Self()]
			return e.LinearCombos(ctx, []protocol.Combo{
				{{C: 0.05 / 128, X: m[0], Shift: f}, {C: 0.9, X: m[1]}},
				{{C: -2.5, X: m[0], Shift: f}},
				{{C: 1, X: m[1]}},
			})
		})
		if run.rounds != 1 {
			t.Fatalf("n=%d: %d rounds, want 1", n, run.rounds)
		}
		var want0, want1 []float64
		for i := range gs {
			want0 = append(want0, 0.9*vs[i]+0.05/128*gs[i])
			want1 = append(want1, -2.5*gs[i])
		}
		// Two truncations (1 ulp each) and the constants' encoding: 2^-20 relative at
		// least (the gradient's constant gets 2^-13 relative: its scale is capped).
		assertClose(t, "momentum update from an untruncated gradient", codec.DecodeTensor(run.out[0]), want0, 2*ulp+2*math.Ldexp(1, -20)+0.05/128*30*math.Ldexp(1, -13))
		assertClose(t, "scaling an untruncated product", codec.DecodeTensor(run.out[1]), want1, ulp+75*math.Ldexp(1, -20))
		assertClose(t, "identity", codec.DecodeTensor(run.out[2]), vs, ulp)
	}
	session(t, 2, f, func(ctx context.Context, e *protocol.Engine) (int, error) {
		if _, err := e.LinearCombos(ctx, []protocol.Combo{{{C: 1, X: sharing.Zeros(2), Shift: f + 1}}}); err == nil {
			return 0, fmt.Errorf("a shift beyond f was accepted")
		}
		return 0, nil
	})
}

// TestLinearCombosMergesShifts checks that a combo mixing an untruncated product
// (Shift = f) with a term whose Bound allows it is truncated once: one opening
// of its words fewer than truncating each Shift on its own, one unit in the
// last place of error instead of two, and the same result without the Bound
// (two truncations).
func TestLinearCombosMergesShifts(t *testing.T) {
	const f, size = 16, 64
	codec := sharing.Codec{FracBits: f}
	ulp := math.Ldexp(1, -f)
	for _, n := range partyCounts {
		g, gs := randomFixed(codec, 30, size)
		v, vs := randomFixed(codec, 2, size)
		wide := sharing.Scale(g, 1<<f)
		low := randomRing(size)
		for i := range wide.Data {
			wide.Data[i] += low.Data[i] & (1<<f - 1)
			gs[i] = math.Ldexp(float64(int64(wide.Data[i])), -2*f)
		}
		shares := splitAll(t, n, wide, v)
		type result struct {
			out  []sharing.Tensor
			sent []int64
		}
		res := session(t, n, f, func(ctx context.Context, e *protocol.Engine) (result, error) {
			m := shares[e.Self()]
			var r result
			for _, bound := range []float64{2, 0} {
				exit := e.Enter(fmt.Sprint("bound ", bound))
				before := e.Rounds()
				out, err := e.LinearCombos(ctx, []protocol.Combo{{{C: 0.05 / 128, X: m[0], Shift: f}, {C: 0.9, X: m[1], Bound: bound}}})
				exit()
				if err != nil {
					return r, err
				}
				if rounds := e.Rounds() - before; rounds != 1 {
					return r, fmt.Errorf("%d rounds, want 1", rounds)
				}
				r.out = append(r.out, out[0])
			}
			for _, sc := range e.ScopeCosts() {
				r.sent = append(r.sent, sc.BytesSent)
			}
			return r, nil
		})
		want := make([]float64, size)
		for i := range gs {
			want[i] = 0.9*vs[i] + 0.05/128*gs[i]
		}
		for k, tol := range []float64{ulp, 2 * ulp} {
			var ss []sharing.Tensor
			for _, r := range res {
				ss = append(ss, r.out[k])
			}
			got := codec.DecodeTensor(reconstruct(t, ss))
			assertClose(t, fmt.Sprintf("n=%d combo %d", n, k), got, want, tol+2*math.Ldexp(1, -20)+0.05/128*30*math.Ldexp(1, -13))
		}
		merged, split := res[0].sent[0], res[0].sent[1]
		if split-merged != int64((n-1)*size*8) {
			t.Fatalf("n=%d: party 0 sent %d bytes with the bound, %d without: want one opening of %d words fewer", n, merged, split, size)
		}
	}
}

// TestTruncateEachCompact checks the compact truncation openings against the
// exact quotient: within N - 1/2 units in the last place with packed lanes
// (the mask has no low bits), N + 1/2 without, unbiased (the mean error
// over 20,000 elements within 0.03 units), two lanes a word for b >= 32 and three
// for b >= 43 (the bytes a party sends), and a plain truncation below 32 bits.
func TestTruncateEachCompact(t *testing.T) {
	const size = 20000
	for _, n := range partyCounts {
		for _, c := range []struct{ bits, lanes int }{{41, 2}, {32, 2}, {45, 3}, {20, 1}} {
			x := sharing.Zeros(size)
			for i, v := range randomRing(size).Data {
				x.Data[i] = uint64(int64(v) >> 12) // |x| < 2^51
			}
			shares := splitAll(t, n, x)
			type result struct {
				out  sharing.Tensor
				sent int64
			}
			res := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (result, error) {
				exit := e.Enter("compact")
				out, err := e.TruncateEachCompact(ctx, []int{c.bits}, []sharing.Tensor{shares[e.Self()][0]})
				exit()
				if err != nil {
					return result{}, err
				}
				return result{out[0], e.ScopeCosts()[0].BytesSent}, nil
			})
			var ss []sharing.Tensor
			for _, r := range res {
				ss = append(ss, r.out)
			}
			got := reconstruct(t, ss)
			sum, bound := 0.0, float64(n)/2 // one lane a word: no carries
			if c.lanes > 1 {
				bound = float64(n) - 0.5
			}
			for i, v := range got.Data {
				d := float64(int64(v)) - math.Ldexp(float64(int64(x.Data[i])), -c.bits)
				if math.Abs(d) >= bound && (c.lanes == 1 || math.Abs(d) > bound) {
					t.Fatalf("n=%d b=%d: element %d off by %g units, bound %g", n, c.bits, i, d, bound)
				}
				sum += d
			}
			if mean := sum / size; math.Abs(mean) > 0.03 {
				t.Errorf("n=%d b=%d: mean error %g units: biased", n, c.bits, mean)
			}
			words := (size + c.lanes - 1) / c.lanes
			if sent := res[0].sent; sent <= int64((n-1)*words*8) || sent > int64((n-1)*(words*8+64)) {
				t.Errorf("n=%d b=%d: party 0 sent %d bytes, want %d words to each of %d peers", n, c.bits, sent, words, n-1)
			}
		}
	}
}

// TestOpeningViaKing runs products, truncations and comparisons with openings
// through a rotating king and checks they are as exact as all-to-all ones.
func TestOpeningViaKing(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	for _, n := range partyCounts {
		x, y := randomRing(6, 9), randomRing(9, 4)
		f, _ := randomFixed(codec, 1000, 50)
		shares := splitAll(t, n, x, y, f)
		res := sessionWith(t, n, protocol.Config{Codec: codec, Opening: protocol.OpenViaKing}, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
			m := shares[e.Self()]
			z, err := e.MatMul(ctx, m[0], m[1])
			if err != nil {
				return nil, err
			}
			tr, err := e.Truncate(ctx, m[2])
			if err != nil {
				return nil, err
			}
			msb, err := e.MSB(ctx, m[2])
			if err != nil {
				return nil, err
			}
			o, err := e.Open(ctx, m[2])
			if err != nil {
				return nil, err
			}
			// ReLU's last round opens additive and XOR-shared words together.
			relu, _, err := e.ReLU(ctx, m[2])
			if err != nil {
				return nil, err
			}
			return []sharing.Tensor{z, tr, msb, o[0], relu}, nil
		})
		get := func(j int) sharing.Tensor {
			var ss []sharing.Tensor
			for _, r := range res {
				ss = append(ss, r[j])
			}
			return reconstruct(t, ss)
		}
		if !sharing.Equal(get(0), sharing.MatMul(x, y)) {
			t.Fatalf("n=%d: MatMul via king differs", n)
		}
		tr, msb := get(1), get(2)
		for i, v := range f.Data {
			if d := truncErr(tr.Data[i], v, 16); d != 0 && d != 1 {
				t.Fatalf("n=%d: truncation via king off by %d", n, d)
			}
			if msb.Data[i] != v>>63 {
				t.Fatalf("n=%d: MSB via king wrong at %d", n, i)
			}
			if want := v &^ -(v >> 63); get(4).Data[i] != want {
				t.Fatalf("n=%d: ReLU via king wrong at %d", n, i)
			}
		}
		for i, r := range res {
			if !sharing.Equal(r[3], f) {
				t.Fatalf("n=%d: party %d opened a different value via king", n, i)
			}
		}
	}
	if _, err := protocol.NewEngine(nil, nil, protocol.Config{Opening: "gossip"}); err == nil {
		t.Fatal("unknown opening accepted")
	}
}

// TestMaskedProducts opens matrices once and multiplies them in every orientation a
// training step needs, in memory and through the dealer's own node.
func TestMaskedProducts(t *testing.T) {
	for _, n := range partyCounts {
		x, w, g := withEdges(randomRing(7, 5)), randomRing(5, 3), randomRing(7, 3)
		shares := splitAll(t, n, x, w, g)
		res := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
			m := shares[e.Self()]
			ms, err := e.MaskMatrices(ctx, m[0], m[1], m[2])
			if err != nil {
				return nil, err
			}
			mx, mw, mg := ms[0], ms[1], ms[2]
			fwd, err := e.MatMulMasked(ctx, mx, false, mw, false) // X W
			if err != nil {
				return nil, err
			}
			dW, err := e.MatMulMasked(ctx, mx, true, mg, false) // X^T G
			if err != nil {
				return nil, err
			}
			dX, err := e.MatMulMasked(ctx, mg, false, mw, true) // G W^T
			if err != nil {
				return nil, err
			}
			if _, err := e.MatMulMasked(ctx, mx, false, mg, false); err == nil {
				return nil, fmt.Errorf("a 7x5 by 7x3 masked product succeeded")
			}
			return []sharing.Tensor{fwd, dW, dX}, nil
		})
		get := func(j int) sharing.Tensor {
			var ss []sharing.Tensor
			for _, r := range res {
				ss = append(ss, r[j])
			}
			return reconstruct(t, ss)
		}
		if !sharing.Equal(get(0), sharing.MatMul(x, w)) {
			t.Fatalf("n=%d: X W differs", n)
		}
		if !sharing.Equal(get(1), sharing.MatMul(sharing.Transpose(x), g)) {
			t.Fatalf("n=%d: X^T G differs", n)
		}
		if !sharing.Equal(get(2), sharing.MatMul(g, sharing.Transpose(w))) {
			t.Fatalf("n=%d: G W^T differs", n)
		}
	}
}

// TestCompactTruncationsConfig checks that an engine with CompactTruncations
// truncates compactly everywhere (Truncate, TruncateMany): within N/2 units,
// unbiased, and not as a plain truncation would (floor or floor + 1 only), for
// N = 2, 3, 5, 8.
func TestCompactTruncationsConfig(t *testing.T) {
	const size = 20000
	x := sharing.Zeros(size)
	for i, v := range randomRing(size).Data {
		x.Data[i] = uint64(int64(v) >> 14) // |x| < 2^49
	}
	for _, n := range partyCounts {
		shares := splitAll(t, n, x)
		cfg := protocol.Config{Codec: sharing.Codec{FracBits: 16}, CompactTruncations: true}
		res := sessionWith(t, n, cfg, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
			return e.Truncate(ctx, shares[e.Self()][0])
		})
		got := reconstruct(t, res)
		var sum float64
		outside := 0 // results a plain truncation cannot give
		for i, v := range got.Data {
			exact := math.Ldexp(float64(int64(x.Data[i])), -16)
			d := float64(int64(v)) - exact
			if math.Abs(d) >= float64(n)/2 {
				t.Fatalf("n=%d: element %d off by %g units, bound %d/2", n, i, d, n)
			}
			if floor := math.Floor(exact); float64(int64(v)) != floor && float64(int64(v)) != floor+1 {
				outside++
			}
			sum += d
		}
		if mean := sum / size; math.Abs(mean) > 0.03 {
			t.Errorf("n=%d: mean error %g units: biased", n, mean)
		}
		if n > 2 && outside == 0 {
			t.Errorf("n=%d: every result is floor or floor + 1: not a compact truncation", n)
		}
	}
}

// TestTruncateEachCompactOTPairs truncates compactly with the high pairs of
// dealer-free training (protocol/ot), whose bits below 2^58/N are the sum of
// the parties' own values, so their RShifted runs up to 2^58 past R mod 2^63:
// random values below 2^61 and the edges of the bound |x| < 2^62 - N 2^b -
// 2^58, by one-, two- and three-lane widths, for N = 2, 3, 5, 8, every result
// within the compact error bound of x / 2^b and the mean error near zero.
func TestTruncateEachCompactOTPairs(t *testing.T) {
	const size = 6000
	for _, n := range []int{2, 3, 5, 8} {
		srcs := otSources(t, n)
		for _, c := range []struct{ bits, lanes int }{{16, 1}, {38, 2}, {45, 3}} {
			x := sharing.Zeros(size)
			for i, v := range randomRing(size).Data {
				x.Data[i] = uint64(int64(v) >> 3) // |x| < 2^61
			}
			edge := int64(1)<<62 - int64(n)<<c.bits - 1<<protocol.TruncHighSlackBits - 1
			for i, v := range []int64{edge, -edge, edge - 1<<c.bits + 1, 1 - edge, 0, 1, -1, 1<<c.bits - 1, -1 << c.bits} {
				x.Data[i] = uint64(v)
			}
			shares := splitAll(t, n, x)
			res := protocoltest.EnginesFrom(t, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, srcs, func(ctx context.Context, e *protocol.Engine) (sharing.Tensor, error) {
				out, err := e.TruncateEachCompact(ctx, []int{c.bits}, []sharing.Tensor{shares[e.Self()][0]})
				if err != nil {
					return sharing.Tensor{}, err
				}
				return out[0], nil
			})
			got := reconstruct(t, res)
			bound := float64(n) / 2 // one lane a word: no carries
			if c.lanes > 1 {
				bound = float64(n) - 0.5
			}
			sum := 0.0
			for i, v := range got.Data {
				d := float64(int64(v)) - math.Ldexp(float64(int64(x.Data[i])), -c.bits)
				if math.Abs(d) >= bound && (c.lanes == 1 || math.Abs(d) > bound) {
					t.Fatalf("n=%d b=%d: element %d (x = %d) off by %g units, bound %g", n, c.bits, i, int64(x.Data[i]), d, bound)
				}
				sum += d
			}
			if mean := sum / size; math.Abs(mean) > 0.05 {
				t.Errorf("n=%d b=%d: mean error %g units: biased", n, c.bits, mean)
			}
		}
	}
}
