package protocol_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// msbRounds is the round count MSB documents, by number of parties.
var msbRounds = map[int]int{2: 7, 3: 9, 4: 10, 5: 11, 6: 11, 7: 12}

func TestMSBRoundsAsDocumented(t *testing.T) {
	for n, want := range msbRounds {
		if got := protocol.MSBRounds(n); got != want {
			t.Errorf("MSBRounds(%d) = %d, documented %d", n, got, want)
		}
	}
	for n, want := range map[int]int{9: 12, 10: 13} { // 4 and 5 carry-save layers
		if got := protocol.MSBRounds(n); got != want {
			t.Errorf("MSBRounds(%d) = %d, want %d", n, got, want)
		}
	}
}

// sharedRun is the outcome of runShared: the reconstructed outputs and the rounds
// the computation took (the same on every party, or the test fails).
type sharedRun struct {
	out    []sharing.Tensor
	rounds int
}

// runShared secret-shares the inputs among n parties, runs fn on every party's
// shares, and reconstructs fn's outputs.
func runShared(t testing.TB, n, fracBits int, inputs []sharing.Tensor, fn func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error)) sharedRun {
	t.Helper()
	return runSharedMode(t, n, fracBits, false, inputs, fn)
}

// runSharedMode is runShared on engines that compare by lookup or not
// (Config.LookupComparisons).
func runSharedMode(t testing.TB, n, fracBits int, lookup bool, inputs []sharing.Tensor, fn func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error)) sharedRun {
	t.Helper()
	shares := splitAll(t, n, inputs...)
	if len(inputs) == 0 {
		shares = make([][]sharing.Tensor, n)
	}
	type result struct {
		out    []sharing.Tensor
		rounds int
	}
	cfg := protocol.Config{Codec: sharing.Codec{FracBits: fracBits}, LookupComparisons: lookup}
	res := sessionWith(t, n, cfg, func(ctx context.Context, e *protocol.Engine) (result, error) {
		before := e.Rounds()
		out, err := fn(ctx, e, shares[e.Self()])
		return result{out, int(e.Rounds() - before)}, err
	})
	run := sharedRun{rounds: res[0].rounds}
	for p, r := range res {
		if r.rounds != run.rounds || len(r.out) != len(res[0].out) {
			t.Fatalf("party %d ran %d rounds and returned %d tensors, party 0 %d and %d", p, r.rounds, len(r.out), run.rounds, len(res[0].out))
		}
	}
	for j := range res[0].out {
		var ss []sharing.Tensor
		for _, r := range res {
			ss = append(ss, r.out[j])
		}
		run.out = append(run.out, reconstruct(t, ss))
	}
	return run
}

// xorSplit returns n XOR shares of words.
func xorSplit(t testing.TB, words []uint64, n int) [][]uint64 {
	t.Helper()
	out := make([][]uint64, n)
	last := append([]uint64(nil), words...)
	for p := 0; p < n-1; p++ {
		r := randomRing(len(words))
		out[p] = r.Data
		for i, w := range r.Data {
			last[i] ^= w
		}
	}
	out[n-1] = last
	return out
}

func TestAndExact(t *testing.T) {
	edges := []uint64{0, math.MaxUint64, 1, 1 << 63, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa}
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			x, y := randomRing(101).Data, randomRing(101).Data
			for i, v := range edges {
				for j, w := range edges { // every pair of edge words
					x[i*len(edges)+j], y[i*len(edges)+j] = v, w
				}
			}
			xs, ys := xorSplit(t, x, n), xorSplit(t, y, n)
			type result struct {
				z      []uint64
				rounds uint64
			}
			res := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (result, error) {
				z, err := e.And(ctx, xs[e.Self()], ys[e.Self()])
				return result{z, e.Rounds()}, err
			})
			got := make([]uint64, len(x))
			for p, r := range res {
				if r.rounds != 1 {
					t.Fatalf("party %d: And took %d rounds, want 1", p, r.rounds)
				}
				for i, w := range r.z {
					got[i] ^= w
				}
			}
			for i := range x {
				if got[i] != x[i]&y[i] {
					t.Fatalf("word %d: %#x AND %#x = %#x, got %#x", i, x[i], y[i], x[i]&y[i], got[i])
				}
			}
		})
	}
}

