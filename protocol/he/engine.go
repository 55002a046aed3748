package he

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ldsec/lattigo/v2/ring"
)

// A plan is one chunk of a request: a list of ciphertexts of the encrypted
// operand (each party contributes its share of every one), groups of
// plaintext polynomials of the other operand (each party multiplies by its
// own), and output ciphertexts, each a sum of products of one encrypted and
// one plaintext polynomial, decrypted to shares at its target coefficients.
type plan struct {
	nEnc     int
	fillEnc  func(e int, dst []uint64) // the party's share values, as elements of Z_2^64, into a zeroed dst
	plainDeg int                       // every plaintext polynomial has degree below plainDeg
	groups   []group
	outs     []outSpec
}

type group struct {
	nPlain int
	fill   func(j int, dst []uint64)
	outs   []int
}

type term struct{ enc, plain int }

type outSpec struct {
	terms   []term
	targets []int // coefficient indices holding outputs
	dst     []int // where each target's share goes in the output tensor (added)
}

// worker owns one set of lattigo objects and buffers (lattigo's are not
// goroutine-safe).
type worker struct {
	rq     *ring.Ring
	coeffs []uint64
	small  []int64
	tmp    *ring.Poly
	tmp2   *ring.Poly
	plains []*ring.Poly
	res    []uint64
}

func newWorker(st *suite) (*worker, error) {
	rq, err := ring.NewRing(RingDegree, st.q)
	if err != nil {
		return nil, err
	}
	return &worker{
		rq:     rq,
		coeffs: make([]uint64, RingDegree),
		small:  make([]int64, RingDegree),
		tmp:    rq.NewPoly(),
		tmp2:   rq.NewPoly(),
		res:    make([]uint64, len(st.q)),
	}, nil
}

// polyPool recycles polynomials mod Q (0.5 MiB each): a request allocates
// hundreds, and recycling them spares the garbage collector.
var polyPool = sync.Pool{New: func() any { return ring.NewPoly(RingDegree, len(moduliQ)) }}

// getPoly returns a polynomial with arbitrary coefficients.
func getPoly() *ring.Poly { return polyPool.Get().(*ring.Poly) }

func putPoly(p *ring.Poly) {
	if p != nil {
		polyPool.Put(p)
	}
}

// parallel runs fn(w, i) for i in [0, n) on the party's workers.
func (p *Party) parallel(ctx context.Context, n int, fn func(w *worker, i int) error) error {
	nw := min(len(p.workers), n)
	if nw <= 1 {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(p.workers[0], i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	fail := func(err error) { once.Do(func() { first = err }) }
	for k := 0; k < nw; k++ {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(w, i); err != nil {
					fail(err)
					next.Store(int64(n))
					return
				}
			}
		}(p.workers[k])
	}
	wg.Wait()
	return first
}

