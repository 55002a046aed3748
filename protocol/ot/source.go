package ot

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Batch sizes: a request is cut into batches of at most this many OTs per
// ordered pair, which bounds every message (a u matrix of 128 bits per OT: 16 MiB
// for AND batches, 4 MiB for daBit batches) and the memory of a batch.
const (
	maxAndWords   = 1 << 14 // 2^20 AND triples
	maxDaBitWords = 1 << 12 // 2^18 daBits
	// daBit triples: 2^16 per batch (two OTs each per ordered pair).
	maxDaBitTripleWords = 1 << 10
)

func (p *Party) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	return nil
}

// Kinds are the kinds of material the OT source makes: binary material and
// truncation pairs, built from random bits, and element-wise products (Gilboa),
// which HE coefficient packing serves poorly. Matrix products and masks come
// from protocol/he.
var Kinds = []protocol.Kind{protocol.KindAnd, protocol.KindDaBit, protocol.KindDaBitTriple, protocol.KindTrunc, protocol.KindTruncHigh, protocol.KindTruncSign, protocol.KindElementwise, protocol.KindSquare}

// Fetch implements protocol.Source for the kinds in Kinds.
func (p *Party) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	var parts []sharing.Tensor
	var err error
	switch req.Kind {
	case protocol.KindAnd:
		var t protocol.BinaryTriple
		if t, err = p.andTriple(ctx, sharing.Size(req.Shape)); err == nil {
			parts = []sharing.Tensor{words(t.A), words(t.B), words(t.C)}
		}
	case protocol.KindDaBit:
		var d protocol.DaBits
		if d, err = p.daBitShares(ctx, sharing.Size(req.Shape)); err == nil {
			parts = []sharing.Tensor{words(d.Binary), d.Arith}
		}
	case protocol.KindDaBitTriple:
		var t protocol.DaBitTriple
		if t, err = p.daBitTriple(ctx, sharing.Size(req.Shape)); err == nil {
			parts = []sharing.Tensor{words(t.Binary), t.Arith, t.B, t.C}
		}
	case protocol.KindTrunc, protocol.KindTruncHigh, protocol.KindTruncSign:
		parts, err = p.truncPair(ctx, req.Shape, req.Bits, req.Kind)
	case protocol.KindElementwise:
		return p.elementwiseTriple(ctx, req.Shape)
	case protocol.KindSquare:
		return p.squarePair(ctx, req.Shape)
	default:
		err = fmt.Errorf("ot: %s: %w", req.Kind, protocol.ErrUnservedKind)
	}
	return protocol.Material{Parts: parts}, err
}

func words(w []uint64) sharing.Tensor { return sharing.Tensor{Shape: []int{len(w)}, Data: w} }

// andTriple makes words*64 XOR-shared bit triples with C = A AND B.
func (p *Party) andTriple(ctx context.Context, words int) (protocol.BinaryTriple, error) {
	if words < 0 || words > protocol.MaxMessageElements {
		return protocol.BinaryTriple{}, fmt.Errorf("ot: AND triple of %d words is out of range", words)
	}
	if err := p.lock(ctx); err != nil {
		return protocol.BinaryTriple{}, err
	}
	defer p.mu.Unlock()
	t := protocol.BinaryTriple{A: make([]uint64, 0, words), B: make([]uint64, 0, words), C: make([]uint64, 0, words)}
	for done := 0; done < words; {
		w := min(maxAndWords, words-done)
		a, b, c, err := p.andBatch(ctx, w)
		if err != nil {
			return protocol.BinaryTriple{}, fmt.Errorf("ot: AND triples: %w", err)
		}
		t.A, t.B, t.C = append(t.A, a...), append(t.B, b...), append(t.C, c...)
		done += w
	}
	return t, nil
}

