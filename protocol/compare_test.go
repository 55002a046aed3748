package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/bits"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// lookupConfig is the engine config of sessions that compare by lookup.
func lookupConfig(fracBits int) protocol.Config {
	return protocol.Config{Codec: sharing.Codec{FracBits: fracBits}, LookupComparisons: true}
}

// signEdges are the values every sign test includes at width w: 0, +-1, the ends
// of the exact range +-(2^(w-1)-1), -2^(w-1), and values past the width.
func signEdges(w int) []uint64 {
	half := uint64(1) << (w - 1)
	return []uint64{0, 1, ^uint64(0), half - 1, -(half - 1), -half, half, 1 << w, 1<<w - 1, 0xff, 0x100, ^uint64(0xff)}
}

// plainSign is bit w-1 of every value, packed one bit per element.
func plainSign(x []uint64, w int) []uint64 {
	out := make([]uint64, (len(x)+63)/64)
	for i, v := range x {
		out[i/64] |= (v >> (w - 1) & 1) << (i % 64)
	}
	return out
}

func checkSigns(t *testing.T, x, got []uint64, w int) {
	t.Helper()
	want := plainSign(x, w)
	for i := range x {
		if g, w := got[i/64]>>(i%64)&1, want[i/64]>>(i%64)&1; g != w {
			t.Fatalf("element %d (%#x): sign %d, want %d", i, x[i], g, w)
		}
	}
}

// TestLookupSignMatchesPlain checks the lookup sign against bit w-1 of the
// plaintext, for every party count and both widths, in two rounds, with openings
// all-to-all and through a king.
func TestLookupSignMatchesPlain(t *testing.T) {
	for _, n := range []int{2, 3, 5, 8} {
		for _, w := range []int{16, 32} {
			for _, opening := range []protocol.Opening{protocol.OpenAllToAll, protocol.OpenViaKing} {
				if opening == protocol.OpenViaKing && n != 3 {
					continue
				}
				t.Run(fmt.Sprintf("parties=%d/w=%d/%s", n, w, opening), func(t *testing.T) {
					x := append(randomRing(1000).Data, signEdges(w)...)
					shares := splitAll(t, n, sharing.Tensor{Shape: []int{len(x)}, Data: x})
					cfg := lookupConfig(16)
					cfg.Opening = opening
					type result struct {
						bits   []uint64
						rounds int
					}
					res := sessionWith(t, n, cfg, func(ctx context.Context, e *protocol.Engine) (result, error) {
						before := e.Rounds()
						b, err := e.SignBitsForTest(ctx, shares[e.Self()][0].Data, w)
						return result{b, int(e.Rounds() - before)}, err
					})
					got := make([]uint64, len(res[0].bits))
					for _, r := range res {
						if r.rounds != 2 {
							t.Fatalf("the lookup sign took %d rounds, want 2", r.rounds)
						}
						for i, v := range r.bits {
							got[i] ^= v
						}
					}
					checkSigns(t, x, got, w)
				})
			}
		}
	}
}

// TestLookupSignTies checks the combine on chosen r: for every pattern of chunk
// comparisons (c_j below, equal to or above r_j, chunk by chunk), including the
// ties a random r rarely gives, the sign is bit w-1 of x = c - r.
func TestLookupSignTies(t *testing.T) {
	var seed sharing.Seed
	rand.Read(seed[:])
	prg := sharing.NewPRG(seed, 0)
	for _, w := range []int{16, 32} {
		chunks := []int{8, 7}
		if w == 32 {
			chunks = []int{8, 8, 8, 7}
		}
		patterns := 1
		for range chunks {
			patterns *= 3
		}
		var x, r []uint64
		for rep := range 20 {
			for pat := range patterns {
				rv, cv := prg.Uint64()&(1<<w-1), uint64(0)
				shift, p := 0, pat
				for _, b := range chunks {
					rj := rv >> shift & (1<<b - 1)
					cj := rj
					switch p % 3 {
					case 0:
						cj = prg.Uint64() % (rj + 1) // at most r_j: below unless it ties
					case 2:
						cj = rj + prg.Uint64()%(1<<b-rj)
					}
					if rep == 0 && p%3 != 1 { // the ends of the chunk's range
						cj = map[bool]uint64{true: 0, false: 1<<b - 1}[p%3 == 0]
					}
					cv |= cj << shift
					shift += b
					p /= 3
				}
				cv |= prg.Uint64() & 1 << (w - 1)
				r = append(r, rv)
				x = append(x, (cv-rv)&(1<<w-1)|prg.Uint64()<<w) // bits past w must not matter
			}
		}
		masks := prg.Tensor(len(x)).Data
		for _, n := range []int{2, 3, 5} {
			t.Run(fmt.Sprintf("w=%d/parties=%d", w, n), func(t *testing.T) {
				checkSigns(t, x, protocol.LookupSignForTest(x, r, masks, w, n, prg), w)
			})
		}
	}
}

