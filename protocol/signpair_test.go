package protocol_test

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// signPairParties are the party counts the sign pairs' tests run with.
var signPairParties = []int{2, 3, 5, 8}

// signPairEdges returns ring values at the edges of a sign on width bits: 0, ±1,
// ±(2^(w-1) - 1), ±2^(w-1), 2^w and its neighbours, values with bits above w
// set (read mod 2^w), the ends of the ring, and random values.
func signPairEdges(width, random int) []uint64 {
	h := uint64(1) << (width - 1)
	xs := []uint64{0, 1, ^uint64(0), h - 1, -(h - 1), h, -h, h + 1, -h - 1, 2 * h, 2*h - 1, 2*h + 1, -(2 * h),
		5<<40 | h, 5<<40 | (h - 1), 7 << 50, 1 << 63, 1<<63 - 1, 1<<63 + h}
	return append(xs, randomRing(random).Data...)
}

// xorOf reconstructs packed XOR-shared bits from every party's shares.
func xorOf(parts [][]uint64) []uint64 {
	out := make([]uint64, len(parts[0]))
	for _, p := range parts {
		for i, w := range p {
			out[i] ^= w
		}
	}
	return out
}

func bitOf(packed []uint64, i int) uint64 { return packed[i/64] >> (i % 64) & 1 }

// TestSignPairMatchesPlaintext checks the sign pairs' sign and zero bits
// against plaintext (bit w-1 of x and [x = 0 mod 2^w], as the adder reads
// them, past the bound included) on 16 and 32 bits for N = 2, 3, 5, 8, in
// SignPairRounds(w) rounds, with a dealer's pairs and, for N = 3, the OT
// source's.
func TestSignPairMatchesPlaintext(t *testing.T) {
	for _, width := range []int{32, 16} {
		xs := signPairEdges(width, 200)
		for _, n := range signPairParties {
			checkSignPair(t, "dealer", n, width, xs, sessionFn(t, n))
		}
		srcs := otSources(t, 3)
		checkSignPair(t, "ot", 3, width, xs, func(fn signRun) []signResult {
			return protocoltest.EnginesFrom(t, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, srcs, fn)
		})
	}
}

type signResult struct {
	sign, zero []uint64
	rounds     uint64
}

type signRun = func(ctx context.Context, e *protocol.Engine) (signResult, error)

// sessionFn runs a signRun among n parties with a dealer, dealer-free config.
func sessionFn(t *testing.T, n int) func(signRun) []signResult {
	return func(fn signRun) []signResult {
		return sessionWith(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, fn)
	}
}

func checkSignPair(t *testing.T, source string, n, width int, xs []uint64, run func(signRun) []signResult) {
	t.Helper()
	shares := splitAll(t, n, sharing.Tensor{Shape: []int{len(xs)}, Data: xs})
	res := run(func(ctx context.Context, e *protocol.Engine) (signResult, error) {
		s, z, err := e.SignPairBitsForTest(ctx, shares[e.Self()][0].Data, width, true)
		return signResult{s, z, e.Rounds()}, err
	})
	if got := res[0].rounds; got != uint64(protocol.SignPairRounds(width)) || got != uint64(1+bits.Len(uint(width))-1) {
		t.Fatalf("%s n=%d w=%d: %d rounds, SignPairRounds says %d", source, n, width, got, protocol.SignPairRounds(width))
	}
	signs, zeros := make([][]uint64, n), make([][]uint64, n)
	for p, r := range res {
		signs[p], zeros[p] = r.sign, r.zero
	}
	sign, zero := xorOf(signs), xorOf(zeros)
	mask := uint64(1)<<width - 1
	for i, v := range xs {
		wantSign, wantZero := v>>(width-1)&1, uint64(0)
		if v&mask == 0 {
			wantZero = 1
		}
		if bitOf(sign, i) != wantSign || bitOf(zero, i) != wantZero {
			t.Fatalf("%s n=%d w=%d: x = %#x: sign %d zero %d, want %d %d", source, n, width, v, bitOf(sign, i), bitOf(zero, i), wantSign, wantZero)
		}
	}
}

