package protocol_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// mulBitsInputs returns bits (0 or 1 at integer scale) and values with the
// ring's edge values among random ones.
func mulBitsInputs(size int) (b, x sharing.Tensor) {
	rng := rand.New(rand.NewPCG(7, 11))
	b, x = sharing.Zeros(size), randomRing(size)
	edges := []uint64{0, 1, math.MaxUint64, 1 << 63, 1<<63 - 1, 1 << 62}
	for i := range b.Data {
		b.Data[i] = rng.Uint64() & 1
		if i < 2*len(edges) {
			b.Data[i] = uint64(i & 1)
			x.Data[i] = edges[i/2]
		}
	}
	return b, x
}

// TestMulBitsMatchesPlaintext checks MulBits (a daBit triple per element) against
// the ring product, exactly, for N = 2, 3, 5, 8, in one round.
func TestMulBitsMatchesPlaintext(t *testing.T) {
	const size = 1000
	b, x := mulBitsInputs(size)
	for _, n := range append(partyCounts, 8) {
		shares := splitAll(t, n, b, x)
		type result struct {
			out    sharing.Tensor
			rounds int64
		}
		res := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (result, error) {
			exit := e.Enter("mul-bits")
			out, err := e.MulBits(ctx, shares[e.Self()][0], shares[e.Self()][1])
			exit()
			return result{out, e.ScopeCosts()[0].Rounds}, err
		})
		var outs []sharing.Tensor
		for _, r := range res {
			outs = append(outs, r.out)
		}
		got := reconstruct(t, outs)
		for i := range got.Data {
			if want := b.Data[i] * x.Data[i]; got.Data[i] != want {
				t.Fatalf("n=%d element %d: %d * %x = %x, want %x", n, i, b.Data[i], x.Data[i], got.Data[i], want)
			}
		}
		if res[0].rounds != 1 {
			t.Fatalf("n=%d: %d rounds, want 1", n, res[0].rounds)
		}
	}
}

// TestMulBitsViewUniform checks what party 0 receives in MulBits's round: the
// opened x - B (added over the peers) and b ^ r (XORed) are uniform for zero,
// constant and structured inputs.
func TestMulBitsViewUniform(t *testing.T) {
	const size, reps = 4096, 4
	ones, ramp := sharing.Zeros(size), sharing.Zeros(size)
	for i := range ones.Data {
		ones.Data[i] = 1
		ramp.Data[i] = uint64(i) << 40
	}
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	for _, n := range partyCounts {
		for k, in := range [][2]sharing.Tensor{{sharing.Zeros(size), sharing.Zeros(size)}, {ones, ones}, {ones, ramp}} {
			var words []uint64
			for range reps {
				shares := splitAll(t, n, in[0], in[1])
				var rec *roundRecorder
				watch := func(tr protocol.Transport) protocol.Transport { rec = &roundRecorder{Transport: tr}; return rec }
				runWithParty0Seen(t, n, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
					_, err := e.MulBits(ctx, shares[i][0], shares[i][1])
					return err
				})
				if len(rec.recv) != 1 {
					t.Fatalf("n=%d: %d rounds, want 1", n, len(rec.recv))
				}
				seen := append([]uint64(nil), rec.sent[0]...)
				for _, ws := range rec.recv[0] {
					for i, w := range ws {
						if i < size {
							seen[i] += w
						} else {
							seen[i] ^= w
						}
					}
				}
				words = append(words, seen...)
			}
			if stat := chiSquareUniform(histogram(words), len(words)); stat > crit {
				t.Fatalf("n=%d input %d: what party 0 sees is not uniform: chi-square %.1f > %.1f over %d words", n, k, stat, crit, len(words))
			}
		}
	}
}