// TestCompareMaterialReconstructs checks the dealer's KindCompare material: r
// below 2^w, one-hot vectors with their single one at r's chunks, r's top bit and
// the products of the masks of every subset.
func TestCompareMaterialReconstructs(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		for _, w := range []int{16, 32} {
			const size = 300
			dealer, err := protocol.NewDealer(n, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			mats := make([]protocol.CompareMaterial, n)
			for i := range mats {
				src, _ := dealer.Source(i)
				m, err := src.Fetch(context.Background(), protocol.CompareRequest(size, w))
				if err != nil {
					t.Fatal(err)
				}
				mats[i] = m.Compare()
			}
			checkCompareMaterial(t, mats, size, w)
		}
	}
}

func checkCompareMaterial(t *testing.T, mats []protocol.CompareMaterial, size, w int) {
	t.Helper()
	chunks, inputs := []int{8, 7}, 2
	if w == 32 {
		chunks, inputs = []int{8, 8, 8, 7}, 6
	}
	table := len(mats[0].OneHot) / size
	for i := range size {
		var r, word uint64
		hot := make([]uint64, table)
		for _, m := range mats {
			r += m.R.Data[i]
			word ^= m.Bits[i]
			for k := range hot {
				hot[k] ^= m.OneHot[i*table+k]
			}
		}
		if r >= 1<<w {
			t.Fatalf("w=%d element %d: r = %#x is not below 2^w", w, i, r)
		}
		off, shift := 0, 0
		for j, b := range chunks {
			words := hot[off : off+(1<<b)/64]
			cv := int(r>>shift) & (1<<b - 1)
			ones := 0
			for _, v := range words {
				ones += bits.OnesCount64(v)
			}
			if ones != 1 || words[cv/64]>>(cv%64)&1 != 1 {
				t.Fatalf("w=%d element %d chunk %d: %d ones, want one at %d", w, i, j, ones, cv)
			}
			off += len(words)
			shift += b
		}
		if word&1 != r>>(w-1) {
			t.Fatalf("w=%d element %d: top bit share %d, r's is %d", w, i, word&1, r>>(w-1))
		}
		for set := 1; set < 1<<inputs; set++ {
			want := uint64(1)
			for s := range inputs {
				if set>>s&1 == 1 {
					want &= word >> (1 << s) & 1
				}
			}
			if word>>set&1 != want {
				t.Fatalf("w=%d element %d: product of set %b is %d, want %d", w, i, set, word>>set&1, want)
			}
		}
	}
}