// TestSignPairMatchesAdder checks that the sign pairs give the binary adder's
// bits, bit for bit, on random ring values, on small differences (zeros among
// them) and on values congruent to 2^(w-1): signs on 16 and 32 bits and the
// zero bits max pooling reads on 32.
func TestSignPairMatchesAdder(t *testing.T) {
	xs := randomRing(500).Data
	for i := range 200 {
		xs = append(xs, uint64(int64(i%9-4)), uint64(i)<<32|1<<31, uint64(i)<<16|1<<15)
	}
	for _, n := range signPairParties {
		shares := splitAll(t, n, sharing.Tensor{Shape: []int{len(xs)}, Data: xs})
		type both struct{ pair, adder [4][]uint64 }
		res := sessionWith(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, func(ctx context.Context, e *protocol.Engine) (both, error) {
			var b both
			var err error
			mine := shares[e.Self()][0].Data
			if b.pair[0], b.pair[1], err = e.SignPairBitsForTest(ctx, mine, 32, true); err != nil {
				return b, err
			}
			if b.pair[2], _, err = e.SignPairBitsForTest(ctx, mine, 16, false); err != nil {
				return b, err
			}
			if b.adder[0], b.adder[1], err = e.AdderSignZeroBitsForTest(ctx, mine, 32); err != nil {
				return b, err
			}
			b.adder[2], err = e.AdderSignBitsForTest(ctx, mine, 16)
			return b, err
		})
		for k, what := range []string{"32-bit sign", "32-bit zero", "16-bit sign"} {
			pair, adder := make([][]uint64, n), make([][]uint64, n)
			for p, r := range res {
				pair[p], adder[p] = r.pair[k], r.adder[k]
			}
			if got, want := xorOf(pair), xorOf(adder); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("n=%d: the sign pair's %s bits differ from the adder's", n, what)
			}
		}
	}
}

// TestSignPairRoundsAsDocumented pins the rounds engines without lookups take
// now that their 16- and 32-bit signs read sign pairs wherever the adder takes
// more rounds (N >= 3): ReLU 7 whatever N >= 3 (6 by the adder for N = 2), max
// pooling's MaxRowsArgOn on 32 bits 9 for 2x2 windows, Softmax's maximum on the
// 16-bit window 5 + 4 + 1 for 10 classes (the adder's 4 + 4 + 1 for N = 2).
func TestSignPairRoundsAsDocumented(t *testing.T) {
	for _, n := range signPairParties {
		want := 7
		if n == 2 {
			want = 6 // the adder's 5 and the conversion
		}
		if got := protocol.ReLURoundsFor(n, 16, false); got != want {
			t.Errorf("ReLURoundsFor(%d, 16, false) = %d, want %d", n, got, want)
		}
		if got := protocol.MaxRowsArgRoundsOn(n, 4, 32); got != 9 {
			t.Errorf("MaxRowsArgRoundsOn(%d, 4, 32) = %d, want 9", n, got)
		}
		want = 10
		if n == 2 {
			want = 9
		}
		if got := protocol.SoftmaxMaxRounds(n, 10, 16); got != want {
			t.Errorf("SoftmaxMaxRounds(%d, 10, 16) = %d, want %d", n, got, want)
		}
	}
	if protocol.SignPairRounds(32) != 6 || protocol.SignPairRounds(16) != 5 {
		t.Errorf("SignPairRounds = %d, %d on 32 and 16 bits, want 6 and 5", protocol.SignPairRounds(32), protocol.SignPairRounds(16))
	}
}

