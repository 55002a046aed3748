package protocol_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// TestRiderTravelsWithTheNextRound checks that a queued opening costs no round of
// its own, sums correctly next to an opening of another kind (XOR), in both
// opening patterns, and that a round that cannot carry it refuses to run.
func TestRiderTravelsWithTheNextRound(t *testing.T) {
	for _, opening := range []protocol.Opening{protocol.OpenAllToAll, protocol.OpenViaKing} {
		for _, n := range partyCounts {
			x, bits := randomRing(37), randomRing(5)
			shares := splitAll(t, n, x)
			xors := xorSplit(t, bits.Data, n)
			type result struct {
				sum, xor []uint64
				rounds   uint64
			}
			res := sessionWith(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}, Opening: opening}, func(ctx context.Context, e *protocol.Engine) (result, error) {
				sum := e.RideForTest(shares[e.Self()][0].Data)
				xor, err := e.OpenBinary(ctx, xors[e.Self()])
				if err != nil {
					return result{}, err
				}
				if _, err := e.Input(ctx, 0, sharing.Zeros(1), 1); err != nil {
					return result{}, err
				}
				e.RideForTest([]uint64{1})
				if _, err := e.OpenTo(ctx, sharing.Zeros(1), 0); err == nil {
					return result{}, fmt.Errorf("open-to ran with an opening waiting")
				}
				return result{sum(), xor, e.Rounds()}, nil
			})
			for p, r := range res {
				if !sharing.Equal(sharing.Tensor{Shape: []int{37}, Data: r.sum}, x) || fmt.Sprint(r.xor) != fmt.Sprint(bits.Data) {
					t.Fatalf("%s n=%d party %d: the rider or the binary opening came out wrong", opening, n, p)
				}
				if r.rounds != 2 {
					t.Fatalf("%s n=%d: %d rounds, want 2 (one opening carrying the rider, one input)", opening, n, r.rounds)
				}
			}
		}
	}
}

// truncReLUInputs returns products at scale 2^(2f): random values in
// (-1000, 1000) with random low bits, and the edges around zero where the
// shifted shares' carries (up to N-1 units) decide.
func truncReLUInputs(f, parties int) sharing.Tensor {
	r := randomRing(400)
	var data []uint64
	for _, v := range r.Data {
		real := (float64(v>>11)/float64(1<<53)*2 - 1) * min(1000, protocol.ReLUBound(f)/2)
		data = append(data, uint64(int64(math.Round(math.Ldexp(real, 2*f)))))
	}
	for k := -2 * parties; k <= 2*parties; k++ {
		base := uint64(int64(k)) << f
		data = append(data, base, base+1, base+1<<f-1)
	}
	if bound := protocol.ReLUBound(f); !math.IsInf(bound, 1) {
		// The edges of the exact range, |x| < ReLUBound(f) - N ulps.
		edge := int64(math.Ldexp(bound, f)) - int64(parties) - 1
		data = append(data, uint64(edge<<f), uint64(edge<<f)+1<<f-1, uint64(-edge<<f), uint64(-edge<<f)+1)
	}
	return sharing.Tensor{Shape: []int{len(data)}, Data: data}
}

func TestTruncateReLU(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			f := c.fracBits
			z := truncReLUInputs(f, c.parties)
			for _, mode := range compareModes {
				checkTruncateReLU(t, c.parties, f, mode.lookup, z)
			}
		})
	}
}

// checkTruncateReLU runs TruncateReLU on z among the parties, comparing by lookup
// or not, and checks its rounds and results.
func checkTruncateReLU(t *testing.T, parties, f int, lookup bool, z sharing.Tensor) {
	t.Helper()
	run := runSharedMode(t, parties, f, lookup, []sharing.Tensor{z}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
		y, d, err := e.TruncateReLU(ctx, mine[0])
		return []sharing.Tensor{y, d}, err
	})
	if want := protocol.TruncateReLURoundsFor(parties, f, lookup); run.rounds != want {
		t.Fatalf("TruncateReLU took %d rounds, documented %d", run.rounds, want)
	}
	y, d := run.out[0], run.out[1]
	bySign := !lookup && protocol.ReLUCompareBits(f) == 32
	for i, v := range z.Data {
		floor := int64(v) >> f
		got, bit := int64(y.Data[i]), d.Data[i]
		if bySign {
			checkTruncSignReLU(t, parties, f, int64(v), got, bit)
			continue
		}
		truncated := got == floor || got == floor+1
		switch {
		case bit > 1, bit == 1 && !truncated, bit == 0 && got != 0:
			t.Fatalf("TruncateReLU(%d) = (%d, %d): not (Truncate(z), 1) or (0, 0)", int64(v), got, bit)
		case floor >= int64(parties-1) && bit != 1, int64(v) < 0 && got != 0,
			int64(v) < 0 && bit != 0 && protocol.ReLUCompareBits(f) == 32: // fused: the sign of floor - delta
			t.Fatalf("TruncateReLU(%d) = (%d, %d): wrong sign", int64(v), got, bit)
		}
	}
}