// TestCompareOpeningsUniform checks what the lookup sign opens to party 0 in its
// two rounds: the masked values c (w-bit lanes) and the masked chunk bits are
// uniform, and their distribution is the same for inputs of zeros, one value and
// a ramp.
func TestCompareOpeningsUniform(t *testing.T) {
	const size = 4096 // whole words in both rounds
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	for _, n := range []int{2, 3, 5} {
		for _, w := range []int{16, 32} {
			zero, constant, ramp := make([]uint64, size), make([]uint64, size), make([]uint64, size)
			for i := range constant {
				constant[i] = 0x1234_5678_9abc_def0
				ramp[i] = uint64(i) << 3
			}
			var hists [2][][]float64
			for k, x := range [][]uint64{zero, constant, ramp} {
				var lanes, masked []uint64
				for range 4 {
					rounds := lookupSignView(t, n, w, x)
					lanes = append(lanes, rounds[0]...)
					masked = append(masked, rounds[1]...)
				}
				counts := []int{len(lanes), len(masked)}
				for round, h := range [][]float64{laneHistogram(lanes, w), histogram(masked)} {
					if stat := chiSquareUniform(h, counts[round]); stat > crit {
						t.Fatalf("n=%d w=%d input %d round %d: party 0's view is not uniform: chi-square %.1f > %.1f", n, w, k, round+1, stat, crit)
					}
					hists[round] = append(hists[round], h)
				}
			}
			for round := range hists {
				for k := 1; k < len(hists[round]); k++ {
					if stat := chiSquareTwoSample(hists[round][0], hists[round][k]); stat > critTwo {
						t.Fatalf("n=%d w=%d round %d: the view with input %d differs from the view with zeros: chi-square %.1f > %.1f", n, w, round+1, k, stat, critTwo)
					}
				}
			}
		}
	}
}

// laneHistogram buckets w-bit lanes by their top and bottom 4 bits.
func laneHistogram(lanes []uint64, w int) []float64 {
	h := make([]float64, 32)
	for _, v := range lanes {
		h[v>>(w-4)]++
		h[16+v&15]++
	}
	return h
}

// lookupSignView runs the lookup sign on x (shared by the test) among n parties
// and returns the values opened to party 0 in its two rounds: the w-bit lanes of
// c = x + r mod 2^w (party 0's and its peers' lanes added lane by lane), then
// the masked chunk bits (XORed).
func lookupSignView(t *testing.T, n, w int, x []uint64) [2][]uint64 {
	t.Helper()
	shares := splitAll(t, n, sharing.Tensor{Shape: []int{len(x)}, Data: x})
	var rec *roundRecorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
	runWithParty0SeenConfig(t, n, lookupConfig(16), watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		_, err := e.SignBitsForTest(ctx, shares[i][0].Data, w)
		return err
	})
	if len(rec.recv) != 2 || len(rec.sent) != 2 {
		t.Fatalf("party 0 took part in %d and %d rounds, want 2", len(rec.sent), len(rec.recv))
	}
	var lanes []uint64
	for k, word := range rec.sent[0] {
		for l := 0; l < 64; l += w {
			sum := word >> l
			for _, peer := range rec.recv[0] {
				sum += peer[k] >> l
			}
			lanes = append(lanes, sum&(1<<w-1))
		}
	}
	return [2][]uint64{lanes, rec.opened()[1]}
}

// TestRemoteDealerServesCompare: a dealer's node serves KindCompare material,
// also to a session resumed at a later request, and it reconstructs as the
// in-process dealer's does.
func TestRemoteDealerServesCompare(t *testing.T) {
	const n, start = 3, 5
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts, dealerDone := dealerNode(ctx, t, n, protocol.AcceptResumed())
	sizes := map[int]int{32: 70, 16: 130}
	mats := protocoltest.MustParties(t, n, func(ctx context.Context, i int, _ protocol.Transport) (map[int]protocol.CompareMaterial, error) {
		src, end, err := protocol.RemoteDealerSourceAt(ctx, ts[i], n, start)
		if err != nil {
			return nil, err
		}
		out := map[int]protocol.CompareMaterial{}
		for _, w := range []int{32, 16} {
			m, err := src.Fetch(ctx, protocol.CompareRequest(sizes[w], w))
			if err != nil {
				return nil, err
			}
			out[w] = m.Compare()
		}
		// Three-input AND material is served too (its products: TestAnd3MaterialReconstructs).
		if _, err := src.Fetch(ctx, protocol.And3Request(9)); err != nil {
			return nil, err
		}
		return out, end(ctx)
	})
	if err := dealerDone(); err != nil {
		t.Fatalf("dealer: %v", err)
	}
	for _, w := range []int{32, 16} {
		var ms []protocol.CompareMaterial
		for _, m := range mats {
			ms = append(ms, m[w])
		}
		checkCompareMaterial(t, ms, sizes[w], w)
	}
}