// TestSignPairViewUniform checks what party 0 sees of ReLU and of max
// pooling's MaxRowsArgOn on 32 bits without lookups, round by round: the sign
// pair's 32-bit lanes (added lane by lane), the comparison's AND rounds (with
// the zero bits' for max pooling), the AND tree's and the conversion's mixed
// round, on inputs of one sign, of the other, and a ramp through both (past
// the bound included), and that every round's view is the same size and
// distribution whatever the input.
func TestSignPairViewUniform(t *testing.T) {
	const size = 4096
	zero, negative, ramp := sharing.Zeros(size), sharing.Zeros(size), sharing.Zeros(size)
	for i := range negative.Data {
		negative.Data[i] = math.MaxUint64 - 3<<16 + 1
		ramp.Data[i] = uint64(i-size/2) << 20
	}
	inputs := []sharing.Tensor{zero, negative, ramp}
	for _, n := range []int{3, 5, 8} { // N = 2 keeps the adder (fewer rounds)
		checkSignPairViews(t, fmt.Sprintf("ReLU n=%d", n), n, inputs, protocol.ReLURoundsFor(n, 16, false),
			func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
				_, _, err := e.ReLU(ctx, x)
				return err
			})
		pools := make([]sharing.Tensor, len(inputs))
		for k, x := range inputs {
			pools[k] = sharing.Tensor{Shape: []int{size / 4, 4}, Data: x.Data}
		}
		checkSignPairViews(t, fmt.Sprintf("max pooling n=%d", n), n, pools, protocol.MaxRowsArgRoundsOn(n, 4, 32),
			func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
				_, _, err := e.MaxRowsArgOn(ctx, x, 32)
				return err
			})
	}
}

// checkSignPairViews checks that party 0's view of op among n parties on each
// input is uniform round by round, in the given number of rounds, and the same
// size and distribution as on the first input.
func checkSignPairViews(t *testing.T, what string, n int, inputs []sharing.Tensor, rounds int, op func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error) {
	t.Helper()
	const reps = 4
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	var first [][]float64
	var sizes []int
	for k, x := range inputs {
		byRound := make([][]uint64, rounds)
		for range reps {
			view := signPairView(t, n, x, op)
			if len(view) != rounds {
				t.Fatalf("%s: openings in %d rounds, want %d", what, len(view), rounds)
			}
			for r, words := range view {
				byRound[r] = append(byRound[r], words...)
			}
		}
		for r, words := range byRound {
			h := histogram(words)
			if stat := chiSquareUniform(h, len(words)); stat > crit {
				t.Fatalf("%s input %d: round %d is not uniform: chi-square %.1f > %.1f over %d words", what, k, r, stat, crit, len(words))
			}
			if k == 0 {
				first, sizes = append(first, h), append(sizes, len(words))
				continue
			}
			if stat := chiSquareTwoSample(first[r], h); stat > critTwo || len(words) != sizes[r] {
				t.Fatalf("%s: round %d with input %d differs from the first input's: chi-square %.1f > %.1f, %d vs %d words", what, r, k, stat, critTwo, len(words), sizes[r])
			}
		}
	}
}

// signPairView runs op on shares of x and returns what is opened to party 0
// by round: the lanes' sums (32-bit lanes, two a word, each added modulo
// 2^32), then the XORs of the AND rounds, then the conversion's x - B (the
// first x.Len() words, added) and masked bits (XORed).
func signPairView(t *testing.T, n int, x sharing.Tensor, op func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error) [][]uint64 {
	t.Helper()
	shares := splitAll(t, n, x)
	var rec *roundRecorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
	runWithParty0SeenConfig(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		return op(ctx, e, shares[i][0])
	})
	const top = 1<<63 | 1<<31
	out := make([][]uint64, len(rec.recv))
	for k, peers := range rec.recv {
		out[k] = append([]uint64(nil), rec.sent[k]...)
		for _, ws := range peers {
			for i, w := range ws {
				switch {
				case k == 0:
					out[k][i] = ((out[k][i] &^ top) + (w &^ top)) ^ ((out[k][i] ^ w) & top)
				case k == len(rec.recv)-1 && i < x.Len():
					out[k][i] += w
				default:
					out[k][i] ^= w
				}
			}
		}
	}
	return out
}
