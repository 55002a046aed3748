package he

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Kinds are the kinds of material the he source makes: the arithmetic ones, whose
// products pack well into ciphertexts. Binary material and truncation pairs come
// from protocol/ot.
var Kinds = []protocol.Kind{protocol.KindElementwise, protocol.KindMatrix, protocol.KindSquare, protocol.KindMask, protocol.KindMaskProduct}

// Fetch implements protocol.Source for the kinds in Kinds.
func (p *Party) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	switch req.Kind {
	case protocol.KindMatrix:
		return p.matrixTriple(ctx, req.M, req.K, req.N)
	case protocol.KindElementwise:
		return p.elementwiseTriple(ctx, req.Shape)
	case protocol.KindSquare:
		return p.squarePair(ctx, req.Shape)
	case protocol.KindMask:
		return p.mask(ctx, req.M, req.K)
	case protocol.KindMaskProduct:
		return p.maskProduct(ctx, req.X, req.Y)
	}
	return protocol.Material{}, fmt.Errorf("he: %s: %w", req.Kind, protocol.ErrUnservedKind)
}

// matrixTriple returns this party's shares of A (m x k), B (k x n) and
// C = A*B mod 2^64. Every party samples its own A_i and B_i; C is computed
// under the threshold key (see the package documentation).
func (p *Party) matrixTriple(ctx context.Context, m, k, n int) (protocol.Material, error) {
	if err := checkDims(m, k, n); err != nil {
		return protocol.Material{}, err
	}
	var t protocol.Material
	err := p.serve(ctx, "matrix triple", func(req uint64) error {
		a := p.operand(labelA, req, m*k)
		b := p.operand(labelB, req, k*n)
		c, err := p.matMul(ctx, req, a, b, m, k, n)
		if err != nil {
			return err
		}
		t = parts(mustTensor(a, m, k), mustTensor(b, k, n), mustTensor(c, m, n))
		return nil
	})
	return t, err
}

// elementwiseTriple returns this party's shares of A, B and C = A ⊙ B.
func (p *Party) elementwiseTriple(ctx context.Context, shape []int) (protocol.Material, error) {
	size, err := checkShape(shape)
	if err != nil {
		return protocol.Material{}, err
	}
	var t protocol.Material
	err = p.serve(ctx, "element-wise triple", func(req uint64) error {
		a := p.operand(labelA, req, size)
		b := p.operand(labelB, req, size)
		c, err := p.hadamard(ctx, req, a, b)
		if err != nil {
			return err
		}
		t = parts(mustTensor(a, shape...), mustTensor(b, shape...), mustTensor(c, shape...))
		return nil
	})
	return t, err
}

// squarePair returns this party's shares of A and A ⊙ A: the element-wise
// protocol with each party's plaintext operand its own share of A, so the
// product is A * sum_j A_j = A^2.
func (p *Party) squarePair(ctx context.Context, shape []int) (protocol.Material, error) {
	size, err := checkShape(shape)
	if err != nil {
		return protocol.Material{}, err
	}
	var sp protocol.Material
	err = p.serve(ctx, "square pair", func(req uint64) error {
		a := p.operand(labelA, req, size)
		c, err := p.hadamard(ctx, req, a, a)
		if err != nil {
			return err
		}
		sp = parts(mustTensor(a, shape...), mustTensor(c, shape...))
		return nil
	})
	return sp, err
}

// mask returns this party's share of a uniform rows x cols mask, to be opened
// once and used in many products (protocol.Engine.MaskMatrices). The share is
// sampled locally (the sum of independent uniform shares is uniform): no
// communication. Its ID is the request's number in the session.
func (p *Party) mask(ctx context.Context, rows, cols int) (protocol.Material, error) {
	if rows < 0 || cols < 0 || int64(rows)*int64(cols) > protocol.MaxMessageElements {
		return protocol.Material{}, fmt.Errorf("he: mask %dx%d is out of range", rows, cols)
	}
	var ms protocol.Material
	err := p.serve(ctx, "matrix mask", func(req uint64) error {
		ms = protocol.Material{ID: req, Parts: []sharing.Tensor{mustTensor(p.operand(labelA, req, rows*cols), rows, cols)}}
		if p.masks == nil {
			p.masks = map[uint64][2]int{}
		}
		p.masks[req] = [2]int{rows, cols}
		return nil
	})
	return ms, err
}

// maskProduct returns this party's share of op(X)*op(Y) for two masks made by
// earlier mask requests of this session: the matrix-triple protocol with the
// parties' mask shares as operands.
func (p *Party) maskProduct(ctx context.Context, x, y protocol.MaskRef) (protocol.Material, error) {
	var c protocol.Material
	err := p.serve(ctx, "mask product", func(req uint64) error {
		a, b, m, k, n, err := p.maskProductOperands(x, y)
		if err != nil {
			return err
		}
		out, err := p.matMul(ctx, req, a, b, m, k, n)
		if err != nil {
			return err
		}
		c = parts(mustTensor(out, m, n))
		return nil
	})
	return c, err
}

// maskProductOperands returns this party's shares of op(X) (m x k) and op(Y)
// (k x n), row-major, for two masks made by earlier requests.
func (p *Party) maskProductOperands(x, y protocol.MaskRef) (a, b []uint64, m, k, n int, err error) {
	var ops [2][]uint64
	var dims [2][2]int
	for i, r := range []protocol.MaskRef{x, y} {
		d, ok := p.masks[r.ID]
		if !ok || d != [2]int{r.Rows, r.Cols} {
			return nil, nil, 0, 0, 0, fmt.Errorf("no %dx%d mask with ID %d in this session", r.Rows, r.Cols, r.ID)
		}
		if ops[i], dims[i], err = p.maskOperand(r); err != nil {
			return nil, nil, 0, 0, 0, err
		}
		if r.Trans {
			ops[i] = transpose(ops[i], dims[i][0], dims[i][1])
			dims[i] = [2]int{dims[i][1], dims[i][0]}
		}
	}
	m, k, n = dims[0][0], dims[0][1], dims[1][1]
	if dims[1][0] != k {
		return nil, nil, 0, 0, 0, fmt.Errorf("mask product of %dx%d and %dx%d", m, k, dims[1][0], n)
	}
	if err := checkDims(m, k, n); err != nil {
		return nil, nil, 0, 0, 0, err
	}
	return ops[0], ops[1], m, k, n, nil
}

