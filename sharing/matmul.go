package sharing

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Matrix products over Z_2^64.
//
// Large products use the packed-panel scheme of Goto and BLIS: B is copied once
// into column panels nr words wide, laid out step by step along k and cut into
// blocks of kc steps; a register-blocked micro-kernel then adds an mr x nr tile
// of A*B into C, reading one panel block many times while it sits in L1. Rows
// of C are dealt out in chunks to at most GOMAXPROCS goroutines; products
// smaller than about a million multiply-adds (or a hundred thousand for the
// portable kernel) stay on the calling goroutine, and tiny products, vector
// products and matrix-vector products skip packing altogether (gemmSmall).
//
// There are two micro-kernels, selected once from the CPU features:
//
//   - With AVX-512 (F and DQ), gemmKernel4x16 in assembly keeps a 4 x 16 tile
//     in eight 8-lane ZMM accumulators (VPMULLQ, VPADDQ) and reads A in place
//     through its strides, so only B is copied; it also masks the columns and
//     rows of partial tiles, so no edge needs special code.
//   - Otherwise kernel2x2, in Go, keeps a 2 x 2 tile in four registers with k
//     unrolled twice, and both operands are packed.
//
// Both compute exactly the same wrapping sums. Transposed operands are handled
// by strides (operand), never by materialising a transpose.

// useAVX512 selects the AVX-512 micro-kernel; it is false when the CPU or the
// build lacks it. Tests clear it to exercise the portable kernel.
var useAVX512 = haveAVX512

// Paths for matMulPath.
const (
	pathAuto   = iota // decide from the shape (useSmall)
	pathSmall         // always the plain loops
	pathPacked        // always packing and micro-kernels
)

// Knobs, variables so that tests can push every shape through every path.
var (
	matMulPath = pathAuto
	// matMulWorkers, when positive, forces that many workers (at most one
	// per row tile) regardless of GOMAXPROCS and of the size of the product.
	matMulWorkers = 0
)

const (
	// Blocking: mr x nr register tiles, kc steps of k per panel block, and
	// at most mc rows of C per chunk of work (a multiple of mr).
	avxMR, avxNR, avxKC, avxMC = 4, 16, 256, 128
	goMR, goNR, goKC, goMC     = 2, 2, 256, 32

	// Products of at least this many multiply-adds are split among workers
	// (about 45µs of work for either kernel, well above the cost of waking
	// a goroutine).
	avxParallelMin = 1 << 20
	goParallelMin  = 1 << 17

	// chunksPerWorker is how many chunks of rows each worker gets on average
	// when a product is split: enough for a worker whose core is busy to be
	// relieved by the others, few enough that each chunk reuses B well.
	chunksPerWorker = 2
)

// useSmall reports whether an m x k x n product is better done by gemmSmall.
// Packing B costs about as much per word as a few multiply-adds, and is only
// repaid when each packed word serves several rows of A.
func useSmall(m, k, n int, avx bool) bool {
	switch matMulPath {
	case pathSmall:
		return true
	case pathPacked:
		return false
	}
	if m == 1 || n == 1 {
		return true
	}
	if avx {
		return m*k*n <= 256
	}
	return m < 8 || m*k*n <= 1<<14
}

// MatMul returns the ring product a*b of an m x k and a k x n matrix.
func MatMul(a, b Tensor) Tensor {
	m, k := matDims("MatMul", a)
	k2, n := matDims("MatMul", b)
	if k != k2 {
		panic(fmt.Sprintf("sharing: MatMul of %v and %v", a.Shape, b.Shape))
	}
	out := Zeros(m, n)
	gemm(out.Data, n, m, k, n, operand{a.Data, k, 1}, operand{b.Data, n, 1})
	return out
}

// MatMulOp returns op(a)·op(b), where op transposes when asked, without
// materialising a transpose.
func MatMulOp(a Tensor, transA bool, b Tensor, transB bool) Tensor {
	ar, ac := matDims("MatMulOp", a)
	br, bc := matDims("MatMulOp", b)
	m, k, opA := ar, ac, operand{a.Data, ac, 1}
	if transA {
		m, k, opA = ac, ar, operand{a.Data, 1, ac}
	}
	k2, n, opB := br, bc, operand{b.Data, bc, 1}
	if transB {
		k2, n, opB = bc, br, operand{b.Data, 1, bc}
	}
	if k != k2 {
		panic(fmt.Sprintf("sharing: MatMulOp of %v (transposed %v) and %v (transposed %v)", a.Shape, transA, b.Shape, transB))
	}
	out := Zeros(m, n)
	gemm(out.Data, n, m, k, n, opA, opB)
	return out
}