// andBatch makes 64*w AND triples. Party i draws a_i, b_i; for every ordered
// pair (i sender, j receiver) one random OT per bit with j's choice b_j gives
// x0, x1 to i and x_{b_j} to j; i sends e = a_i ^ x0 ^ x1 and the two keep
// x0 and x_{b_j} ^ (b_j & e), whose XOR is a_i & b_j.
func (p *Party) andBatch(ctx context.Context, w int) (a, b, c []uint64, err error) {
	a, b = p.private(w), p.private(w)
	c = make([]uint64, w)
	for k := range c {
		c[k] = a[k] & b[k]
	}
	peers := p.peers()
	// Receiver role, choosing with b: send u to every peer.
	xc, batches, err := p.extendAsReceiver(ctx, peers, b, outBits, "AND extension matrix")
	if err != nil {
		return nil, nil, nil, err
	}
	// Sender role: derandomise towards every peer.
	x0, x1, sendBatches, err := p.extendAsSender(ctx, peers, w, outBits, "AND extension matrix")
	if err != nil {
		return nil, nil, nil, err
	}
	for _, q := range peers {
		e := make([]uint64, w)
		for k := range e {
			e[k] = a[k] ^ x0[q][k] ^ x1[q][k]
			c[k] ^= x0[q][k]
		}
		if err := p.sendWords(ctx, q, tagE, sendBatches[q], e, "AND correction"); err != nil {
			return nil, nil, nil, err
		}
	}
	// Receiver role: apply the corrections.
	for q := range p.n {
		if q == p.self {
			continue
		}
		e, err := p.recvWords(ctx, q, tagE, batches[q], w, "AND correction")
		if err != nil {
			return nil, nil, nil, err
		}
		for k := range e {
			c[k] ^= xc[q][k] ^ (b[k] & e[k])
		}
	}
	return a, b, c, nil
}

// daBitShares makes n random bits, XOR-shared in bit 0 and additively shared
// over Z_2^64.
func (p *Party) daBitShares(ctx context.Context, n int) (protocol.DaBits, error) {
	if n < 0 || n > protocol.MaxMessageElements {
		return protocol.DaBits{}, fmt.Errorf("ot: %d daBits is out of range", n)
	}
	if err := p.lock(ctx); err != nil {
		return protocol.DaBits{}, err
	}
	defer p.mu.Unlock()
	arith := make([]uint64, 0, n)
	err := p.daBits(ctx, n, 1, fullWidth, func(_ int, z []uint64) { arith = append(arith, z...) })
	if err != nil {
		return protocol.DaBits{}, fmt.Errorf("ot: daBits: %w", err)
	}
	bin := make([]uint64, n)
	for k, v := range arith {
		bin[k] = v & 1
	}
	return protocol.DaBits{Binary: bin, Arith: sharing.Tensor{Shape: []int{n}, Data: arith}}, nil
}

// fullWidth asks for every daBit's arithmetic share over all of Z_2^64.
func fullWidth(int) int { return 64 }

// daBits makes n daBits whose arithmetic shares are exact modulo 2^width(k)
// for daBit k (higher bits are garbage): a daBit that will be multiplied by
// 2^j needs only 64-j bits, and its corrections are sent with that many. It
// hands use each batch's shares as they come (z[k] is daBit from+k's, valid
// until use returns: the buffer is reused), so that a caller that folds them
// keeps one batch, not all n.
func (p *Party) daBits(ctx context.Context, n, unit int, width func(k int) int, use func(from int, z []uint64)) error {
	// The widths of a batch, looked up once: the batch reads them three times
	// per daBit, which through width cost a tenth of its CPU. A batch holds
	// whole units (a truncation pair's daBits).
	batch := 64 * maxDaBitWords / unit * unit
	widths := make([]uint8, min(batch, n))
	for done := 0; done < n; {
		m := min(batch, n-done)
		for k := range m {
			widths[k] = uint8(width(done + k))
		}
		z, err := p.daBitBatch(ctx, m, widths[:m])
		if err != nil {
			return err
		}
		use(done, z)
		putWords(z)
		done += m
	}
	return nil
}