func TestAndArguments(t *testing.T) {
	session(t, 2, 16, func(ctx context.Context, e *protocol.Engine) (int, error) {
		if _, err := e.And(ctx, make([]uint64, 3), make([]uint64, 2)); err == nil {
			return 0, fmt.Errorf("And of 3 and 2 words succeeded")
		}
		z, err := e.And(ctx, nil, nil)
		if err != nil || len(z) != 0 || e.Rounds() != 0 {
			return 0, fmt.Errorf("And of no words: %v, %d words, %d rounds", err, len(z), e.Rounds())
		}
		m, err := e.MSB(ctx, sharing.Zeros(0, 4))
		if err != nil || m.Len() != 0 || e.Rounds() != 0 {
			return 0, fmt.Errorf("MSB of no elements: %v, %d elements, %d rounds", err, m.Len(), e.Rounds())
		}
		return 0, nil
	})
}

// msbEdges are ring values whose sign is easy to get wrong.
func msbEdges(codec sharing.Codec) []uint64 {
	maxFixed := uint64(1<<62 - 1) // the largest encodable magnitude
	return []uint64{
		0, 1, math.MaxUint64, 2, math.MaxUint64 - 1,
		1<<63 - 1, 1 << 63, 1<<63 + 1, 1 << 62, 1<<64 - 1<<62,
		maxFixed, -maxFixed, codec.One(), -codec.One(),
		0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 0x8000_0000_0000_ffff, 0x7fff_ffff_ffff_0000,
	}
}

// craftedShares returns values with hand-picked shares among n parties: shares
// whose sum wraps around 2^64 (several times), long carry chains through all 63
// lower bits, all-propagate sums without a generate, and shares that each have
// their top bit set.
func craftedShares(n int) (sharing.Tensor, []sharing.Tensor) {
	const ones = math.MaxUint64
	var patterns [][]uint64 // each: the first shares; the rest zero
	patterns = append(patterns,
		[]uint64{1<<63 - 1, 1},                           // carry through 63 bits into the top: 2^63
		[]uint64{ones, 1},                                // wraps to 0
		[]uint64{ones, 2},                                // wraps to 1
		[]uint64{1 << 63, 1 << 63},                       // wraps to 0 through the top only
		[]uint64{1<<63 + 1, 1<<63 - 1},                   // wraps to 0 with a 63-bit chain
		[]uint64{0x5555555555555555, 0xaaaaaaaaaaaaaaaa}, // all propagate: -1
		[]uint64{0x5555555555555556, 0xaaaaaaaaaaaaaaaa}, // all propagate, carry in: 0
		[]uint64{0x2aaaaaaaaaaaaaab, 0x5555555555555555}, // chain into bit 63: 2^63
		[]uint64{ones, ones},                             // -2
		[]uint64{1<<62 + 1<<61, 1<<62 + 1<<61},           // 3 * 2^62: negative, no wrap
	)
	// Patterns over every party: all top bits set, all -1, alternating signs.
	all := func(f func(p int) uint64) []uint64 {
		s := make([]uint64, n)
		for p := range s {
			s[p] = f(p)
		}
		return s
	}
	patterns = append(patterns,
		all(func(int) uint64 { return ones }),
		all(func(int) uint64 { return 1 << 63 }),
		all(func(p int) uint64 { return 1<<63 | uint64(p) }),
		all(func(p int) uint64 { return 1<<63 - 1 + uint64(p&1) }),
		all(func(p int) uint64 {
			if p == n-1 {
				return -uint64(n - 1)
			}
			return 1
		}), // sum 0, every share wraps
	)
	// Random shares with their top bits all set or all clear: sums that wrap
	// several times.
	r := randomRing(20 * n)
	for k := 0; k < 20; k++ {
		patterns = append(patterns, all(func(p int) uint64 {
			if k%2 == 0 {
				return r.Data[k*n+p] | 1<<63
			}
			return r.Data[k*n+p] &^ (1 << 63)
		}))
	}
	x := sharing.Zeros(len(patterns))
	shares := make([]sharing.Tensor, n)
	for p := range shares {
		shares[p] = sharing.Zeros(len(patterns))
	}
	for i, pat := range patterns {
		for p := 0; p < n && p < len(pat); p++ {
			shares[p].Data[i] = pat[p]
			x.Data[i] += pat[p]
		}
	}
	return x, shares
}

