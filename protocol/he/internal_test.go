package he

import (
	"crypto/rand"
	"errors"
	"math"
	"math/big"
	"math/bits"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/tessera-mpc/tessera/sharing"
)

// testRand is a deterministic, non-cryptographic generator for test inputs
// only (never for protocol secrets).
func testRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

func TestParameterSecurity(t *testing.T) {
	p := Parameters()
	if p.LogQP > HEStandardMaxLogQP {
		t.Fatalf("log2(QP) = %.2f > %d", p.LogQP, HEStandardMaxLogQP)
	}
	if len(p.P) < 2 {
		t.Fatalf("%d special primes", len(p.P))
	}
	for _, q := range append(p.Q, p.P...) {
		if q%(2*RingDegree) != 1 || !ring.IsPrime(q) || q >= 1<<60 {
			t.Fatalf("modulus %#x is not a 60-bit NTT prime", q)
		}
	}
	for _, np := range []int{2, 3, 5, 16} {
		b := MaskBits(np)
		if b <= 64+StatLambda || b > 192 {
			t.Fatalf("%d parties: mask of %d bits", np, b)
		}
		// the aggregated masked value stays within Q'/4 (masked shares
		// travel modulo Q' = Q/q_L, after the switch)
		if math.Log2(float64(np-1))+float64(b) > p.LogQSwitched-2 {
			t.Fatalf("%d parties: masks of %d bits overflow Q'/4", np, b)
		}
		if !switchFits(np) {
			t.Fatalf("%d parties: the modulus switch does not fit", np)
		}
		if logXBound(np, 1, float64(ElementwiseSlots)) > maxLogX(np) {
			t.Fatalf("%d parties: element-wise products exceed the budget", np)
		}
	}
	t.Logf("logN=%d logQ=%.2f logQP=%.2f (bound %d) sigma=%.1f masks(3 parties)=%d bits, budget log2|x| <= %.0f",
		p.LogN, p.LogQ, p.LogQP, HEStandardMaxLogQP, p.Sigma, MaskBits(3), maxLogX(3))
}

func TestPackedRoundTrip(t *testing.T) {
	forEachKernelPath(t, checkPackedRoundTrip)
}

func checkPackedRoundTrip(t *testing.T) {
	r := testRand(1)
	for _, w := range []uint{1, 7, 8, 13, 60, 61} {
		for _, n := range []int{0, 1, 2, 15, 16, 17, 1000} {
			q := uint64(1)<<w - 1
			if w == 1 {
				q = 2
			}
			vals := make([]uint64, n)
			for i := range vals {
				vals[i] = r.Uint64N(q)
			}
			b := appendPacked([]byte{0xAA}, vals, w)
			if len(b) != 1+packedLen(n, w) {
				t.Fatalf("w=%d n=%d: %d bytes, want %d", w, n, len(b)-1, packedLen(n, w))
			}
			got := make([]uint64, n)
			rest, err := readPacked(append(b[1:], 0x55), got, w, q)
			if err != nil || !slices.Equal(got, vals) || len(rest) != 1 || rest[0] != 0x55 {
				t.Fatalf("w=%d n=%d: round trip failed: %v", w, n, err)
			}
			if n > 0 {
				if _, err := readPacked(b[1:len(b)-1], got, w, q); err == nil {
					t.Fatalf("w=%d n=%d: truncated input accepted", w, n)
				}
			}
		}
	}
	// a residue at or above the modulus is rejected
	q := uint64(1)<<60 - 93
	b := appendPacked(nil, []uint64{5, q}, 60)
	if _, err := readPacked(b, make([]uint64, 2), 60, q); !errors.Is(err, errFormat) {
		t.Fatalf("residue = q accepted: %v", err)
	}
	// non-zero padding is rejected
	b = appendPacked(nil, []uint64{5}, 60)
	b[len(b)-1] |= 0x80
	if _, err := readPacked(b, make([]uint64, 1), 60, q); !errors.Is(err, errFormat) {
		t.Fatalf("non-zero padding accepted: %v", err)
	}
}