// daBitBatch returns this party's additive shares of n random bits
// b = r_0 ^ ... ^ r_{N-1}, r_i private to party i. The parties take the
// positions of a rotating order (see foldOrder); with L_t the party at position
// t, it folds z <- z + r_{L_t} - 2 z r_{L_t} for t = 1..N-1, starting from
// z = r_{L_0} held by L_0 alone. At step t only L_0..L_{t-1} hold nonzero
// shares of z, so the product z r_{L_t} costs one correlated OT of 64-bit
// strings from each of them (sender with correlation z_k, L_t receiver with
// choice r_{L_t}): N(N-1)/2 OTs per bit. The low bit of party i's share is r_i.
// DaBit k's share is exact modulo 2^widths[k] (see daBits).
func (p *Party) daBitBatch(ctx context.Context, n int, widths []uint8) ([]uint64, error) {
	w := (n + 63) / 64
	corrBits := 0
	for _, b := range widths {
		corrBits += int(b)
	}
	corrWords := (corrBits + 63) / 64
	r := p.private(w)
	order, pos := p.foldOrder()
	me := pos[p.self]
	// Receiver role: one extension with every party ahead in the order.
	xc, recvBatch, err := p.extendAsReceiver(ctx, order[:me], r, outWords, "daBit extension matrix")
	if err != nil {
		return nil, err
	}
	us, pooled := make([][]uint64, p.n), make([]bool, p.n)
	for _, q := range order[me+1:] {
		body, err := p.recvMsg(ctx, q, tagU, p.send[q].batch, 8*uWords(w), "daBit extension matrix")
		if err != nil {
			return nil, err
		}
		us[q], pooled[q] = wordsOf(body)
	}
	var z []uint64
	if me == 0 {
		z = getWords(n)
		for k := range z {
			z[k] = (r[k>>6] >> uint(k&63)) & 1
		}
	} else if z, err = p.daBitReceive(ctx, order[:me], r, xc, recvBatch, n, corrWords, widths); err != nil {
		return nil, err
	}
	// Sender towards every party behind, in order: correlation z.
	for _, j := range order[me+1:] {
		if err := p.daBitSend(ctx, j, us[j], z, w, corrWords, widths); err != nil {
			return nil, err
		}
		if pooled[j] {
			putWords(us[j])
		}
		us[j] = nil
	}
	return z, nil
}

// daBitSend is daBitBatch's step as the sender towards j: it sends the
// corrections z_k + x0_k - x1_k (widths[k] bits each, packed in place in the
// message) and adds 2 x0 to z, chunk by chunk as the extension hashes them.
func (p *Party) daBitSend(ctx context.Context, j int, u, z []uint64, w, corrWords int, widths []uint8) error {
	n := len(z)
	msg := newWordMessage(tagE, p.send[j].batch, corrWords)
	pk := packer{out: msg.body()}
	p.send[j].extendEach(p.h, u, w, func(c0 int, x0, x1 []uint64) {
		m := min(len(x0), n-64*c0)
		zc, corr := z[64*c0:64*c0+m], x1[:m] // the corrections overwrite x1
		for i := range zc {
			corr[i] = zc[i] + x0[i] - x1[i]
			zc[i] += 2 * x0[i]
		}
		pk.put(corr, widths[64*c0:64*c0+m])
	})
	return p.sendMessage(ctx, j, msg, "daBit correction")
}

