package he

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/protocol"
)

// Small products share ciphertexts. A product that fits one ciphertext alone
// (m*k*n + k - 1 <= N: one Cheetah block, a(X) of degree below
// Da = (m-1)*k*n + k, b(X) below Db = k*n, a*b below P = Da + Db - 1) fills a
// corner of it, and every ciphertext costs every party the same NTTs,
// re-randomisation and decryption share whatever it holds. FetchBatch packs
// the small mask products of a batch into shared ciphertexts: product j is
// placed with a_j shifted by X^(s_j) and b_j by X^(t_j), so the ciphertext
// encrypts sum_j X^(s_j) a_j and a party multiplies it by sum_j X^(t_j) b_j.
// Every pair (i, j) then lands at X^(s_i + t_j) a_i b_j; only the diagonal
// pairs are wanted, at their targets shifted by s_j + t_j. packBin chooses the
// shifts so that each product's whole span [s_j + t_j, s_j + t_j + P_j) lies
// beyond every cross term of the products before it and below every cross
// term it makes with them:
//
//	s_j >= E, t_j >= E            (E: the end of the previous products' spans)
//	s_j >= s_i + Da_i + Db_j - 1  (a_i b_j ends before s_j + t_j, i < j)
//	t_j >= t_i + Db_i + Da_j - 1  (a_j b_i ends before s_j + t_j, i < j)
//
// and the last span ends at or below N, so nothing wraps around X^N + 1.
// Cross terms land only between the spans and are never decrypted (only
// targets are, as for a single product). The noise bound of a shared
// ciphertext counts every product's plaintext coefficients (sum of k_j*n_j):
// the encryption noise meets all of them at every target.

// sharedPerChunk bounds the shared ciphertexts of one chunk (five exchanges):
// each holds four polynomials of every party (encryption, common reference,
// c1 and the party's own c0 part, 2 MiB) until the chunk ends, and with 8
// parties in one process 64 of them raised the cancer benchmark's peak memory
// from 247 to 428 MB. A variable so tests can force chunking.
var sharedPerChunk = 4

// smallProduct is one mask product of a batch, oriented and expanded: this
// party's shares a (m x k) and b (k x n), row-major.
type smallProduct struct {
	a, b    []uint64
	m, k, n int
}

func (sp smallProduct) da() int   { return (sp.m-1)*sp.k*sp.n + sp.k }
func (sp smallProduct) db() int   { return sp.k * sp.n }
func (sp smallProduct) span() int { return sp.da() + sp.db() - 1 }

// placement is where a product sits in a shared ciphertext.
type placement struct {
	prod int // index into the batch's small products
	s, t int // shifts of a and b
}

// sharedBin is one shared ciphertext: its products, the end of their spans,
// and the noise bound's inputs.
type sharedBin struct {
	placed     []placement
	end        int
	maxK, nnzB int
}

// place returns the shifts at which sp can join the bin (whose products are
// ps), and whether it fits the ring and the noise budget of np parties.
func (bin *sharedBin) place(ps []smallProduct, sp smallProduct, np int) (placement, bool) {
	s, t := bin.end, bin.end
	for _, pl := range bin.placed {
		q := ps[pl.prod]
		s = max(s, pl.s+q.da()+sp.db()-1)
		t = max(t, pl.t+q.db()+sp.da()-1)
	}
	if s+t+sp.span() > RingDegree {
		return placement{}, false
	}
	if logXBound(np, float64(max(bin.maxK, sp.k)), float64(bin.nnzB+sp.db())) > maxLogX(np) {
		return placement{}, false
	}
	return placement{s: s, t: t}, true
}

func (bin *sharedBin) add(pl placement, sp smallProduct) {
	bin.placed = append(bin.placed, pl)
	bin.end = pl.s + pl.t + sp.span()
	bin.maxK = max(bin.maxK, sp.k)
	bin.nnzB += sp.db()
}

// packBins places the products first-fit, in order, into shared ciphertexts.
// Every party computes the same bins from the same batch.
func packBins(ps []smallProduct, np int) ([]sharedBin, error) {
	var bins []sharedBin
	for i, sp := range ps {
		placed := false
		for b := range bins {
			if pl, ok := bins[b].place(ps, sp, np); ok {
				pl.prod = i
				bins[b].add(pl, sp)
				placed = true
				break
			}
		}
		if !placed {
			bin := sharedBin{}
			pl, ok := bin.place(ps, sp, np)
			if !ok {
				return nil, fmt.Errorf("a %dx%dx%d product does not fit a ciphertext alone", sp.m, sp.k, sp.n)
			}
			pl.prod = i
			bin.add(pl, sp)
			bins = append(bins, bin)
		}
	}
	return bins, nil
}