// run executes one chunk. Each ciphertext has an aggregator, rotating over
// the parties by the session-wide ciphertext counters so load is balanced:
//
//	S2E up:    party i sends h_i = NTT(A_i + 2^64 e_i) - a*s_i to the aggregator
//	S2E down:  the aggregator sends c0 = sum h_i to everyone; (c0, a) encrypts A
//	prod up:   party j sends (c0*b_j + 2^64 (pk0 u + e0), a*b_j + 2^64 (pk1 u + e1)),
//	           c0 only at the target coefficients, to the output's aggregator
//	c1 down:   the aggregator sends the summed c1 to everyone
//	E2S up:    party i != aggregator sends (c1*s_i - M_i) at the targets, M_i
//	           uniform in [0, 2^b), and keeps M_i mod 2^64 as its share; the
//	           aggregator's share is (c0 + c1*s_agg + sum of those) mod 2^64.
func (p *Party) run(ctx context.Context, req uint64, chunk uint32, pl *plan, out []uint64) error {
	st, np, me := p.st, p.np, p.me
	encBase, outBase := p.nextEnc, p.nextOut
	nEnc, nOut := pl.nEnc, len(pl.outs)
	p.nextEnc += uint64(nEnc)
	p.nextOut += uint64(nOut)
	encAgg := func(e int) int { return int((encBase + uint64(e)) % uint64(np)) }
	outAgg := func(o int) int { return int((outBase + uint64(o)) % uint64(np)) }
	maskBits := MaskBits(np)

	// Shares-to-encryption: h = NTT(A_i + 2^64 e) - crp*s_i.
	enc := make([]*ring.Poly, nEnc) // own share, then the aggregate c0
	crp := make([]*ring.Poly, nEnc)
	err := p.parallel(ctx, nEnc, func(w *worker, e int) error {
		g := encBase + uint64(e)
		a := getPoly()
		newStream(p.crpSeed, g).uniformPoly(st.q, a)
		crp[e] = a
		clear(w.coeffs)
		pl.fillEnc(e, w.coeffs)
		h := getPoly()
		h.Zero()
		for i, q := range st.q {
			row, bred := h.Coeffs[i], st.bred[i]
			for j, v := range w.coeffs {
				if v != 0 {
					row[j] = residue(v, q, bred)
				}
			}
		}
		newStream(p.seeds[labelS2E], g).gaussian(w.small)
		st.scaledSmall(w.small, h, true)
		w.rq.NTT(h, h)
		w.rq.MulCoeffsMontgomeryAndSub(a, p.sk, h)
		enc[e] = h
		return nil
	})
	if err != nil {
		return fmt.Errorf("shares-to-encryption: %w", err)
	}
	own := func(agg func(int) int, n, party int) []int {
		var idx []int
		for i := 0; i < n; i++ {
			if agg(i) == party {
				idx = append(idx, i)
			}
		}
		return idx
	}
	// sendAggregates is a "down" round: every aggregator sends its peers the
	// aggregated polynomials it owns, and every party stores those it receives.
	sendAggregates := func(step byte, polys []*ring.Poly, agg func(int) int) error {
		n := len(polys)
		return p.round(ctx, req, chunk, step,
			func(to int) (int, []byte) {
				idx := own(agg, n, me)
				b := make([]byte, 0, len(idx)*st.polyBytes)
				for _, i := range idx {
					b = st.appendPoly(b, polys[i])
				}
				return len(idx), b
			},
			func(from int) (int, int) { k := len(own(agg, n, from)); return k, k * st.polyBytes },
			func(from int, body []byte) error {
				for _, i := range own(agg, n, from) {
					var err error
					if body, err = st.readPoly(body, polys[i]); err != nil {
						return err
					}
				}
				return nil
			})
	}
	rq := p.workers[0].rq
	tmp := p.workers[0].tmp

	// S2E up.
	err = p.round(ctx, req, chunk, stepS2EUp,
		func(to int) (int, []byte) {
			idx := own(encAgg, nEnc, to)
			b := make([]byte, 0, len(idx)*st.polyBytes)
			for _, e := range idx {
				b = st.appendPoly(b, enc[e])
			}
			return len(idx), b
		},
		func(from int) (int, int) { n := len(own(encAgg, nEnc, me)); return n, n * st.polyBytes },
		func(from int, body []byte) error {
			for _, e := range own(encAgg, nEnc, me) {
				var err error
				if body, err = st.readPoly(body, tmp); err != nil {
					return err
				}
				rq.Add(enc[e], tmp, enc[e])
			}
			return nil
		})
	if err != nil {
		return err
	}
	// S2E down.
	err = sendAggregates(stepS2EDown, enc, encAgg)
	if err != nil {
		return err
	}

	// Products with the own plaintext operand, re-randomised.
	c1 := make([]*ring.Poly, nOut)
	c0t := make([][][]uint64, nOut) // [out][modulus][target]
	err = p.parallel(ctx, len(pl.groups), func(w *worker, g int) error {
		grp := pl.groups[g]
		for len(w.plains) < grp.nPlain {
			w.plains = append(w.plains, w.rq.NewPoly())
		}
		for j := 0; j < grp.nPlain; j++ {
			clear(w.coeffs)
			grp.fill(j, w.coeffs)
			b := w.plains[j]
			for i, q := range st.q {
				row, bred := b.Coeffs[i], st.bred[i]
				for c, v := range w.coeffs[:pl.plainDeg] {
					row[c] = residue(v, q, bred)
				}
				clear(row[pl.plainDeg:])
			}
			st.nttSparse(w.rq, b, pl.plainDeg)
			w.rq.MForm(b, b)
		}
		for _, o := range grp.outs {
			spec := pl.outs[o]
			acc0 := w.tmp
			acc1 := getPoly()
			acc0.Zero()
			acc1.Zero()
			for _, t := range spec.terms {
				w.rq.MulCoeffsMontgomeryAndAdd(enc[t.enc], w.plains[t.plain], acc0)
				w.rq.MulCoeffsMontgomeryAndAdd(crp[t.enc], w.plains[t.plain], acc1)
			}
			// + 2^64 * Enc_pk(0) = (pkT0*u + 2^64 e0, pkT1*u + 2^64 e1)
			s := newStream(p.seeds[labelRerand], outBase+uint64(o))
			s.ternary(w.small)
			u := w.tmp2
			for i, q := range st.q {
				row := u.Coeffs[i]
				for j, v := range w.small {
					row[j] = uint64(v) + q&uint64(v>>63)
				}
			}
			w.rq.NTT(u, u)
			w.rq.MulCoeffsMontgomeryAndAdd(p.pkT[0], u, acc0)
			w.rq.MulCoeffsMontgomeryAndAdd(p.pkT[1], u, acc1)
			s.gaussian(w.small)
			st.scaledSmall(w.small, u, false)
			w.rq.NTT(u, u)
			w.rq.Add(acc1, u, acc1)
			w.rq.InvNTT(acc0, acc0)
			e0 := w.small[:len(spec.targets)]
			s.gaussian(e0)
			v := make([][]uint64, len(st.q))
			for i := range st.q {
				v[i] = make([]uint64, len(spec.targets))
				row := acc0.Coeffs[i]
				for t, pos := range spec.targets {
					v[i][t] = row[pos]
				}
			}
			st.addScaledSmall(e0, v)
			c0t[o] = v
			c1[o] = acc1
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("products: %w", err)
	}

	vecBytesOf := func(o int) int { return st.vecBytes(len(pl.outs[o].targets)) }
	scratch := make([][]uint64, len(st.q))
	// Products up.
	err = p.round(ctx, req, chunk, stepProdUp,
		func(to int) (int, []byte) {
			idx := own(outAgg, nOut, to)
			n := 0
			for _, o := range idx {
				n += st.polyBytes + vecBytesOf(o)
			}
			b := make([]byte, 0, n)
			for _, o := range idx {
				b = st.appendPoly(b, c1[o])
				b = st.appendVec(b, c0t[o])
			}
			return len(idx), b
		},
		func(from int) (int, int) {
			idx := own(outAgg, nOut, me)
			n := 0
			for _, o := range idx {
				n += st.polyBytes + vecBytesOf(o)
			}
			return len(idx), n
		},
		func(from int, body []byte) error {
			for _, o := range own(outAgg, nOut, me) {
				var err error
				if body, err = st.readPoly(body, tmp); err != nil {
					return err
				}
				rq.Add(c1[o], tmp, c1[o])
				for i := range scratch {
					scratch[i] = resize(scratch[i], len(pl.outs[o].targets))
				}
				if body, err = st.readVec(body, scratch); err != nil {
					return err
				}
				st.addVec(c0t[o], scratch)
			}
			return nil
		})
	if err != nil {
		return err
	}
	// c1 down.
	err = sendAggregates(stepC1Down, c1, outAgg)
	if err != nil {
		return err
	}

	// Encryption-to-shares.
	shares := make([][]uint64, nOut)
	masked := make([][][]uint64, nOut)
	err = p.parallel(ctx, nOut, func(w *worker, o int) error {
		spec := pl.outs[o]
		d := w.tmp
		w.rq.MulCoeffsMontgomery(c1[o], p.sk, d)
		w.rq.InvNTT(d, d)
		putPoly(c1[o])
		c1[o] = nil
		shares[o] = make([]uint64, len(spec.targets))
		if outAgg(o) == me {
			y := c0t[o]
			for i, q := range st.q {
				row := d.Coeffs[i]
				for t, pos := range spec.targets {
					y[i][t] = addMod(y[i][t], row[pos], q)
				}
			}
			return nil
		}
		s := newStream(p.seeds[labelMask], outBase+uint64(o))
		h := make([][]uint64, len(st.q))
		for i := range h {
			h[i] = make([]uint64, len(spec.targets))
		}
		for t, pos := range spec.targets {
			shares[o][t] = s.mask(maskBits, st.q, w.res)
			for i, q := range st.q {
				h[i][t] = subMod(d.Coeffs[i][pos], w.res[i], q)
			}
		}
		masked[o] = h
		return nil
	})
	if err != nil {
		return fmt.Errorf("encryption-to-shares: %w", err)
	}
	err = p.round(ctx, req, chunk, stepE2SUp,
		func(to int) (int, []byte) {
			idx := own(outAgg, nOut, to)
			n := 0
			for _, o := range idx {
				n += vecBytesOf(o)
			}
			b := make([]byte, 0, n)
			for _, o := range idx {
				b = st.appendVec(b, masked[o])
			}
			return len(idx), b
		},
		func(from int) (int, int) {
			idx := own(outAgg, nOut, me)
			n := 0
			for _, o := range idx {
				n += vecBytesOf(o)
			}
			return len(idx), n
		},
		func(from int, body []byte) error {
			for _, o := range own(outAgg, nOut, me) {
				for i := range scratch {
					scratch[i] = resize(scratch[i], len(pl.outs[o].targets))
				}
				var err error
				if body, err = st.readVec(body, scratch); err != nil {
					return err
				}
				st.addVec(c0t[o], scratch)
			}
			return nil
		})
	if err != nil {
		return err
	}
	for e := range enc {
		putPoly(enc[e])
		putPoly(crp[e])
	}
	res := make([]uint64, len(st.q))
	for o, spec := range pl.outs {
		if outAgg(o) == me {
			y := c0t[o]
			for t := range spec.targets {
				for i := range res {
					res[i] = y[i][t]
				}
				shares[o][t] = st.crtMod64(res)
			}
		}
		for t, dst := range spec.dst {
			out[dst] += shares[o][t]
		}
	}
	return nil
}

// round sends every peer one message of the step (items and body from
// build) and reads one from every peer, checking its header and exact length
// (from expect) before handing the body to consume.
func (p *Party) round(ctx context.Context, req uint64, chunk uint32, step byte,
	build func(to int) (items int, body []byte),
	expect func(from int) (items, bodyLen int),
	consume func(from int, body []byte) error) error {
	for j := 0; j < p.np; j++ {
		if j == p.me {
			continue
		}
		items, body := build(j)
		msg := appendHeader(make([]byte, 0, headerSize+len(body)), header{step: step, req: req, chunk: chunk, items: uint32(items)})
		msg = append(msg, body...)
		if err := p.tr.Send(ctx, j, msg); err != nil {
			return fmt.Errorf("sending the %s to party %d: %w", stepName(step), j, err)
		}
	}
	for j := 0; j < p.np; j++ {
		if j == p.me {
			continue
		}
		msg, err := p.tr.Recv(ctx, j)
		if err != nil {
			return fmt.Errorf("waiting for the %s of party %d: %w", stepName(step), j, err)
		}
		items, n := expect(j)
		body, err := openMessage(msg, header{step: step, req: req, chunk: chunk, items: uint32(items)}, n)
		if err == nil {
			err = consume(j, body)
		}
		if err != nil {
			return fmt.Errorf("%s of party %d: %w", stepName(step), j, err)
		}
	}
	return nil
}

func resize(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}

func addMod(a, b, q uint64) uint64 {
	r := a + b
	if r >= q {
		r -= q
	}
	return r
}

func subMod(a, b, q uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + q - b
}

func (st *suite) addVec(dst, src [][]uint64) {
	for i, q := range st.q {
		for t, v := range src[i] {
			dst[i][t] = addMod(dst[i][t], v, q)
		}
	}
}

// addScaledSmall adds 2^64*e[t] to v[i][t] modulo q_i.
func (st *suite) addScaledSmall(e []int64, v [][]uint64) {
	for i, q := range st.q {
		for t, x := range e {
			r := uint64(x) + q&uint64(x>>63)
			v[i][t] = addMod(v[i][t], ring.MRed(r, st.tMont[i], q, st.qInv[i]), q)
		}
	}
}

// residue maps v in Z_2^64, read as a centred value, to its residue mod q.
func residue(v, q uint64, bred []uint64) uint64 {
	if int64(v) >= 0 {
		return ring.BRedAdd(v, q, bred)
	}
	r := ring.BRedAdd(-v, q, bred)
	if r == 0 {
		return 0
	}
	return q - r
}