func TestCRTMod64(t *testing.T) {
	st := getSuite()
	Q := st.params.QBigInt()
	quarter := new(big.Int).Rsh(Q, 2)
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	res := make([]uint64, len(st.q))
	edge := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(-1), new(big.Int).Sub(quarter, big.NewInt(1)), new(big.Int).Neg(new(big.Int).Sub(quarter, big.NewInt(1)))}
	for i := 0; i < 2000; i++ {
		var y *big.Int
		if i < len(edge) {
			y = edge[i]
		} else {
			v, _ := rand.Int(rand.Reader, new(big.Int).Lsh(quarter, 1))
			y = v.Sub(v, quarter)
			if i%3 == 0 {
				y.Rsh(y, uint(i%200)) // small magnitudes too
			}
		}
		for j, q := range st.q {
			res[j] = new(big.Int).Mod(y, new(big.Int).SetUint64(q)).Uint64()
		}
		want := new(big.Int).Mod(y, two64).Uint64()
		if got := st.crtMod64(res); got != want {
			t.Fatalf("y=%v: got %#x want %#x", y, got, want)
		}
	}
}

func TestSparseNTTMatchesLattigo(t *testing.T) {
	forEachKernelPath(t, checkSparseNTT)
}

func checkSparseNTT(t *testing.T) {
	st := getSuite()
	r, err := ring.NewRing(RingDegree, st.q)
	if err != nil {
		t.Fatal(err)
	}
	rng := testRand(2)
	for _, deg := range []int{0, 1, 2, 3, 5, 16, 17, 100, 256, 1000, 4096, 4097, 8191, 8192, RingDegree} {
		p := r.NewPoly()
		for i, q := range st.q {
			for j := 0; j < deg; j++ {
				p.Coeffs[i][j] = rng.Uint64N(q)
			}
		}
		want := p.CopyNew()
		r.NTT(want, want)
		// nttSparse reads the coefficients below deg only
		for i, q := range st.q {
			for j := deg; j < RingDegree; j++ {
				p.Coeffs[i][j] = rng.Uint64N(q)
			}
		}
		getSuite().nttSparse(p, deg)
		if !r.Equal(p, want) {
			t.Fatalf("degree %d: sparse NTT differs", deg)
		}
	}
}

func TestGaussianSampler(t *testing.T) {
	var seed sharing.Seed
	s := newStream(seed, 7)
	xs := make([]int64, 1<<20)
	s.gaussian(xs)
	var sum, sq float64
	for _, x := range xs {
		if x < -NoiseBound || x > NoiseBound {
			t.Fatalf("sample %d out of bounds", x)
		}
		sum += float64(x)
		sq += float64(x * x)
	}
	n := float64(len(xs))
	mean, std := sum/n, math.Sqrt(sq/n)
	if math.Abs(mean) > 0.02 || math.Abs(std-Sigma) > 0.02 {
		t.Fatalf("mean %.4f std %.4f, want 0 and %.1f", mean, std, Sigma)
	}
	ts := make([]int64, 30000)
	s.ternary(ts)
	var count [3]int
	for _, x := range ts {
		count[x+1]++
	}
	for _, c := range count {
		if c < 9500 || c > 10500 {
			t.Fatalf("ternary counts %v", count)
		}
	}
}

// gaussianScan is the sampler's definition: the magnitude counts the
// entries of the cumulative table at or below r, scanned one by one.
func (s *stream) gaussianScan(dst []int64) {
	for j := range dst {
		w := s.next()
		r := w >> 1
		var mag int64
		for _, t := range gaussCDT {
			if r >= t {
				mag++
			}
		}
		dst[j] = mag
		if w&1 == 1 {
			dst[j] = -mag
		}
	}
}

// TestGaussianSearchMatchesScan: the binary search draws the same samples as
// the scan, on a stream and at every table entry and its neighbours.
func TestGaussianSearchMatchesScan(t *testing.T) {
	forEachKernelPath(t, checkGaussianSearch)
}