// serve numbers and runs one request, and poisons the party on failure.
func (p *Party) serve(ctx context.Context, kind string, fn func(req uint64) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return fmt.Errorf("he: %s: source unusable after an earlier failure: %w", kind, p.failed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("he: %s: %w", kind, err)
	}
	req := p.nextReq
	p.nextReq++
	if err := fn(req); err != nil {
		p.failed = fmt.Errorf("request %d (%s): %w", req, kind, err)
		return fmt.Errorf("he: %w", p.failed)
	}
	return nil
}

// operand expands this party's share of an operand of request req.
func (p *Party) operand(label string, req uint64, n int) []uint64 {
	v := make([]uint64, n)
	sharing.NewPRG(p.seeds[label], req).Fill(v)
	return v
}

// reserve accounts for masked coefficients before any is masked.
func (p *Party) reserve(coeffs int) error {
	if p.masked+uint64(coeffs) > MaxMaskedCoefficients {
		return fmt.Errorf("the session has masked %d coefficients; %d more exceed the bound 2^%d of the statistical argument: run Setup again",
			p.masked, coeffs, StatLambda-40)
	}
	p.masked += uint64(coeffs)
	return nil
}

// matMul returns this party's share of A*B given its shares a (m x k) and
// b (k x n).
func (p *Party) matMul(ctx context.Context, req uint64, a, b []uint64, m, k, n int) ([]uint64, error) {
	if m == 0 || k == 0 || n == 0 {
		return make([]uint64, m*n), nil // C = 0: every party's share is 0
	}
	l, err := chooseMatLayout(m, k, n, p.np, p.commWeight)
	if err != nil {
		return nil, err
	}
	return p.matMulWith(ctx, req, l, a, b)
}

// matMulWith runs a matrix product with the given layout.
func (p *Party) matMulWith(ctx context.Context, req uint64, l matLayout, a, b []uint64) ([]uint64, error) {
	if l.transposed {
		a, b = transpose(b, l.k, l.m), transpose(a, l.n, l.k) // C^T = B^T A^T: the layout's m is n
	}
	out := make([]uint64, l.m*l.n)
	if err := p.reserve(l.m * l.n * l.ng); err != nil {
		return nil, err
	}
	step := l.rowBlocksPerChunk()
	for ib, chunk := 0, uint32(0); ib < l.mb; ib, chunk = ib+step, chunk+1 {
		pl := l.plan(a, b, ib, min(l.mb, ib+step))
		if err := p.run(ctx, req, chunk, pl, out); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", chunk, err)
		}
	}
	if l.transposed {
		out = transpose(out, l.m, l.n)
	}
	return out, nil
}

// hadamard returns this party's share of A ⊙ B given its shares a and b.
func (p *Party) hadamard(ctx context.Context, req uint64, a, b []uint64) ([]uint64, error) {
	out := make([]uint64, len(a))
	if len(a) == 0 {
		return out, nil
	}
	if logXBound(p.np, 1, float64(ElementwiseSlots)) > maxLogX(p.np) {
		return nil, fmt.Errorf("%d parties exceed the noise budget of element-wise products", p.np)
	}
	if err := p.reserve(len(a)); err != nil {
		return nil, err
	}
	cts := ceilDiv(len(a), ElementwiseSlots)
	for c, chunk := 0, uint32(0); c < cts; c, chunk = c+elemCtsPerChunk(), chunk+1 {
		if err := p.run(ctx, req, chunk, elemPlan(a, b, c, min(cts, c+elemCtsPerChunk())), out); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", chunk, err)
		}
	}
	return out, nil
}

func transpose(x []uint64, rows, cols int) []uint64 {
	y := make([]uint64, len(x))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			y[j*rows+i] = x[i*cols+j]
		}
	}
	return y
}

func parts(t ...sharing.Tensor) protocol.Material { return protocol.Material{Parts: t} }

func mustTensor(data []uint64, shape ...int) sharing.Tensor {
	t, err := sharing.FromData(data, shape...)
	if err != nil {
		panic(err) // unreachable: sizes are computed from the shape
	}
	return t
}

func checkDims(m, k, n int) error {
	for _, d := range []int{m, k, n} {
		if d < 0 || d > protocol.MaxMessageElements {
			return fmt.Errorf("he: matrix triple %dx%dx%d: dimension out of range", m, k, n)
		}
	}
	if int64(m)*int64(k) > protocol.MaxMessageElements || int64(k)*int64(n) > protocol.MaxMessageElements ||
		int64(m)*int64(n) > protocol.MaxMessageElements {
		return fmt.Errorf("he: matrix triple %dx%dx%d is too large", m, k, n)
	}
	return nil
}

func checkShape(shape []int) (int, error) {
	size := int64(1)
	for _, d := range shape {
		if d < 0 || d > protocol.MaxMessageElements {
			return 0, fmt.Errorf("he: shape %v: dimension out of range", shape)
		}
		size *= int64(d)
		if size > protocol.MaxMessageElements {
			return 0, fmt.Errorf("he: shape %v is too large", shape)
		}
	}
	return int(size), nil
}