// checkTruncSignReLU checks one result of TruncateReLU by a sign pair: y = t
// and deriv = 1 when t >= 0, (0, 0) otherwise, for a t within N/2 units of
// z / 2^f, so the sign is exact wherever z / 2^f is N/2 or more from zero.
func checkTruncSignReLU(t *testing.T, parties, f int, z, got int64, bit uint64) {
	t.Helper()
	exact := math.Ldexp(float64(z), -f)
	half := float64(parties) / 2
	switch {
	case bit > 1, bit == 0 && got != 0, bit == 1 && got < 0:
		t.Fatalf("TruncateReLU(%d) = (%d, %d): not (t, 1) for t >= 0 or (0, 0)", z, got, bit)
	case bit == 1 && math.Abs(float64(got)-exact) >= half:
		t.Fatalf("TruncateReLU(%d) = %d: more than N/2 = %g units from %g", z, got, half, exact)
	case bit == 0 && exact >= half, bit == 1 && exact <= -half:
		t.Fatalf("TruncateReLU(%d) = (%d, %d): wrong sign for %g", z, got, bit, exact)
	}
}

// TestTruncateReLUViewUniform checks what party 0 sees of TruncateReLU, round by
// round: the truncation's masked values (added) and the AND masks (XORed) of the
// first round, the AND rounds, and the conversion's mixed round.
func TestTruncateReLUViewUniform(t *testing.T) {
	const size, reps = 4096, 4
	zero, negative, ramp := sharing.Zeros(size), sharing.Zeros(size), sharing.Zeros(size)
	for i := range negative.Data {
		negative.Data[i] = math.MaxUint64 - 3<<32 + 1
		ramp.Data[i] = uint64(i-size/2) << 36
	}
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	for _, n := range partyCounts {
		for _, mode := range compareModes {
			checkTruncReLUViews(t, n, mode.lookup, reps, crit, []sharing.Tensor{zero, negative, ramp})
		}
	}
}

// checkTruncReLUViews checks that party 0's view of TruncateReLU among n parties,
// comparing by lookup or not, is uniform round by round and of the same size
// whatever the input.
func checkTruncReLUViews(t *testing.T, n int, lookup bool, reps int, crit float64, inputs []sharing.Tensor) {
	t.Helper()
	var total int
	for k, x := range inputs {
		var byRound [][]uint64
		for range reps {
			view := truncReLUView(t, n, lookup, x)
			if byRound == nil {
				byRound = make([][]uint64, len(view))
			}
			for r, words := range view {
				byRound[r] = append(byRound[r], words...)
			}
		}
		all := 0
		for r, words := range byRound {
			if stat := chiSquareUniform(histogram(words), len(words)); stat > crit {
				t.Fatalf("n=%d input %d: the values opened in round %d are not uniform: chi-square %.1f > %.1f over %d words", n, k, r, stat, crit, len(words))
			}
			all += len(words)
		}
		if k > 0 && all != total {
			t.Fatalf("n=%d: the openings' sizes differ with the input: %d vs %d words", n, all, total)
		}
		total = all
	}
}

// truncReLUView runs TruncateReLU on shares of x and returns the values opened to
// party 0 by round, adding the additive words (the truncation's in the first
// round, the product's x - B in the last) and XORing the rest (by lookup, the
// first round's lanes too: every peer's lane is uniform, so is their XOR).
// Without lookups the first round is a sign pair's lanes, added modulo 2^33.
func truncReLUView(t *testing.T, n int, lookup bool, x sharing.Tensor) [][]uint64 {
	t.Helper()
	shares := splitAll(t, n, x)
	var rec *roundRecorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
	cfg := protocol.Config{Codec: sharing.Codec{FracBits: 16}, LookupComparisons: lookup}
	runWithParty0SeenConfig(t, n, cfg, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		_, _, err := e.TruncateReLU(ctx, shares[i][0])
		return err
	})
	size := x.Len()
	out := make([][]uint64, len(rec.recv))
	for k, peers := range rec.recv {
		additive := 0
		switch k {
		case 0:
			additive = size
		case len(rec.recv) - 1:
			additive = size // x - B of the daBit triples
		}
		out[k] = append([]uint64(nil), rec.sent[k]...)
		for _, ws := range peers {
			for i, w := range ws {
				if i < additive {
					out[k][i] += w
				} else {
					out[k][i] ^= w
				}
			}
		}
		if k == 0 && !lookup {
			// A sign pair's 33-bit lanes: their sum modulo 2^33, its top bits
			// moved up for the histogram.
			for i, v := range out[k] {
				v &= 1<<33 - 1
				out[k][i] = v<<31 | v&15
			}
		}
	}
	return out
}

