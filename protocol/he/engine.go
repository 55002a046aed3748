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
	st     *suite // the suite of rq's moduli: its NTT tables (ntt.go)
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
		st:     st,
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

// run executes one chunk: the per-step functions of steps.go on this party's
// shares, and five rounds that move them. Each ciphertext has an aggregator,
// rotating over the parties by the session-wide ciphertext counters so load
// is balanced:
//
//	S2E up:    party i sends h_i = NTT(A_i + 2^64 e_i) - a*s_i to the aggregator
//	S2E down:  the aggregator sends c0 = sum h_i to everyone; (c0, a) encrypts A
//	prod up:   party j sends c1_j = a*b_j + 2^64 (pk1 u + e1), switched from Q
//	           to Q' (modswitch.go), to the output's aggregator and keeps
//	           c0_j = c0*b_j + 2^64 pk0 u (switched at the targets, plus 2^64 e0)
//	c1 down:   the aggregator sends the summed c1 (mod Q') to everyone
//	E2S up:    party i != aggregator sends (c1*s_i + c0_i - M_i) at the targets,
//	           mod Q', M_i uniform in [0, 2^b), and keeps q_L*M_i mod 2^64 as its
//	           share; the aggregator's is q_L*(c1*s_agg + c0_agg + sum of those)
//	           mod 2^64.
func (p *Party) run(ctx context.Context, req uint64, chunk uint32, pl *plan, out []uint64) error {
	c := p.newChunk(pl)
	p.nextEnc += uint64(pl.nEnc)
	p.nextOut += uint64(len(pl.outs))
	defer c.release()
	encs, prods, c1s, masks := c.routes()
	if err := p.parallel(ctx, pl.nEnc, c.genS2E); err != nil {
		return fmt.Errorf("shares-to-encryption: %w", err)
	}
	if err := p.gather(ctx, req, chunk, stepS2EUp, encs, c.putEnc, c.absorbS2E); err != nil {
		return err
	}
	if err := p.scatter(ctx, req, chunk, stepS2EDown, encs, c.putEnc, c.storeEnc); err != nil {
		return err
	}
	if err := p.parallel(ctx, len(pl.groups), c.genProducts); err != nil {
		return fmt.Errorf("products: %w", err)
	}
	if err := p.gather(ctx, req, chunk, stepProdUp, prods, c.putProduct, c.absorbProduct); err != nil {
		return err
	}
	if err := p.scatter(ctx, req, chunk, stepC1Down, c1s, c.putC1, c.storeC1); err != nil {
		return err
	}
	if err := p.parallel(ctx, len(pl.outs), c.genE2S); err != nil {
		return fmt.Errorf("encryption-to-shares: %w", err)
	}
	if err := p.gather(ctx, req, chunk, stepE2SUp, masks, c.putMasked, c.absorbMasked); err != nil {
		return err
	}
	c.finish(out)
	return nil
}

// chunkState is one party's state of one chunk between rounds: its shares,
// then the aggregates it receives. It calls the per-step functions and
// encodes and decodes shares; it never talks to peers. Every share is made
// once and dropped with the chunk: a decryption share is never made or sent
// twice.
type chunkState struct {
	k                *keyShare
	np, me           int
	pl               *plan
	encBase, outBase uint64 // session counters of the chunk's first encryption and output

	enc    []*ring.Poly   // own shares-to-encryption share, then the aggregated c0 (NTT)
	crp    []*ring.Poly   // common reference polynomials of the encryptions
	prod   []productShare // own product share; the aggregator's becomes the sum, every c1 the summed c1
	own    []ownProduct   // own c0 part of every output, kept for its decryption share
	y      [][][]uint64   // of the outputs this party aggregates: the sum of the decryption shares
	masked [][][]uint64   // own masked decryption share, of the outputs others aggregate
	shares [][]uint64     // own output share of every output (the aggregator's after finish)

	rq      *ring.Ring // for aggregation while reading (one goroutine)
	scratch *ring.Poly // a peer's polynomial while it is added
	vec     [][]uint64 // a peer's target residues while they are added
}

func (p *Party) newChunk(pl *plan) *chunkState {
	return newChunkState(&p.keyShare, p.np, p.me, pl, p.nextEnc, p.nextOut, p.workers[0])
}