// daBitReceive is daBitBatch's step as the receiver, at its own position
// (its share of z still 0): it returns its new share r - 2 prod, prod its
// shares of z r from every party ahead, read from their corrections in place.
func (p *Party) daBitReceive(ctx context.Context, ahead []int, r []uint64, xc [][]uint64, batches []uint64, n, corrWords int, widths []uint8) ([]uint64, error) {
	prod := xc[ahead[0]][:n] // the sum of every peer's x_c and corrections: in the first's
	for t, q := range ahead {
		body, err := p.recvMsg(ctx, q, tagE, batches[q], 8*corrWords, "daBit correction")
		if err != nil {
			return nil, err
		}
		un := byteUnpacker{in: body}
		if t > 0 {
			for k, x := range xc[q][:n] {
				prod[k] += x
			}
			putWords(xc[q])
		}
		un.addChosen(prod, r, widths)
	}
	for k := range prod {
		prod[k] = (r[k>>6]>>uint(k&63))&1 - 2*prod[k]
	}
	return prod, nil
}

// daBitTriple makes n daBit triples: daBits r with a uniform B and C = r B,
// batch by batch (daBitTripleBatch).
func (p *Party) daBitTriple(ctx context.Context, n int) (protocol.DaBitTriple, error) {
	if n < 0 || n > protocol.MaxMessageElements {
		return protocol.DaBitTriple{}, fmt.Errorf("ot: %d daBit triples is out of range", n)
	}
	if err := p.lock(ctx); err != nil {
		return protocol.DaBitTriple{}, err
	}
	defer p.mu.Unlock()
	t := protocol.DaBitTriple{Binary: make([]uint64, 0, n), Arith: sharing.Zeros(n), B: sharing.Zeros(n), C: sharing.Zeros(n)}
	for done := 0; done < n; {
		m := min(64*maxDaBitTripleWords, n-done)
		z, b, c, err := p.daBitTripleBatch(ctx, (m+63)/64)
		if err != nil {
			return protocol.DaBitTriple{}, fmt.Errorf("ot: daBit triples: %w", err)
		}
		for k := range m {
			t.Binary = append(t.Binary, z[k]&1)
		}
		copy(t.Arith.Data[done:], z[:m])
		copy(t.B.Data[done:], b[:m])
		copy(t.C.Data[done:], c[:m])
		done += m
	}
	return t, nil
}