// MatMulTransA returns a^T * b for a k x m matrix a and a k x n matrix b,
// without materialising the transpose.
func MatMulTransA(a, b Tensor) Tensor {
	k, m := matDims("MatMulTransA", a)
	k2, n := matDims("MatMulTransA", b)
	if k != k2 {
		panic(fmt.Sprintf("sharing: MatMulTransA of %v and %v", a.Shape, b.Shape))
	}
	out := Zeros(m, n)
	gemm(out.Data, n, m, k, n, operand{a.Data, 1, m}, operand{b.Data, n, 1})
	return out
}

// MatMulTransB returns a * b^T for an m x k matrix a and an n x k matrix b,
// without materialising the transpose.
func MatMulTransB(a, b Tensor) Tensor {
	m, k := matDims("MatMulTransB", a)
	n, k2 := matDims("MatMulTransB", b)
	if k != k2 {
		panic(fmt.Sprintf("sharing: MatMulTransB of %v and %v", a.Shape, b.Shape))
	}
	out := Zeros(m, n)
	gemm(out.Data, n, m, k, n, operand{a.Data, k, 1}, operand{b.Data, 1, k})
	return out
}

// matMulAdd sets c += a*b with a m x k, b k x n, c m x n, all row-major.
func matMulAdd(c, a, b []uint64, m, k, n int) {
	if len(a) != m*k || len(b) != k*n || len(c) != m*n {
		panic(fmt.Sprintf("sharing: matMulAdd of %d x %d x %d with lengths %d, %d, %d", m, k, n, len(a), len(b), len(c)))
	}
	gemm(c, n, m, k, n, operand{a, k, 1}, operand{b, n, 1})
}

// matDims returns the dimensions of a matrix and checks that its data matches
// its shape: the assembly kernel trusts the shapes, so a short Data slice must
// never get that far.
func matDims(op string, t Tensor) (rows, cols int) {
	rows, cols = t.Rows(), t.Cols()
	if rows < 0 || cols < 0 || len(t.Data) != rows*cols {
		panic(fmt.Sprintf("sharing: %s of a tensor of shape %v with %d elements", op, t.Shape, len(t.Data)))
	}
	return rows, cols
}

// operand is a strided view of a matrix: element (r, c) is d[r*rs+c*cs].
type operand struct {
	d      []uint64
	rs, cs int
}