func checkGaussianSearch(t *testing.T) {
	var seed sharing.Seed
	got, want := make([]int64, 1<<18), make([]int64, 1<<18)
	newStream(seed, 9).gaussian(got)
	newStream(seed, 9).gaussianScan(want)
	if !slices.Equal(got, want) {
		t.Fatal("samples differ from the scan's")
	}
	var words []uint64
	for _, c := range gaussCDT {
		for _, r := range []uint64{c - 1, c, c + 1} {
			words = append(words, r<<1, r<<1|1)
		}
	}
	words = append(words, 0, 1, ^uint64(0), ^uint64(0)-1)
	for _, w := range words {
		s1, s2 := &stream{pos: 0}, &stream{pos: 0}
		s1.buf[0], s2.buf[0] = w, w
		a, b := make([]int64, 1), make([]int64, 1)
		s1.gaussian(a)
		s2.gaussianScan(b)
		if a[0] != b[0] {
			t.Fatalf("word %#x: %d, the scan %d", w, a[0], b[0])
		}
	}
	// all of them at once (eight at a time where the kernel does that)
	got = make([]int64, len(words))
	gaussianWords(words, got)
	for j, w := range words {
		s := &stream{pos: 0}
		s.buf[0] = w
		s.gaussianScan(want[:1])
		if got[j] != want[0] {
			t.Fatalf("word %#x in a slice: %d, the scan %d", w, got[j], want[0])
		}
	}
}

func TestElementwisePositions(t *testing.T) {
	ps := elemPositions
	if len(ps) != 384 || ElementwiseSlots != 384 {
		t.Fatalf("%d positions", len(ps))
	}
	in := map[int]bool{}
	for _, p := range ps {
		in[p] = true
		if 2*p >= RingDegree {
			t.Fatalf("position %d wraps", p)
		}
	}
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if s := ps[i] + ps[j]; s%2 == 0 && in[s/2] {
				t.Fatalf("%d, %d, %d is an arithmetic progression", ps[i], s/2, ps[j])
			}
		}
	}
}

func TestLayoutChoice(t *testing.T) {
	for _, s := range [][4]int{{64, 784, 128, 3}, {128, 784, 128, 3}, {128, 128, 10, 3}, {1, 100000, 1, 2}, {8192, 1, 8192, 2}} {
		l, err := chooseMatLayout(s[0], s[1], s[2], s[3], DefaultCommWeight)
		if err != nil {
			t.Fatal(err)
		}
		if l.mw*l.kw*l.nw > RingDegree {
			t.Fatalf("%v: block %dx%dx%d exceeds N", s, l.mw, l.kw, l.nw)
		}
		if b := logXBound(s[3], float64(l.g*l.kw), float64(l.g*l.kw*l.nw)); b > maxLogX(s[3]) {
			t.Fatalf("%v: noise bound 2^%.1f over budget", s, b)
		}
		enc, out := l.mb*l.kb, l.mb*l.nb*l.ng
		t.Logf("%dx%dx%d (%d parties): transposed=%v blocks %dx%dx%d, G=%d: %d encryptions, %d plaintexts, %d outputs, log2|x| <= %.1f of %.0f",
			s[0], s[1], s[2], s[3], l.transposed, l.mw, l.kw, l.nw, l.g, enc, l.kb*l.nb, out,
			logXBound(s[3], float64(l.g*l.kw), float64(l.g*l.kw*l.nw)), maxLogX(s[3]))
	}
}

// uniformPolyNext is uniformPoly's definition, one word at a time.
func (s *stream) uniformPolyNext(q []uint64, p *ring.Poly) {
	for i, qi := range q {
		mask := uint64(1)<<bits.Len64(qi) - 1
		for j := range p.Coeffs[i][:RingDegree] {
			for {
				if v := s.next() & mask; v < qi {
					p.Coeffs[i][j] = v
					break
				}
			}
		}
	}
}

// TestUniformPolyMatchesDefinition: the same residues as one word at a
// time, and the stream left at the same word, also with primes that reject
// often.
func TestUniformPolyMatchesDefinition(t *testing.T) {
	var seed sharing.Seed
	for _, q := range [][]uint64{moduliQ, {1<<40 + 1<<39, 3, 1<<63 + 1}} {
		got, want := ring.NewPoly(RingDegree, len(q)), ring.NewPoly(RingDegree, len(q))
		s1, s2 := newStream(seed, 4), newStream(seed, 4)
		s1.uniformPoly(q, got)
		s2.uniformPolyNext(q, want)
		if !slices.EqualFunc(got.Coeffs, want.Coeffs, slices.Equal) || s1.next() != s2.next() {
			t.Fatalf("moduli %v: uniformPoly differs from its definition", q)
		}
	}
}