// TestCompareRequestBounds: a comparison request on another width, of more
// than one dimension or beyond the message bound is refused (a dealer's node
// validates party N-1's requests with it).
func TestCompareRequestBounds(t *testing.T) {
	for _, req := range []protocol.Request{
		{Kind: protocol.KindCompare, Shape: []int{10}, Bits: 64},
		{Kind: protocol.KindCompare, Shape: []int{10}, Bits: 0},
		{Kind: protocol.KindCompare, Shape: []int{2, 5}, Bits: 32},
		protocol.CompareRequest(protocol.MaxMessageElements/8, 32),
		{Kind: protocol.KindAnd3, Shape: []int{2, 5}},
		protocol.And3Request(protocol.MaxMessageElements / 4),
	} {
		if err := req.Validate(); err == nil {
			t.Errorf("%s: accepted", req)
		}
	}
	if err := protocol.CompareRequest(1000, 16).Validate(); err != nil {
		t.Fatal(err)
	}
}

// compareModes are the two ways an engine extracts signs on 16 and 32 bits: the
// tests of the functions that use them run in both.
var compareModes = []struct {
	name   string
	lookup bool
}{{"adder", false}, {"lookup", true}}

// TestLookupRoundsAsDocumented pins the counts the documentation gives for an
// engine that compares by lookup: ReLU 3 on 32 bits whatever N (8 for N = 3 by
// the adder), Softmax's maximum over 10 classes 5 (the sign's 2, the tree of
// three-input ANDs over 9 bits 2, the conversion) and Softmax 22 at f = 16.
func TestLookupRoundsAsDocumented(t *testing.T) {
	for _, n := range []int{2, 3, 5, 8} {
		if got := protocol.ReLURoundsFor(n, 16, true); got != 3 {
			t.Errorf("ReLURoundsFor(%d, 16, lookup) = %d, documented 3", n, got)
		}
		if got := protocol.ReLURoundsFor(n, 24, true); got != protocol.ReLURounds(n, 24) {
			t.Errorf("ReLURoundsFor(%d, 24, lookup) = %d: 64 bits keep the adder's %d", n, got, protocol.ReLURounds(n, 24))
		}
		if got := protocol.SoftmaxMaxRoundsFor(n, 10, 16, true); got != 5 {
			t.Errorf("SoftmaxMaxRoundsFor(%d, 10, 16, lookup) = %d, documented 5", n, got)
		}
		if got, err := protocol.SoftmaxRoundsFor(n, 10, 16, true); err != nil || got != 22 {
			t.Errorf("SoftmaxRoundsFor(%d, 10, 16, lookup) = %d, %v; documented 22", n, got, err)
		}
	}
}