// daBitTripleBatch returns this party's additive shares of 64w daBits
// z = r_0 ^ ... ^ r_{N-1}, of a uniform B = sum_i B_i (B_i its own) and of
// C = z B. It is the daBit fold carrying C along: from z = C = 0, for
// t = 0..N-1 with L_t the party at position t of the batch's order,
//
//	z <- z + r_{L_t} - 2 z r_{L_t},  C <- C + r_{L_t} (B - 2C),
//
// which keeps C = z B. Both products have the private bit r_{L_t} as one
// factor: every other party k shares its part, z_k r_{L_t} and
// (B_k - 2 C_k) r_{L_t}, by a correlated OT of a 64-bit string in which L_t
// chooses with r_{L_t} (Gilboa's product of a value by a bit, as for daBits;
// the z part only from the parties ahead of L_t, the others' z shares being
// zero), and L_t adds its own part r_{L_t} (B_{L_t} - 2 C_{L_t}) locally. So
// each party is the receiver of 2 * 64w OTs from every peer (choices r twice)
// and the sender of as many; the corrections travel in N steps, a step's after
// the one before. Every correction is padded by the unchosen OT output, as for
// daBits, and the u rows by the extension; the low bit of party i's share of z
// is r_i, as for daBits.
func (p *Party) daBitTripleBatch(ctx context.Context, w int) (z, b, c []uint64, err error) {
	n := 64 * w
	r := p.private(w)
	b = p.private(n)
	bit := func(k int) uint64 { return (r[k>>6] >> uint(k&63)) & 1 }
	order, pos := p.foldOrder()
	me := pos[p.self]
	peers := make([]int, 0, p.n-1)
	for _, q := range order {
		if q != p.self {
			peers = append(peers, q)
		}
	}
	choices := append(append(make([]uint64, 0, 2*w), r...), r...)
	xc, recvBatch, err := p.extendAsReceiver(ctx, peers, choices, outWords, "daBit triple extension matrix")
	if err != nil {
		return nil, nil, nil, err
	}
	x0, x1, sendBatch, err := p.extendAsSender(ctx, peers, 2*w, outWords, "daBit triple extension matrix")
	if err != nil {
		return nil, nil, nil, err
	}
	z, c = make([]uint64, n), make([]uint64, n)
	for t := range p.n {
		j := order[t]
		if j != p.self {
			// Sender towards j: correlations z (when ahead of j) and B - 2C.
			var e []uint64
			if me < t {
				e = make([]uint64, 0, 2*n)
				for k := range n {
					e = append(e, z[k]+x0[j][k]-x1[j][k])
					z[k] += 2 * x0[j][k]
				}
			} else {
				e = make([]uint64, 0, n)
			}
			for k := range n {
				e = append(e, b[k]-2*c[k]+x0[j][n+k]-x1[j][n+k])
				c[k] -= x0[j][n+k]
			}
			if err := p.sendWords(ctx, j, tagE, sendBatch[j], e, "daBit triple correction"); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		// Receiver at our own step: our share of z is still 0.
		prodZ, prodC := make([]uint64, n), make([]uint64, n)
		for _, q := range peers {
			ahead := pos[q] < t
			words := n
			if ahead {
				words = 2 * n
			}
			e, err := p.recvWords(ctx, q, tagE, recvBatch[q], words, "daBit triple correction")
			if err != nil {
				return nil, nil, nil, err
			}
			off := 0
			if ahead {
				for k := range n {
					prodZ[k] += xc[q][k] + bit(k)*e[k]
				}
				off = n
			}
			for k := range n {
				prodC[k] += xc[q][n+k] + bit(k)*e[off+k]
			}
		}
		for k := range n {
			rk := bit(k)
			z[k] = rk - 2*prodZ[k]
			c[k] += rk*(b[k]-2*c[k]) + prodC[k]
		}
	}
	return z, b, c, nil
}

// foldOrder returns the order of the parties in the next daBit batch and each
// party's position in it: a rotation by the batches made so far, so that every
// party is first (only sending corrections) and last (a receiver from all) in
// turn and the traffic is balanced. All parties make the same batches in the
// same order, so they agree on it.
func (p *Party) foldOrder() (order, pos []int) {
	rot := int(p.daBitBatches % uint64(p.n))
	p.daBitBatches++
	order, pos = make([]int, p.n), make([]int, p.n)
	for t := range order {
		order[t] = (rot + t) % p.n
		pos[order[t]] = t
	}
	return order, pos
}

// truncBitWidth is how many low bits of daBit j of a truncation pair's element
// matter, for a pair of bits below top with its MSB at top-1: 2^j b_j in R
// needs 64-j, 2^(j-f) b_j in RShifted 64-j+f, and the MSB all 64.
func truncBitWidth(j, f, top int) int {
	switch {
	case j == top-1:
		return 64
	case j >= f:
		return min(64, 64-j+f)
	}
	return 64 - j
}

// localTruncBits is the bit m below which the mask of a high pair
// (protocol.KindTruncHigh) is not made of daBits: each party adds its own
// uniform multiple T_i of 2^f below 2^m to its shares of R and, shifted, of
// RShifted. T = sum T_i stays below n 2^m <= 2^protocol.TruncHighSlackBits,
// so the shares of T >> f are exact (T's sum never wraps) and T only shifts
// the value the engine truncates, within the slack its bound leaves for it;
// R = T + H (H the daBits' part, a uniform multiple of 2^m) is still uniform
// among the multiples of 2^f to any n - 1 parties, through the last party's
// T_i below bit m and H above. The bits f..m-1 cost no daBits: 64 - m
// daBits per element (8 for 3 parties, 9 for 8) instead of 64 - f.
func localTruncBits(parties int) int {
	return protocol.TruncHighSlackBits - bits.Len(uint(parties-1))
}

// truncLayout is which daBits a kind of truncation material is made of: bits
// lo..top-1 of R, whose MSB is bit top-1.
type truncLayout struct {
	lo, top int
	xorBits bool // KindTruncSign: also RShifted's bits, XOR-shared
}

func layoutOf(kind protocol.Kind, fracBits, parties int) truncLayout {
	switch kind {
	case protocol.KindTruncHigh:
		return truncLayout{lo: max(fracBits, localTruncBits(parties)), top: 64}
	case protocol.KindTruncSign:
		return truncLayout{lo: fracBits, top: fracBits + 33, xorBits: true}
	}
	return truncLayout{lo: 0, top: 64}
}

// truncPair makes truncation material from top - lo daBits per element:
// R = sum_{j=lo}^{top-1} 2^j b_j, RShifted = sum_{j=max(lo,f)}^{top-2}
// 2^(j-f) b_j and RMSB = b_{top-1}, all linear in the additive shares of the
// bits, hence exact. A pair (protocol.KindTrunc) is all 64 bits; its high
// part (protocol.KindTruncHigh) the bits max(f, m)..63 (m = localTruncBits),
// plus each party's own T_i between 2^f and 2^m, R a multiple of 2^f; a sign
// pair (protocol.KindTruncSign) the bits f..f+32, with the XOR shares of
// RShifted's bits (the low bits of the daBits' shares) as a fourth part.
func (p *Party) truncPair(ctx context.Context, shape []int, fracBits int, kind protocol.Kind) ([]sharing.Tensor, error) {
	lay := layoutOf(kind, fracBits, p.n)
	if fracBits < 1 || fracBits > 61 || lay.top > 64 {
		return nil, fmt.Errorf("ot: %s by %d bits is out of range", kind, fracBits)
	}
	size := 1
	for _, d := range shape {
		if d < 0 || d > protocol.MaxMessageElements || size*d > protocol.MaxMessageElements/64 {
			return nil, fmt.Errorf("ot: truncation pair of shape %v is out of range", shape)
		}
		size *= d
	}
	lo, top := lay.lo, lay.top
	per := top - lo
	shLo := max(lo, fracBits) // RShifted's lowest daBit
	if err := p.lock(ctx); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	var local []uint64 // a high pair's T_i, below 2^lo (see localTruncBits)
	if kind == protocol.KindTruncHigh && lo > fracBits {
		local = p.private(size)
		for i, w := range local {
			local[i] = w >> (64 - (lo - fracBits)) << fracBits
		}
	}
	parts := []sharing.Tensor{sharing.Zeros(shape...), sharing.Zeros(shape...), sharing.Zeros(shape...)}
	if lay.xorBits {
		parts = append(parts, sharing.Zeros(shape...))
	}
	// A batch holds whole elements: its size is a multiple of per. b[j-lo] is
	// the daBit of bit j.
	fold := func(from int, bits []uint64) {
		for e := range len(bits) / per {
			b := bits[per*e : per*e+per]
			var rv, sh, xor uint64
			for j := top - 1; j >= lo; j-- {
				rv = rv<<1 + b[j-lo]
			}
			rv <<= lo
			for j := top - 2; j >= shLo; j-- {
				sh = sh<<1 + b[j-lo]
				xor = xor<<1 | b[j-lo]&1 // the XOR shares: the low bits
			}
			sh <<= shLo - fracBits
			el := from/per + e
			if local != nil {
				rv += local[el]
				sh += local[el] >> fracBits
			}
			parts[0].Data[el], parts[1].Data[el], parts[2].Data[el] = rv, sh, b[top-1-lo]
			if lay.xorBits {
				parts[3].Data[el] = xor
			}
		}
	}
	if err := p.daBits(ctx, per*size, per, func(k int) int { return truncBitWidth(lo+k%per, fracBits, top) }, fold); err != nil {
		return nil, fmt.Errorf("ot: truncation pairs: %w", err)
	}
	return parts, nil
}
