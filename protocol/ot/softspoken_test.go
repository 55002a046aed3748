package ot

import (
	"crypto/rand"
	"math/bits"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// TestPuncturedTrees checks the GGM trees of the SoftSpoken blocks without a
// network: a sender holding the level sums on the sides its choices pick
// rebuilds every leaf but the one at its punctured point Delta_b, whose bits
// are the complements of its choices, and that leaf stays unknown (zero).
func TestPuncturedTrees(t *testing.T) {
	for range 4 {
		r, s := extensionPair(t)
		for b := range ssBlocks {
			delta := s.blockDelta(b)
			for i := range ssK {
				if (delta>>i)&1 == int(s.choice(b*ssK+i)) {
					t.Fatalf("block %d: bit %d of Delta_b equals the choice", b, i)
				}
			}
			for x := range ssLeaves {
				got, want := s.leaves[b][x], r.leaves[b][x]
				if x == delta {
					if got != (sharing.Seed{}) || want == (sharing.Seed{}) {
						t.Fatalf("block %d: the punctured leaf %d is known to the sender", b, x)
					}
					continue
				}
				if got != want {
					t.Fatalf("block %d leaf %d: the sender rebuilt %x, the receiver has %x", b, x, got, want)
				}
			}
		}
	}
}

// TestSoftSpokenMessageHidesChoices checks that the receiver's message u, all
// the sender sees of the choices, is uniform whatever the choices: for all-zero
// and all-one choices alike its bytes pass a chi-square test and half its bits
// are set.
func TestSoftSpokenMessageHidesChoices(t *testing.T) {
	h := newCRHash()
	for _, c := range []uint64{0, ^uint64(0)} {
		r := &extReceiver{}
		if err := r.plant(rand.Reader); err != nil {
			t.Fatal(err)
		}
		choices := make([]uint64, 256)
		for i := range choices {
			choices[i] = c
		}
		u, _ := r.extend(h, choices, outBits)
		var hist [256]int
		ones := 0
		for _, v := range u {
			for k := range 8 {
				hist[byte(v>>(8*k))]++
			}
			ones += bits.OnesCount64(v)
		}
		n := 8 * len(u)
		exp := float64(n) / 256
		chi := 0.0
		for _, k := range hist {
			chi += (float64(k) - exp) * (float64(k) - exp) / exp
		}
		if chi > 400 {
			t.Fatalf("choices %x: u not uniform: chi^2 %.1f over %d bytes", c, chi, n)
		}
		if f := float64(ones) / float64(64*len(u)); f < 0.49 || f > 0.51 {
			t.Fatalf("choices %x: %.4f of u's bits set", c, f)
		}
	}
}

// extensionPair returns the two ends of one extension made in one process: a
// receiver with planted trees and a sender that got, as from the base OTs, the
// seeds its choices pick, punctured.
func extensionPair(tb testing.TB) (*extReceiver, *extSender) {
	tb.Helper()
	r := &extReceiver{}
	if err := r.plant(rand.Reader); err != nil {
		tb.Fatal(err)
	}
	s := &extSender{s0: randWord(), s1: randWord()}
	for l := range kappa {
		s.seeds[l] = r.k0[l]
		if s.choice(l) == 1 {
			s.seeds[l] = r.k1[l]
		}
	}
	s.puncture()
	return r, s
}