// TestAndAll3MatchesPlain checks the tree of three-input ANDs against the
// plaintext AND of 1 to 12 slots (leftover pairs and singles at every level), in
// ceil(log3(slots)) rounds.
func TestAndAll3MatchesPlain(t *testing.T) {
	const words = 3
	for _, n := range []int{2, 3, 5} {
		for count := 1; count <= 12; count++ {
			slots := make([][]uint64, count)
			want := make([]uint64, words)
			for k := range want {
				want[k] = ^uint64(0)
			}
			for s := range slots {
				// Mostly ones, so that the AND is not all zeros.
				a, b := randomRing(words).Data, randomRing(words).Data
				slots[s] = make([]uint64, words)
				for k := range slots[s] {
					slots[s][k] = a[k] | b[k]
					want[k] &= slots[s][k]
				}
			}
			shares := make([][][]uint64, n) // party, slot, word: XOR shares
			for p := range shares {
				shares[p] = make([][]uint64, count)
				for s := range slots {
					if p == n-1 {
						shares[p][s] = append([]uint64(nil), slots[s]...)
						for q := range n - 1 {
							for k := range shares[p][s] {
								shares[p][s][k] ^= shares[q][s][k]
							}
						}
						continue
					}
					shares[p][s] = randomRing(words).Data
				}
			}
			type result struct {
				and    []uint64
				rounds int
			}
			res := sessionWith(t, n, lookupConfig(16), func(ctx context.Context, e *protocol.Engine) (result, error) {
				z, err := e.AndAll3ForTest(ctx, shares[e.Self()])
				return result{z, int(e.Rounds())}, err
			})
			got := make([]uint64, words)
			for _, r := range res {
				for k, v := range r.and {
					got[k] ^= v
				}
			}
			wantRounds := 0
			for c := count; c > 1; c = (c + 2) / 3 {
				wantRounds++
			}
			if res[0].rounds != wantRounds {
				t.Fatalf("n=%d, %d slots: %d rounds, want %d", n, count, res[0].rounds, wantRounds)
			}
			for k := range got {
				if got[k] != want[k] {
					t.Fatalf("n=%d, %d slots: word %d is %#x, want %#x", n, count, k, got[k], want[k])
				}
			}
		}
	}
}

// TestAnd3MaterialReconstructs checks the dealer's three-input AND material:
// the products of the masks, word by word.
func TestAnd3MaterialReconstructs(t *testing.T) {
	const n, words = 3, 50
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	masks, products := make([]uint64, 3*words), make([]uint64, 4*words)
	for i := range n {
		src, _ := dealer.Source(i)
		m, err := src.Fetch(context.Background(), protocol.And3Request(words))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m.Parts[0].Data {
			masks[k] ^= v
		}
		for k, v := range m.Parts[1].Data {
			products[k] ^= v
		}
	}
	for i := range words {
		a, b, c := masks[i], masks[words+i], masks[2*words+i]
		if products[i] != a&b || products[words+i] != a&c || products[2*words+i] != b&c || products[3*words+i] != a&b&c {
			t.Fatalf("word %d: products of the masks are wrong", i)
		}
	}
}

// TestAnd3OpeningsUniform checks what a three-input AND opens to party 0:
// uniform words, distributed alike for inputs of zeros, ones and a ramp.
func TestAnd3OpeningsUniform(t *testing.T) {
	const words = 2048
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	for _, n := range []int{2, 3} {
		var hists [][]float64
		for k, fill := range []func(i int) uint64{
			func(int) uint64 { return 0 },
			func(int) uint64 { return ^uint64(0) },
			func(i int) uint64 { return uint64(i) * 0x0101 },
		} {
			slots := make([][]uint64, 3) // party n-1 holds the inputs, the others zeros
			for s := range slots {
				slots[s] = make([]uint64, words)
				for i := range slots[s] {
					slots[s][i] = fill(i + s)
				}
			}
			var rec *roundRecorder
			watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
			runWithParty0SeenConfig(t, n, lookupConfig(16), watch, func(ctx context.Context, e *protocol.Engine, i int) error {
				mine := [][]uint64{make([]uint64, words), make([]uint64, words), make([]uint64, words)}
				if i == n-1 {
					mine = slots
				}
				_, err := e.AndAll3ForTest(ctx, mine)
				return err
			})
			seen := rec.opened()[0]
			h := histogram(seen)
			if stat := chiSquareUniform(h, len(seen)); stat > crit {
				t.Fatalf("n=%d input %d: party 0's view is not uniform: chi-square %.1f > %.1f", n, k, stat, crit)
			}
			hists = append(hists, h)
		}
		for k := 1; k < len(hists); k++ {
			if stat := chiSquareTwoSample(hists[0], hists[k]); stat > critTwo {
				t.Fatalf("n=%d: the view with input %d differs from the view with zeros: chi-square %.1f > %.1f", n, k, stat, critTwo)
			}
		}
	}
}