func wantMSB(x sharing.Tensor) sharing.Tensor {
	out := sharing.Zeros(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = v >> 63
	}
	return out
}

func TestMSBExact(t *testing.T) {
	type config struct{ parties, fracBits int }
	configs := []config{{2, 16}, {3, 16}, {4, 16}, {5, 16}, {7, 16}, {2, 12}, {3, 24}}
	for _, c := range configs {
		t.Run(fmt.Sprintf("parties=%d/f=%d", c.parties, c.fracBits), func(t *testing.T) {
			codec := sharing.Codec{FracBits: c.fracBits}
			random := randomRing(13, 29) // odd sizes: packing with padding
			edges := sharing.Zeros(len(msbEdges(codec)))
			copy(edges.Data, msbEdges(codec))
			fixed, _ := randomFixed(codec, 100, 77)
			crafted, craftedShares := craftedShares(c.parties)
			shares := splitAll(t, c.parties, random, edges, fixed)
			type result struct {
				out    []sharing.Tensor
				rounds []uint64
			}
			res := session(t, c.parties, c.fracBits, func(ctx context.Context, e *protocol.Engine) (result, error) {
				var r result
				mine := append(shares[e.Self()], craftedShares[e.Self()])
				for _, x := range mine {
					before := e.Rounds()
					m, err := e.MSB(ctx, x)
					if err != nil {
						return r, err
					}
					r.out = append(r.out, m)
					r.rounds = append(r.rounds, e.Rounds()-before)
				}
				lt, err := e.LessThanZero(ctx, mine[2])
				r.out = append(r.out, lt)
				return r, err
			})
			for j, x := range []sharing.Tensor{random, edges, fixed, crafted, fixed} {
				var ss []sharing.Tensor
				for p, r := range res {
					ss = append(ss, r.out[j])
					if j < len(r.rounds) && r.rounds[j] != uint64(msbRounds[c.parties]) {
						t.Fatalf("party %d: MSB took %d rounds, documented %d", p, r.rounds[j], msbRounds[c.parties])
					}
				}
				got, want := reconstruct(t, ss), wantMSB(x)
				if !sharing.SameShape(got, x) {
					t.Fatalf("input %d: MSB of shape %v returned shape %v", j, x.Shape, got.Shape)
				}
				for i := range want.Data {
					if got.Data[i] != want.Data[i] {
						t.Fatalf("input %d element %d: msb(%#x) = %d, got %d", j, i, x.Data[i], want.Data[i], got.Data[i])
					}
				}
			}
		})
	}
}

// TestMSBManyRandom runs MSB on many random ring values, so that carry chains of
// every length turn up.
func TestMSBManyRandom(t *testing.T) {
	size := 1 << 16
	if testing.Short() {
		size = 1 << 12
	}
	for _, n := range partyCounts {
		x := randomRing(size)
		run := runShared(t, n, 16, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
			m, err := e.MSB(ctx, mine[0])
			return []sharing.Tensor{m}, err
		})
		if !sharing.Equal(run.out[0], wantMSB(x)) {
			t.Fatalf("parties=%d: MSB differs from the top bit on random values", n)
		}
	}
}

// roundRecorder is party 0's transport, keeping the words of every message it
// sends and receives, by round: a binary opening of round r reveals the XOR of
// what party 0 sent and what each peer sent it, which is exactly what a curious
// party 0 learns.
type roundRecorder struct {
	protocol.Transport
	mu   sync.Mutex
	sent [][]uint64   // per round (the same message goes to every peer)
	recv [][][]uint64 // per round, per peer
	n    int          // messages received so far
}