// sharedPlan is the plan of bins [b0, b1): one encryption, one plaintext and
// one output per bin. Output shares go to out[offset[j] + r*n + c] for entry
// (r, c) of product j.
func sharedPlan(ps []smallProduct, bins []sharedBin, offset []int) *plan {
	pl := &plan{nEnc: len(bins)}
	pl.fillEnc = func(e int, dst []uint64) {
		for _, p := range bins[e].placed {
			sp := ps[p.prod]
			for i := 0; i < sp.m; i++ {
				copy(dst[p.s+i*sp.k*sp.n:p.s+i*sp.k*sp.n+sp.k], sp.a[i*sp.k:(i+1)*sp.k])
			}
		}
	}
	for e, bin := range bins {
		spec := outSpec{terms: []term{{enc: e, plain: 0}}}
		for _, p := range bin.placed {
			pl.plainDeg = max(pl.plainDeg, p.t+ps[p.prod].db())
			sp := ps[p.prod]
			for i := 0; i < sp.m; i++ {
				for c := 0; c < sp.n; c++ {
					spec.targets = append(spec.targets, p.s+p.t+i*sp.k*sp.n+c*sp.k+sp.k-1)
					spec.dst = append(spec.dst, offset[p.prod]+i*sp.n+c)
				}
			}
		}
		fill := func(_ int, dst []uint64) {
			for _, p := range bin.placed {
				sp := ps[p.prod]
				for kk := 0; kk < sp.k; kk++ {
					for c := 0; c < sp.n; c++ {
						dst[p.t+c*sp.k+sp.k-1-kk] = sp.b[kk*sp.n+c]
					}
				}
			}
		}
		pl.groups = append(pl.groups, group{nPlain: 1, fill: fill, outs: []int{len(pl.outs)}})
		pl.outs = append(pl.outs, spec)
	}
	return pl
}

// FetchBatch serves several requests at once (protocol.BatchSource): the mask
// products small enough to share ciphertexts are packed together and made in
// one run of five exchanges; every other request is served as Fetch would,
// in order, before them. Mask products may only name masks made by earlier
// requests (protocol.Pipeline fetches a batch's masks first).
func (p *Party) FetchBatch(ctx context.Context, reqs []protocol.Request) ([]protocol.Material, error) {
	out := make([]protocol.Material, len(reqs))
	var small []int
	for i, req := range reqs {
		if p.Batchable(req) {
			small = append(small, i)
			continue
		}
		m, err := p.Fetch(ctx, req)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	if len(small) == 0 {
		return out, nil
	}
	err := p.serve(ctx, "packed mask products", func(req uint64) error {
		ps := make([]smallProduct, len(small))
		for j, i := range small {
			a, b, m, k, n, err := p.maskProductOperands(reqs[i].X, reqs[i].Y)
			if err != nil {
				return fmt.Errorf("product %d of the batch: %w", i, err)
			}
			ps[j] = smallProduct{a: a, b: b, m: m, k: k, n: n}
		}
		shares, err := p.sharedProducts(ctx, req, ps)
		if err != nil {
			return err
		}
		for j, i := range small {
			out[i] = parts(mustTensor(shares[j], ps[j].m, ps[j].n))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Batchable implements protocol.BatchSource: the mask products that
// FetchBatch packs into shared ciphertexts.
func (p *Party) Batchable(req protocol.Request) bool {
	return req.Kind == protocol.KindMaskProduct && packable(req, p.np)
}

// packable reports whether a mask product is small enough to share a
// ciphertext: one block without wrap-around, within the noise budget of np
// parties. Unfolded (convolution) operands take the ordinary path.
func packable(req protocol.Request, np int) bool {
	if !req.X.Unfold.IsZero() || !req.Y.Unfold.IsZero() {
		return false
	}
	m, k := req.X.Rows, req.X.Cols
	if req.X.Trans {
		m, k = k, m
	}
	n := req.Y.Cols
	if req.Y.Trans {
		n = req.Y.Rows
	}
	if m < 1 || k < 1 || n < 1 || m > RingDegree || k > RingDegree || n > RingDegree {
		return false
	}
	if int64(m)*int64(k)*int64(n)+int64(k)-1 > RingDegree {
		return false
	}
	return logXBound(np, float64(k), float64(k*n)) <= maxLogX(np)
}

// sharedProducts returns this party's shares of the products ps, packed into
// shared ciphertexts.
func (p *Party) sharedProducts(ctx context.Context, req uint64, ps []smallProduct) ([][]uint64, error) {
	offset := make([]int, len(ps))
	total := 0
	for j, sp := range ps {
		offset[j] = total
		total += sp.m * sp.n
	}
	if err := p.reserve(total); err != nil {
		return nil, err
	}
	bins, err := packBins(ps, p.np)
	if err != nil {
		return nil, err
	}
	flat := make([]uint64, total)
	for b0, chunk := 0, uint32(0); b0 < len(bins); b0, chunk = b0+sharedPerChunk, chunk+1 {
		if err := p.run(ctx, req, chunk, sharedPlan(ps, bins[b0:min(len(bins), b0+sharedPerChunk)], offset), flat); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", chunk, err)
		}
	}
	shares := make([][]uint64, len(ps))
	for j, sp := range ps {
		shares[j] = flat[offset[j] : offset[j]+sp.m*sp.n]
	}
	return shares, nil
}