// newChunkState starts a chunk whose first encryption and output have the
// session counters encBase and outBase; w's ring and buffer serve the reads,
// which run on one goroutine.
func newChunkState(k *keyShare, np, me int, pl *plan, encBase, outBase uint64, w *worker) *chunkState {
	return &chunkState{
		k: k, np: np, me: me, pl: pl, encBase: encBase, outBase: outBase,
		enc: make([]*ring.Poly, pl.nEnc), crp: make([]*ring.Poly, pl.nEnc),
		prod: make([]productShare, len(pl.outs)), own: make([]ownProduct, len(pl.outs)),
		y: make([][][]uint64, len(pl.outs)), masked: make([][][]uint64, len(pl.outs)),
		shares: make([][]uint64, len(pl.outs)),
		rq:     w.rq, scratch: w.tmp,
		vec: make([][]uint64, len(k.st.low.q)),
	}
}

// release returns the chunk's polynomials to the pool.
func (c *chunkState) release() {
	for e := range c.enc {
		putPoly(c.enc[e])
		putPoly(c.crp[e])
	}
	for o := range c.prod {
		putPoly(c.prod[o].c1)
		c.prod[o].c1 = nil
		putPoly(c.own[o].c0)
		c.own[o].c0 = nil
	}
}

// routes are the items of the chunk's rounds: encryptions (S2E up and
// down), product shares (up), aggregated c1 (down), masked decryption shares
// (up).
func (c *chunkState) routes() (encs, prods, c1s, masks itemRoute) {
	st, outs := c.k.st, c.pl.outs
	encs = itemRoute{np: c.np, base: c.encBase, n: c.pl.nEnc, size: func(int) int { return st.polyBytes }}
	prods = itemRoute{np: c.np, base: c.outBase, n: len(outs), size: func(int) int { return st.productShareBytes() }}
	c1s = itemRoute{np: c.np, base: c.outBase, n: len(outs), size: func(int) int { return st.productShareBytes() }}
	masks = itemRoute{np: c.np, base: c.outBase, n: len(outs), size: func(o int) int { return st.low.vecBytes(len(outs[o].targets)) }}
	return
}

func (c *chunkState) outAgg(o int) int { return int((c.outBase + uint64(o)) % uint64(c.np)) }

func (c *chunkState) genS2E(w *worker, e int) error {
	g := c.encBase + uint64(e)
	c.crp[e] = getPoly()
	c.k.commonPoly(g, c.crp[e])
	c.enc[e] = getPoly()
	c.k.s2eShare(w, g, c.crp[e], func(dst []uint64) { c.pl.fillEnc(e, dst) }, c.enc[e])
	return nil
}

func (c *chunkState) putEnc(dst []byte, e int) []byte { return c.k.st.appendPoly(dst, c.enc[e]) }

func (c *chunkState) absorbS2E(src []byte, e int) ([]byte, error) {
	src, err := c.k.st.readPoly(src, c.scratch)
	if err == nil {
		aggregatePoly(c.rq, c.enc[e], c.scratch)
	}
	return src, err
}

func (c *chunkState) storeEnc(src []byte, e int) ([]byte, error) {
	return c.k.st.readPoly(src, c.enc[e])
}

// genProducts makes the product shares of the outputs of plaintext group g.
func (c *chunkState) genProducts(w *worker, g int) error {
	grp := c.pl.groups[g]
	for len(w.plains) < grp.nPlain {
		w.plains = append(w.plains, w.rq.NewPoly())
	}
	for j := 0; j < grp.nPlain; j++ {
		c.k.st.plainPoly(w, c.pl.plainDeg, func(dst []uint64) { grp.fill(j, dst) }, w.plains[j])
	}
	for _, o := range grp.outs {
		c.prod[o], c.own[o] = c.k.productShare(w, c.outBase+uint64(o), c.pl.outs[o], c.enc, c.crp, w.plains)
	}
	return nil
}

func (c *chunkState) putProduct(dst []byte, o int) []byte {
	return c.k.st.appendProductShare(dst, c.prod[o])
}

func (c *chunkState) absorbProduct(src []byte, o int) ([]byte, error) {
	st := c.k.st
	peer := productShare{c1: c.scratch}
	src, err := st.readProductShare(src, peer)
	if err == nil {
		st.aggregateProducts(c.rq, &c.prod[o], peer)
	}
	return src, err
}

func (c *chunkState) putC1(dst []byte, o int) []byte {
	return c.k.st.appendProductShare(dst, c.prod[o])
}

func (c *chunkState) storeC1(src []byte, o int) ([]byte, error) {
	return c.k.st.readProductShare(src, c.prod[o])
}

