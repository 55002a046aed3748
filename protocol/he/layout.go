package he

import (
	"fmt"
	"math"
	"math/bits"
	"sync"
)

// Matrix products use Cheetah's coefficient packing (Huang et al., USENIX
// Security 2022). C = A*B (m x k by k x n) is cut into blocks of Mw x Kw and
// Kw x Nw with Mw*Kw*Nw <= N. A block of A and a block of B are packed as
//
//	a(X) = sum A[i,k] X^(i*Kw*Nw + k),    b(X) = sum B[k,c] X^(c*Kw + Kw-1-k),
//
// and coefficient i*Kw*Nw + c*Kw + Kw-1 of a*b mod X^N+1 is sum_k A[i,k]B[k,c]:
// another pair (k, k') lands on it only if k = k' (the offsets differ by less
// than Kw), and the products that wrap around X^N (exponents up to
// N + Kw - 2) land below the first target Kw-1. Output ciphertext (ib, jb)
// sums the products over the k-blocks, in groups of G blocks small enough for
// the noise bound; each group is decrypted to shares on its own and the
// shares added.
type matLayout struct {
	m, k, n    int // of the oriented problem
	mw, kw, nw int
	mb, kb, nb int
	g, ng      int // k-blocks per output ciphertext, output ciphertexts along k
	transposed bool
	cost       float64
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Cost model, in units of one 4-prime NTT at N = 2^14 (~0.8 ms on the build
// machine with lattigo's NTT, for which the weights were measured; ~0.23 ms
// with the package's AVX-512 transform, see doc.go: the weights are left as
// they are, since they decide the packing and so the bytes sent), per party. The communication weight (WithCommWeight) prices one
// polynomial sent (480 KiB).
const (
	costEnc   = 1.6 // sample crp and noise, one NTT, one product
	costPlain = 0.15
	costTerm  = 0.5 // two coefficient-wise products summed lazily (sumProducts; 0.9 term by term, BenchmarkSumProducts)
	costOut   = 3.5 // u, e1 NTTs, one INTT, products, masks
	// DefaultCommWeight favours fewer bytes: on the 8 products of an MNIST
	// step (BenchmarkMNISTStepProducts, 3 parties) weight 10 sends 118 MB per
	// party instead of 157 MB at weight 2 for ~10% more CPU (2.27 s vs 2.03 s
	// per party, with the modulus switch); above 10 the packing no longer
	// changes.
	DefaultCommWeight = 10.0
)

// switchedFraction is the size of a polynomial modulo Q' relative to one
// modulo Q.
const switchedFraction = float64(switchedModuli) / float64(switchedModuli+1)

func sparseFraction(deg int) float64 {
	d := 1
	for d < deg {
		d <<= 1
	}
	if d >= RingDegree/2 {
		return 1
	}
	return float64(bits.Len(uint(d))-1) / LogN
}

// evalLayout fills in block counts, the k-grouping and the cost, or returns
// false when not even one k-block fits the noise budget.
func evalLayout(l matLayout, np int, commWeight float64) (matLayout, bool) {
	l.mb, l.kb, l.nb = ceilDiv(l.m, l.mw), ceilDiv(l.k, l.kw), ceilDiv(l.n, l.nw)
	budget := maxLogX(np)
	if logXBound(np, float64(l.kw), float64(l.kw*l.nw)) > budget {
		return l, false
	}
	// largest g with the bound met (it grows with g)
	lo, hi := 1, l.kb
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if logXBound(np, float64(mid*l.kw), float64(mid*l.kw*l.nw)) <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	l.ng = ceilDiv(l.kb, lo)
	l.g = ceilDiv(l.kb, l.ng)
	e := float64(l.mb * l.kb)
	p := float64(l.kb * l.nb)
	t := float64(l.mb * l.kb * l.nb)
	o := float64(l.mb * l.nb * l.ng)
	// an output's polynomials (c1 up and down) travel modulo Q' (modswitch.go)
	sent := 2 * float64(np-1) / float64(np) * (e + o*switchedFraction)
	l.cost = e*costEnc + p*(costPlain+sparseFraction(l.kw*l.nw)) + t*costTerm + o*costOut + sent*commWeight
	return l, true
}

type layoutKey struct {
	m, k, n, np int
	w           float64
}

var layoutCache sync.Map // layoutKey -> matLayout

// chooseMatLayout picks the cheapest block shape and orientation (encrypt A,
// or compute C^T = B^T A^T and encrypt B) for the cost model above.
func chooseMatLayout(m, k, n, np int, commWeight float64) (matLayout, error) {
	key := layoutKey{m, k, n, np, commWeight}
	if v, ok := layoutCache.Load(key); ok {
		return v.(matLayout), nil
	}
	best := matLayout{cost: math.Inf(1)}
	for _, tr := range []bool{false, true} {
		mm, nn := m, n
		if tr {
			mm, nn = n, m
		}
		for mw := 1; mw <= min(mm, RingDegree); mw++ {
			if mw > 1 && ceilDiv(mm, mw) == ceilDiv(mm, mw-1) {
				continue // same block count as a narrower width
			}
			for kw := 1; kw <= min(k, RingDegree/mw); kw++ {
				if kw > 1 && ceilDiv(k, kw) == ceilDiv(k, kw-1) {
					continue
				}
				nw := min(nn, RingDegree/(mw*kw))
				nw = ceilDiv(nn, ceilDiv(nn, nw)) // narrowest width with the same block count
				l, ok := evalLayout(matLayout{m: mm, k: k, n: nn, mw: mw, kw: kw, nw: nw, transposed: tr}, np, commWeight)
				if ok && l.cost < best.cost {
					best = l
				}
			}
		}
	}
	if math.IsInf(best.cost, 1) {
		return best, fmt.Errorf("no packing of a %dx%dx%d product fits the noise budget with %d parties", m, k, n, np)
	}
	layoutCache.Store(key, best)
	return best, nil
}

// matPlan is the plan for row blocks [ib0, ib1) of the oriented problem with
// the party's operand shares a (m x k) and b (k x n), row-major.
func (l matLayout) plan(a, b []uint64, ib0, ib1 int) *plan {
	rows := ib1 - ib0
	pl := &plan{nEnc: rows * l.kb, plainDeg: l.kw * l.nw}
	pl.fillEnc = func(e int, dst []uint64) {
		ib, kbi := ib0+e/l.kb, e%l.kb
		for i := 0; i < l.mw && ib*l.mw+i < l.m; i++ {
			row := a[(ib*l.mw+i)*l.k:]
			base := i * l.kw * l.nw
			for kk := 0; kk < l.kw && kbi*l.kw+kk < l.k; kk++ {
				dst[base+kk] = row[kbi*l.kw+kk]
			}
		}
	}
	for nbi := 0; nbi < l.nb; nbi++ {
		for gi := 0; gi < l.ng; gi++ {
			kbLo := gi * l.g
			kbHi := min(l.kb, kbLo+l.g)
			if kbLo >= kbHi {
				continue
			}
			grp := group{nPlain: kbHi - kbLo}
			nbi := nbi
			grp.fill = func(j int, dst []uint64) {
				kbi := kbLo + j
				for kk := 0; kk < l.kw && kbi*l.kw+kk < l.k; kk++ {
					row := b[(kbi*l.kw+kk)*l.n:]
					for c := 0; c < l.nw && nbi*l.nw+c < l.n; c++ {
						dst[c*l.kw+l.kw-1-kk] = row[nbi*l.nw+c]
					}
				}
			}
			for ib := ib0; ib < ib1; ib++ {
				spec := outSpec{}
				for kbi := kbLo; kbi < kbHi; kbi++ {
					spec.terms = append(spec.terms, term{enc: (ib-ib0)*l.kb + kbi, plain: kbi - kbLo})
				}
				for i := 0; i < l.mw && ib*l.mw+i < l.m; i++ {
					for c := 0; c < l.nw && nbi*l.nw+c < l.n; c++ {
						spec.targets = append(spec.targets, i*l.kw*l.nw+c*l.kw+l.kw-1)
						spec.dst = append(spec.dst, (ib*l.mw+i)*l.n+nbi*l.nw+c)
					}
				}
				grp.outs = append(grp.outs, len(pl.outs))
				pl.outs = append(pl.outs, spec)
			}
			pl.groups = append(pl.groups, grp)
		}
	}
	return pl
}

// maxPolysPerChunk bounds the ciphertexts of one chunk, hence its memory
// (~0.5 MiB each) and message sizes. A variable so tests can force chunking.
var maxPolysPerChunk = 192

func (l matLayout) rowBlocksPerChunk() int {
	return max(1, maxPolysPerChunk/(l.kb+l.nb*l.ng))
}

// Element-wise products: a(X) = sum a_l X^(p_l), b(X) = sum b_l X^(p_l) over a
// set P of positions without a three-term arithmetic progression, all below
// N/2. Coefficient 2p_l of a*b is then a_l*b_l: p_l' + p_l” = 2p_l with
// l' != l” would make p_l the middle of a progression, and nothing wraps.
// P is the set of integers below N/2 whose base-3 digits are 0 or 1 (the
// greedy, Stanley-sequence set): 384 positions for N = 2^14.
var elemPositions = func() []int {
	var ps []int
	for v := 0; v < RingDegree/2; v++ {
		ok := true
		for x := v; x > 0; x /= 3 {
			if x%3 == 2 {
				ok = false
				break
			}
		}
		if ok {
			ps = append(ps, v)
		}
	}
	return ps
}()

// ElementwiseSlots is the number of element-wise products per ciphertext.
var ElementwiseSlots = len(elemPositions)

// elemPlan is the plan for ciphertexts [c0, c1) of an element-wise product of
// the party's shares a and b (same length).
func elemPlan(a, b []uint64, c0, c1 int) *plan {
	slots := len(elemPositions)
	pl := &plan{nEnc: c1 - c0, plainDeg: elemPositions[slots-1] + 1}
	fill := func(src []uint64) func(e int, dst []uint64) {
		return func(e int, dst []uint64) {
			base := (c0 + e) * slots
			for l, pos := range elemPositions {
				if base+l >= len(src) {
					break
				}
				dst[pos] = src[base+l]
			}
		}
	}
	pl.fillEnc = fill(a)
	fb := fill(b)
	for e := 0; e < c1-c0; e++ {
		spec := outSpec{terms: []term{{enc: e, plain: 0}}}
		base := (c0 + e) * slots
		for l, pos := range elemPositions {
			if base+l >= len(a) {
				break
			}
			spec.targets = append(spec.targets, 2*pos)
			spec.dst = append(spec.dst, base+l)
		}
		e := e
		pl.groups = append(pl.groups, group{nPlain: 1, fill: func(_ int, dst []uint64) { fb(e, dst) }, outs: []int{len(pl.outs)}})
		pl.outs = append(pl.outs, spec)
	}
	return pl
}

func elemCtsPerChunk() int { return max(1, maxPolysPerChunk/2) }

// Packing describes how a matrix product is packed, for cost estimates.
type Packing struct {
	Transposed  bool // B is encrypted (C^T = B^T A^T is computed)
	Mw, Kw, Nw  int  // block of the encrypted operand (Mw x Kw) and the plaintext one (Kw x Nw)
	G           int  // k-blocks summed per output ciphertext
	Encryptions int  // ciphertexts of the encrypted operand
	Plaintexts  int  // plaintext polynomials each party transforms
	Outputs     int  // output ciphertexts decrypted to shares
	// BytesSent is the average number of bytes a party sends: 2(n-1)/n
	// polynomials per ciphertext for n parties, plus (n-1)/n masked
	// decryption shares per target coefficient.
	BytesSent int64
}

// MatrixPacking returns the packing the source uses for an m x k by k x n
// matrix triple among the given number of parties.
func MatrixPacking(m, k, n, parties int, commWeight float64) (Packing, error) {
	if parties < 2 || m < 1 || k < 1 || n < 1 {
		return Packing{}, fmt.Errorf("he: no packing for %dx%dx%d among %d parties", m, k, n, parties)
	}
	l, err := chooseMatLayout(m, k, n, parties, commWeight)
	if err != nil {
		return Packing{}, err
	}
	st := getSuite()
	enc, out := l.mb*l.kb, l.mb*l.nb*l.ng
	share := 2 * float64(parties-1) / float64(parties)
	bytes := share*float64(enc+out)*float64(st.polyBytes) + share/2*float64(m*n*l.ng)*float64(st.vecBytes(1))
	return Packing{
		Transposed: l.transposed, Mw: l.mw, Kw: l.kw, Nw: l.nw, G: l.g,
		Encryptions: enc, Plaintexts: l.kb * l.nb, Outputs: out, BytesSent: int64(bytes),
	}, nil
}