func TestTruncateSoftmax(t *testing.T) {
	for _, c := range nonlinearConfigs {
		t.Run(configName(c.parties, c.fracBits), func(t *testing.T) {
			f := c.fracBits
			const rows, cols = 24, 10
			z := sharing.Zeros(rows, cols)
			plain := make([]float64, rows*cols)
			r := randomRing(rows * cols)
			for i, v := range r.Data {
				x := (float64(v>>11)/float64(1<<53)*2 - 1) * 20
				switch i / cols {
				case 0: // all equal
					x = -3.5
				case 1: // the spread limit
					x = -128 + 256*float64(i%cols)/(cols-1)
				case 2: // near ties: within a few units of the last place
					x = 7 + math.Ldexp(float64(i%3), -f)
				}
				z.Data[i] = uint64(int64(math.Round(math.Ldexp(x, 2*f)))) + v&(1<<f-1)
				plain[i] = math.Ldexp(float64(int64(z.Data[i])), -2*f)
			}
			for _, mode := range compareModes {
				run := runSharedMode(t, c.parties, f, mode.lookup, []sharing.Tensor{z}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
					p, err := e.TruncateSoftmax(ctx, mine[0])
					return []sharing.Tensor{p}, err
				})
				want, err := protocol.SoftmaxRoundsFor(c.parties, cols, f, mode.lookup)
				if err != nil {
					t.Fatal(err)
				}
				if f > 21 {
					want++ // Truncate, then Softmax
				}
				if run.rounds != want {
					t.Fatalf("%s: TruncateSoftmax took %d rounds, documented %d", mode.name, run.rounds, want)
				}
				bound, err := protocol.SoftmaxMaxError(cols, f)
				if err != nil {
					t.Fatal(err)
				}
				// The truncation moves every logit by less than 2^-f.
				codec := sharing.Codec{FracBits: f}
				checkBound(t, "TruncateSoftmax", codec, plain, run.out[0], softmaxRows(plain, cols), bound+math.Ldexp(1, 1-f))
			}
		})
	}
}

// TestSoftmaxWindowManyParties checks Softmax's 16-bit window where it is
// coarsest against the carries the shifted shares lose (N = 8: a resolution of
// 1/16 and up to 7 units lost), on rows whose top entries differ by less than
// that, and on the widest spread Softmax takes.
func TestSoftmaxWindowManyParties(t *testing.T) {
	const n, f, cols = 8, 16, 10
	codec := sharing.Codec{FracBits: f}
	x, xs := randomFixed(codec, 20, 6, cols)
	for j := range cols {
		xs[j] = 3 + math.Ldexp(float64(j%4), -6)           // top entries within 1/16
		xs[cols+j] = -200 + 384*float64(j)/float64(cols-1) // spread 384: the lowest entries come out 0
		xs[2*cols+j] = float64(j%2) * math.Ldexp(1, -f)    // ties one unit apart
	}
	x = fixedTensor(t, codec, xs, 6, cols)
	plain := codec.DecodeTensor(x)
	for _, mode := range compareModes {
		run := runSharedMode(t, n, f, mode.lookup, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
			p, err := e.Softmax(ctx, mine[0])
			return []sharing.Tensor{p}, err
		})
		want, err := protocol.SoftmaxRoundsFor(n, cols, f, mode.lookup)
		if err != nil || run.rounds != want {
			t.Fatalf("%s: Softmax among %d parties took %d rounds, documented %d (%v)", mode.name, n, run.rounds, want, err)
		}
		bound, err := protocol.SoftmaxMaxError(cols, f)
		if err != nil {
			t.Fatal(err)
		}
		checkBound(t, "Softmax, N = 8", codec, plain, run.out[0], softmaxRows(plain, cols), bound)
	}
}

// TestLessThanPublic checks the sign pairs' comparison of a public value with
// XOR-shared bits on 31 bits, against plaintext, for N = 2, 3, 5, 8: random
// pairs, equal values, pairs that first differ at each bit, the extremes, and
// bits above 31 set in either (ignored), in 5 rounds.
func TestLessThanPublic(t *testing.T) {
	const low = 1<<31 - 1
	r := randomRing(300)
	var a, b []uint64
	for i := 0; i+1 < len(r.Data); i += 2 {
		a, b = append(a, r.Data[i]), append(b, r.Data[i+1])
	}
	for k := range 31 {
		v := r.Data[k] & low
		a, b = append(a, v, v^1<<k, v|1<<31), append(b, v^1<<k, v, v)
	}
	a, b = append(a, 0, low, 0, low, 1<<31), append(b, 0, low, low, 0, 0)
	for _, n := range partyCounts {
		shares := xorSplit(t, b, n)
		type result struct {
			bits   []uint64
			rounds uint64
		}
		res := sessionWith(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, func(ctx context.Context, e *protocol.Engine) (result, error) {
			bits, err := e.LessThanPublicForTest(ctx, a, shares[e.Self()])
			return result{bits, e.Rounds()}, err
		})
		got := make([]uint64, len(res[0].bits))
		for _, p := range res {
			for i, w := range p.bits {
				got[i] ^= w
			}
		}
		if res[0].rounds != 5 {
			t.Fatalf("n=%d: %d rounds, want 5", n, res[0].rounds)
		}
		for i := range a {
			want := uint64(0)
			if a[i]&low < b[i]&low {
				want = 1
			}
			if bit := got[i/64] >> (i % 64) & 1; bit != want {
				t.Fatalf("n=%d: [%#x < %#x] on 31 bits = %d, want %d", n, a[i], b[i], bit, want)
			}
		}
	}
}