// gemm sets C += A*B for the m x k matrix A, the k x n matrix B and the m x n
// matrix C whose element (i, j) is c[i*ldc+j].
func gemm(c []uint64, ldc, m, k, n int, a, b operand) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	if a.rs < 0 || a.cs < 0 || b.rs < 0 || b.cs < 0 || ldc < n ||
		(m-1)*ldc+n > len(c) ||
		(m-1)*a.rs+(k-1)*a.cs >= len(a.d) ||
		(k-1)*b.rs+(n-1)*b.cs >= len(b.d) {
		panic(fmt.Sprintf("sharing: gemm of %d x %d x %d out of bounds", m, k, n))
	}
	avx := useAVX512
	if useSmall(m, k, n, avx) {
		gemmSmall(c, ldc, m, k, n, a, b)
		return
	}
	mr, nr, kc, mc, parMin := goMR, goNR, goKC, goMC, goParallelMin
	if avx {
		mr, nr, kc, mc, parMin = avxMR, avxNR, avxKC, avxMC, avxParallelMin
	}
	np := (n + nr - 1) / nr    // column panels
	tiles := (m + mr - 1) / mr // row tiles
	nw := 1
	switch {
	case matMulWorkers > 0:
		nw = min(matMulWorkers, tiles)
	case m*k*n >= parMin:
		nw = min(runtime.GOMAXPROCS(0), tiles)
	}
	// Rows of C are dealt out in chunks of whole tiles, a few per worker, from
	// a shared counter: on a busy machine a worker whose core is taken does
	// fewer chunks instead of holding everybody up.
	chunk := mc
	if nw > 1 {
		chunk = min(mc, mr*((tiles+nw*chunksPerWorker-1)/(nw*chunksPerWorker)))
	}
	nchunks := (m + chunk - 1) / chunk

	// B is packed once, panel by panel, by all the workers; block pc of kcb
	// steps of panel jp starts at pc*np*nr + jp*kcb*nr and holds kcb rows of
	// nr words, zero beyond column n.
	bp := getBuf(np * nr * k)
	bt := operand{b.d, b.cs, b.rs} // B^T, whose rows are B's columns
	var nextPanel, nextChunk atomic.Int64
	var packed sync.WaitGroup
	packed.Add(np)
	work := func() {
		for {
			jp := int(nextPanel.Add(1) - 1)
			if jp >= np {
				break
			}
			j := jp * nr
			for pc := 0; pc < k; pc += kc {
				kcb := min(kc, k-pc)
				off := pc*np*nr + jp*kcb*nr
				pack(bp[off:off+kcb*nr], bt, j, min(nr, n-j), pc, kcb, nr)
			}
			packed.Done()
		}
		packed.Wait()
		var ap []uint64
		if !avx {
			ap = getBuf(chunk * min(kc, k))
			defer putBuf(ap)
		}
		for {
			ch := int(nextChunk.Add(1) - 1)
			if ch >= nchunks {
				return
			}
			i0, i1 := ch*chunk, min((ch+1)*chunk, m)
			if avx {
				gemmRowsAVX512(c, ldc, i0, i1, k, n, a, bp, np)
			} else {
				gemmRowsGo(c, ldc, i0, i1, k, n, a, bp, np, ap)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < nw; w++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
	putBuf(bp)
}

// gemmRowsAVX512 adds rows [i0, i1) of A*B into C with the assembly kernel.
// A is read in place; only a final partial tile of fewer than 4 rows is
// copied, zero-padded, into a small buffer.
func gemmRowsAVX512(c []uint64, ldc, i0, i1, k, n int, a operand, bp []uint64, np int) {
	const mr, nr = avxMR, avxNR
	var edge []uint64
	sai, sap, ldcb := uintptr(a.rs)*8, uintptr(a.cs)*8, uintptr(ldc)*8
	for ic := i0; ic < i1; ic += avxMC {
		mc := min(avxMC, i1-ic)
		full := mc / mr * mr
		for pc := 0; pc < k; pc += avxKC {
			kcb := min(avxKC, k-pc)
			if full < mc {
				if edge == nil {
					edge = make([]uint64, mr*avxKC)
				}
				pack(edge[:mr*kcb], a, ic+full, mc-full, pc, kcb, mr)
			}
			for jp := 0; jp < np; jp++ {
				j := jp * nr
				mask := uint64(1)<<min(nr, n-j) - 1
				off := pc*np*nr + jp*kcb*nr
				panel := &bp[off : off+kcb*nr][0]
				for t := 0; t < full; t += mr {
					i := ic + t
					gemmKernel4x16(kcb, &a.d[i*a.rs+pc*a.cs], sai, sap, panel, &c[i*ldc+j], ldcb, mr, mask)
				}
				if full < mc {
					i := ic + full
					gemmKernel4x16(kcb, &edge[0], 8, mr*8, panel, &c[i*ldc+j], ldcb, mc-full, mask)
				}
			}
		}
	}
}

// gemmRowsGo adds rows [i0, i1) of A*B into C with the portable kernel.
//
// ap is scratch space for packing A, of at least r*min(goKC, k) words where r
// is i1-i0 rounded up to a multiple of goMR, or goMC if that is less.
func gemmRowsGo(c []uint64, ldc, i0, i1, k, n int, a operand, bp []uint64, np int, ap []uint64) {
	const mr, nr = goMR, goNR
	var tile [mr * nr]uint64
	for ic := i0; ic < i1; ic += goMC {
		mc := min(goMC, i1-ic)
		for pc := 0; pc < k; pc += goKC {
			kcb := min(goKC, k-pc)
			for t := 0; t*mr < mc; t++ {
				pack(ap[t*mr*kcb:(t+1)*mr*kcb], a, ic+t*mr, min(mr, mc-t*mr), pc, kcb, mr)
			}
			for jp := 0; jp < np; jp++ {
				j := jp * nr
				nv := min(nr, n-j)
				off := pc*np*nr + jp*kcb*nr
				panel := bp[off : off+kcb*nr]
				for t := 0; t*mr < mc; t++ {
					i := ic + t*mr
					mv := min(mr, mc-t*mr)
					apan := ap[t*mr*kcb : (t+1)*mr*kcb]
					if mv == mr && nv == nr {
						kernel2x2(kcb, apan, panel, c[i*ldc+j:], ldc)
						continue
					}
					tile = [mr * nr]uint64{}
					kernel2x2(kcb, apan, panel, tile[:], nr)
					for ii := range mv {
						for jj := range nv {
							c[(i+ii)*ldc+j+jj] += tile[ii*nr+jj]
						}
					}
				}
			}
		}
	}
}

// kernel2x2 adds the 2 x 2 product of a packed 2 x kc block of A (a[2p+i])
// and a packed kc x 2 panel of B (b[2p+j]) to c[0:2] and c[ldc:ldc+2].
func kernel2x2(kc int, a, b, c []uint64, ldc int) {
	a = a[:2*kc]
	b = b[:2*kc]
	var c00, c01, c10, c11 uint64
	p := 0
	for ; p+4 <= len(a); p += 4 {
		aa := a[p : p+4 : p+4]
		bb := b[p : p+4 : p+4]
		c00 += aa[0]*bb[0] + aa[2]*bb[2]
		c01 += aa[0]*bb[1] + aa[2]*bb[3]
		c10 += aa[1]*bb[0] + aa[3]*bb[2]
		c11 += aa[1]*bb[1] + aa[3]*bb[3]
	}
	if p+2 <= len(a) {
		aa := a[p : p+2 : p+2]
		bb := b[p : p+2 : p+2]
		c00 += aa[0] * bb[0]
		c01 += aa[0] * bb[1]
		c10 += aa[1] * bb[0]
		c11 += aa[1] * bb[1]
	}
	r := c[:2]
	r[0] += c00
	r[1] += c01
	r = c[ldc : ldc+2]
	r[0] += c10
	r[1] += c11
}

// pack copies a block of x into dst, interleaved: dst[q*w+r] = x(r0+r, c0+q)
// for r < rows and q < cols, and dst[q*w+r] = 0 for rows <= r < w. Every word
// of dst[:cols*w] is written.
func pack(dst []uint64, x operand, r0, rows, c0, cols, w int) {
	dst = dst[:cols*w]
	switch {
	case x.rs == 1 && rows == w && w == 16:
		// Column q of the block is 16 consecutive words.
		for q := range cols {
			base := r0 + (c0+q)*x.cs
			*(*[16]uint64)(dst[q*16:]) = [16]uint64(x.d[base : base+16])
		}
		return
	case x.rs == 1:
		for q := range cols {
			base := r0 + (c0+q)*x.cs
			copy(dst[q*w:q*w+rows], x.d[base:base+rows])
		}
	case x.cs == 1 && rows == 2 && w == 2:
		// Two rows of consecutive words, interleaved.
		row0 := x.d[r0*x.rs+c0 : r0*x.rs+c0+cols]
		row1 := x.d[(r0+1)*x.rs+c0 : (r0+1)*x.rs+c0+cols]
		row1 = row1[:len(row0)]
		for q, v := range row0 {
			d := dst[2*q : 2*q+2 : 2*q+2]
			d[0], d[1] = v, row1[q]
		}
		return
	case x.cs == 1:
		for r := range rows {
			row := x.d[(r0+r)*x.rs+c0 : (r0+r)*x.rs+c0+cols]
			for q, v := range row {
				dst[q*w+r] = v
			}
		}
	default:
		for q := range cols {
			for r := range rows {
				dst[q*w+r] = x.d[(r0+r)*x.rs+(c0+q)*x.cs]
			}
		}
	}
	if rows < w {
		for q := range cols {
			clear(dst[q*w+rows : q*w+w])
		}
	}
}

// gemmSmall sets C += A*B with plain loops, for products too small to repay
// packing (and for matrix-vector products, which packing cannot speed up).
func gemmSmall(c []uint64, ldc, m, k, n int, a, b operand) {
	switch {
	case n == 1 && b.rs == 1 && a.cs == 1, b.cs != 1 && b.rs == 1 && a.cs == 1:
		// Rows of A against columns of B, both consecutive: dot products.
		for i := range m {
			ai := a.d[i*a.rs : i*a.rs+k]
			for j := range n {
				bj := b.d[j*b.cs : j*b.cs+k]
				bj = bj[:len(ai)]
				var s uint64
				for p, av := range ai {
					s += av * bj[p]
				}
				c[i*ldc+j] += s
			}
		}
	case b.cs == 1:
		// i-k-j: a row of B scaled into a row of C.
		for i := range m {
			ci := c[i*ldc : i*ldc+n]
			for p := range k {
				av := a.d[i*a.rs+p*a.cs]
				bp := b.d[p*b.rs : p*b.rs+n]
				bp = bp[:len(ci)]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			}
		}
	default:
		for i := range m {
			for j := range n {
				var s uint64
				for p := range k {
					s += a.d[i*a.rs+p*a.cs] * b.d[p*b.rs+j*b.cs]
				}
				c[i*ldc+j] += s
			}
		}
	}
}

// bufPools recycle packing buffers, which for the shapes of training are
// hundreds of kilobytes: allocating (and zeroing) them per product would cost
// a tenth of the product itself. Pool c holds buffers of capacity 1<<c, so
// that products of different sizes do not keep replacing each other's
// buffers. Buffers never leave a call, and their contents do not matter.
var bufPools [64]sync.Pool

func getBuf(n int) []uint64 {
	c := bits.Len(uint(n - 1))
	if p, ok := bufPools[c].Get().(*[]uint64); ok {
		return (*p)[:n]
	}
	return make([]uint64, n, 1<<c)
}

func putBuf(b []uint64) {
	c := bits.Len(uint(cap(b) - 1))
	if cap(b) == 1<<c {
		bufPools[c].Put(&b)
	}
}