func words(msg []byte) []uint64 {
	var out []uint64
	for off := 16; off+8 <= len(msg); off += 8 {
		out = append(out, binary.LittleEndian.Uint64(msg[off:]))
	}
	return out
}

func (r *roundRecorder) Send(ctx context.Context, to int, msg []byte) error {
	if to == 1 {
		r.mu.Lock()
		r.sent = append(r.sent, words(msg))
		r.mu.Unlock()
	}
	return r.Transport.Send(ctx, to, msg)
}

func (r *roundRecorder) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := r.Transport.Recv(ctx, from)
	if err == nil {
		r.mu.Lock()
		if r.n%(r.Parties()-1) == 0 {
			r.recv = append(r.recv, nil)
		}
		r.n++
		last := len(r.recv) - 1
		r.recv[last] = append(r.recv[last], words(msg))
		r.mu.Unlock()
	}
	return msg, err
}

// opened returns the values revealed in each round (all binary openings).
func (r *roundRecorder) opened() [][]uint64 {
	out := make([][]uint64, len(r.recv))
	for k, peers := range r.recv {
		out[k] = append([]uint64(nil), r.sent[k]...)
		for _, ws := range peers {
			for i, w := range ws {
				out[k][i] ^= w
			}
		}
	}
	return out
}

// msbViewOfParty0 runs MSB on shares of x and returns the values opened to party
// 0, by round: the openings of the AND rounds and of the daBit conversion.
func msbViewOfParty0(t *testing.T, n int, x sharing.Tensor) [][]uint64 {
	t.Helper()
	shares := splitAll(t, n, x)
	var rec *roundRecorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
	runWithParty0Seen(t, n, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		_, err := e.MSB(ctx, shares[i][0])
		return err
	})
	if len(rec.sent) != len(rec.recv) {
		t.Fatalf("party 0 sent in %d rounds and received in %d", len(rec.sent), len(rec.recv))
	}
	return rec.opened()
}

// TestMSBViewUniform checks that the values MSB opens are uniform, round by round (the last rounds are small: a test of the whole view
// would not notice one of them leaking), and does not depend on the input: all
// zeros, all one negative value, or a ramp through both signs. The size is a
// multiple of 64 squared, so no opened word has padding.
func TestMSBViewUniform(t *testing.T) {
	const size, reps = 4096, 4
	zero := sharing.Zeros(size)
	negative := sharing.Zeros(size)
	ramp := sharing.Zeros(size)
	for i := range negative.Data {
		negative.Data[i] = math.MaxUint64 - 3<<16 + 1
		ramp.Data[i] = uint64(i-size/2) << 20
	}
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	for _, n := range partyCounts {
		var hists [][]float64
		var total int
		for k, x := range []sharing.Tensor{zero, negative, ramp} {
			byRound := make([][]uint64, msbRounds[n])
			for rep := 0; rep < reps; rep++ {
				view := msbViewOfParty0(t, n, x)
				if len(view) != msbRounds[n] {
					t.Fatalf("n=%d: party 0 saw openings in %d rounds, want %d", n, len(view), msbRounds[n])
				}
				for r, words := range view {
					byRound[r] = append(byRound[r], words...)
				}
			}
			var all []uint64
			for r, words := range byRound {
				if stat := chiSquareUniform(histogram(words), len(words)); stat > crit {
					t.Fatalf("n=%d input %d: the values opened in round %d are not uniform: chi-square %.1f > %.1f over %d words", n, k, r, stat, crit, len(words))
				}
				all = append(all, words...)
			}
			if k > 0 && len(all) != total {
				t.Fatalf("n=%d: the openings' sizes differ with the input: %d vs %d words", n, len(all), total)
			}
			total = len(all)
			hists = append(hists, histogram(all))
		}
		for k := 1; k < len(hists); k++ {
			if stat := chiSquareTwoSample(hists[0], hists[k]); stat > critTwo {
				t.Fatalf("n=%d: the openings with input %d differ from those with zeros: chi-square %.1f > %.1f", n, k, stat, critTwo)
			}
		}
		t.Logf("n=%d: %.2f words opened per element, every round uniform", n, float64(total)/reps/size)
	}
}