// genE2S makes the party's decryption share of output o: masked if another
// party aggregates it, the start of the sum of decryption shares if this one
// does.
func (c *chunkState) genE2S(w *worker, o int) error {
	spec, pr := c.pl.outs[o], &c.prod[o]
	if c.outAgg(o) == c.me {
		c.y[o] = newVec(len(c.k.st.low.q), len(spec.targets))
		c.k.e2sAggregatorShare(w, pr.c1, c.own[o], spec.targets, c.y[o])
	} else {
		c.masked[o], c.shares[o] = c.k.e2sShare(w, c.outBase+uint64(o), pr.c1, c.own[o], spec.targets, MaskBits(c.np))
	}
	putPoly(pr.c1)
	pr.c1 = nil
	putPoly(c.own[o].c0)
	c.own[o].c0 = nil
	return nil
}

func (c *chunkState) putMasked(dst []byte, o int) []byte {
	return c.k.st.low.appendVec(dst, c.masked[o])
}

func (c *chunkState) absorbMasked(src []byte, o int) ([]byte, error) {
	for i := range c.vec {
		c.vec[i] = resize(c.vec[i], len(c.pl.outs[o].targets))
	}
	src, err := c.k.st.low.readVec(src, c.vec)
	if err == nil {
		c.k.st.aggregateMasked(c.y[o], c.vec)
	}
	return src, err
}

// finish completes the output shares of the outputs this party aggregates
// and adds every output share into out at its destinations.
func (c *chunkState) finish(out []uint64) {
	for o, spec := range c.pl.outs {
		if c.outAgg(o) == c.me {
			c.shares[o] = c.k.st.switchedFinalize(c.y[o])
		}
		for t, dst := range spec.dst {
			out[dst] += c.shares[o][t]
		}
	}
}

// itemRoute lists the items of one round: item i is aggregated by party
// (base+i) mod np and takes size(i) bytes on the wire.
type itemRoute struct {
	np   int
	base uint64
	n    int
	size func(i int) int
}

// of returns the items party aggregates, in order.
func (r itemRoute) of(party int) []int {
	var idx []int
	for i := 0; i < r.n; i++ {
		if int((r.base+uint64(i))%uint64(r.np)) == party {
			idx = append(idx, i)
		}
	}
	return idx
}

// encode returns the item count and the body of a message carrying items
// idx, each appended by put.
func (r itemRoute) encode(idx []int, put func(dst []byte, i int) []byte) (int, []byte) {
	b := make([]byte, 0, r.bytes(idx))
	for _, i := range idx {
		b = put(b, i)
	}
	return len(idx), b
}

func (r itemRoute) bytes(idx []int) int {
	n := 0
	for _, i := range idx {
		n += r.size(i)
	}
	return n
}

// decodeItems hands body, item by item, to read.
func decodeItems(body []byte, idx []int, read func(src []byte, i int) ([]byte, error)) error {
	for _, i := range idx {
		var err error
		if body, err = read(body, i); err != nil {
			return err
		}
	}
	return nil
}

// gather is an "up" round: every party sends each peer its shares of the
// items that peer aggregates, and absorbs every peer's shares of its own.
func (p *Party) gather(ctx context.Context, req uint64, chunk uint32, step byte, r itemRoute,
	put func(dst []byte, i int) []byte, absorb func(src []byte, i int) ([]byte, error)) error {
	mine := r.of(p.me)
	return p.round(ctx, req, chunk, step,
		func(to int) (int, []byte) { return r.encode(r.of(to), put) },
		func(from int) (int, int) { return len(mine), r.bytes(mine) },
		func(from int, body []byte) error { return decodeItems(body, mine, absorb) })
}

// scatter is a "down" round: every aggregator sends each peer the aggregates
// it holds, and stores those every peer holds.
func (p *Party) scatter(ctx context.Context, req uint64, chunk uint32, step byte, r itemRoute,
	put func(dst []byte, i int) []byte, store func(src []byte, i int) ([]byte, error)) error {
	mine := r.of(p.me)
	// every peer gets the same aggregates: encode them once (with 8 parties the
	// aggregator would otherwise pack each polynomial 7 times)
	items, body := r.encode(mine, put)
	return p.round(ctx, req, chunk, step,
		func(to int) (int, []byte) { return items, body },
		func(from int) (int, int) { idx := r.of(from); return len(idx), r.bytes(idx) },
		func(from int, body []byte) error { return decodeItems(body, r.of(from), store) })
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
