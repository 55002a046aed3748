package sharing

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refMatMul is the textbook triple loop: c = a*b for row-major a (m x k) and b (k x n).
func refMatMul(a, b []uint64, m, k, n int) []uint64 {
	c := make([]uint64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s uint64
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			c[i*n+j] = s
		}
	}
	return c
}

func randTensor(stream uint64, high bool, rows, cols int) Tensor {
	t := Zeros(rows, cols)
	NewPRG(Seed{7, 1, 3}, stream).Fill(t.Data)
	if high {
		// Values within 2^16 of 2^64: every product and sum wraps around.
		for i, v := range t.Data {
			t.Data[i] = -(v & 0xffff) - 1
		}
	}
	return t
}

// kernelConfigs runs f once per implementation this machine can run, with the
// tuning knobs set so that even small shapes go through packing and, in the
// "parallel" configurations, through several workers with uneven shares.
func kernelConfigs(t *testing.T, f func(t *testing.T)) {
	type config struct {
		name    string
		avx     bool
		path    int
		workers int
	}
	configs := []config{
		{"default", useAVX512, matMulPath, matMulWorkers},
		{"small-loops", useAVX512, pathSmall, 0},
		{"go", false, pathPacked, 1},
		{"go-parallel", false, pathPacked, 3},
	}
	if haveAVX512 {
		configs = append(configs, config{"avx512", true, pathPacked, 1}, config{"avx512-parallel", true, pathPacked, 3})
	} else {
		t.Log("no AVX-512 on this machine: testing the portable kernel only")
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			saveAVX, savePath, saveWorkers := useAVX512, matMulPath, matMulWorkers
			defer func() { useAVX512, matMulPath, matMulWorkers = saveAVX, savePath, saveWorkers }()
			useAVX512, matMulPath, matMulWorkers = c.avx, c.path, c.workers
			f(t)
		})
	}
}

var testShapes = [][3]int{
	{1, 1, 1}, {1, 7, 1}, {1, 1, 9}, {9, 1, 1}, {1, 100, 1}, {1, 37, 33}, {37, 33, 1},
	{2, 2, 2}, {3, 5, 7}, {4, 16, 16}, {5, 17, 15}, {4, 3, 17}, {7, 300, 33}, {13, 257, 31},
	{33, 70, 49}, {63, 513, 17}, {130, 9, 130}, {129, 260, 47}, {64, 784, 128}, {128, 784, 128},
	{128, 128, 10}, {10, 128, 128}, {784, 128, 128}, {128, 128, 784},
	{0, 5, 3}, {3, 0, 5}, {5, 3, 0}, {0, 0, 0},
}

func sameData(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %#x, want %#x", what, i, got[i], want[i])
		}
	}
}

func TestMatMulMatchesReference(t *testing.T) {
	kernelConfigs(t, func(t *testing.T) {
		for si, s := range testShapes {
			m, k, n := s[0], s[1], s[2]
			for _, high := range []bool{false, true} {
				a := randTensor(uint64(4*si), high, m, k)
				b := randTensor(uint64(4*si+1), high, k, n)
				want := refMatMul(a.Data, b.Data, m, k, n)
				what := fmt.Sprintf("%dx%dx%d high=%v", m, k, n, high)

				got := MatMul(a, b)
				if got.Rows() != m || got.Cols() != n {
					t.Fatalf("%s: shape %v", what, got.Shape)
				}
				sameData(t, "MatMul "+what, got.Data, want)

				at, bt := Transpose(a), Transpose(b)
				sameData(t, "MatMulTransA "+what, MatMulTransA(at, b).Data, want)
				sameData(t, "MatMulTransB "+what, MatMulTransB(a, bt).Data, want)
				sameData(t, "MatMulOp N N "+what, MatMulOp(a, false, b, false).Data, want)
				sameData(t, "MatMulOp T N "+what, MatMulOp(at, true, b, false).Data, want)
				sameData(t, "MatMulOp N T "+what, MatMulOp(a, false, bt, true).Data, want)
				sameData(t, "MatMulOp T T "+what, MatMulOp(at, true, bt, true).Data, want)

				// matMulAdd accumulates.
				c := randTensor(uint64(4*si+2), high, m, n)
				acc := c.Clone()
				matMulAdd(acc.Data, a.Data, b.Data, m, k, n)
				for i := range want {
					want[i] += c.Data[i]
				}
				sameData(t, "matMulAdd "+what, acc.Data, want)
			}
		}
	})
}

// TestMatMulKnownValues checks a hand-computed product, including wrap-around.
func TestMatMulKnownValues(t *testing.T) {
	kernelConfigs(t, func(t *testing.T) {
		max := ^uint64(0) // -1 in the ring
		a, _ := FromData([]uint64{1, 2, 3, 4, 5, 6}, 2, 3)
		b, _ := FromData([]uint64{7, 8, 9, 10, max, 1 << 63}, 3, 2)
		// Row 0: 1*7+2*9+3*(-1) = 22;  1*8+2*10+3*2^63 = 28+2^63.
		// Row 1: 4*7+5*9+6*(-1) = 67;  4*8+5*10+6*2^63 = 82.
		got := MatMul(a, b)
		sameData(t, "MatMul", got.Data, []uint64{22, 28 + 1<<63, 67, 82})
	})
}

func TestMatMulPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"inner":      func() { MatMul(Zeros(2, 3), Zeros(2, 3)) },
		"transA":     func() { MatMulTransA(Zeros(2, 3), Zeros(3, 3)) },
		"transB":     func() { MatMulTransB(Zeros(2, 3), Zeros(3, 2)) },
		"rank":       func() { MatMul(Zeros(2, 3, 1), Zeros(3, 2)) },
		"short data": func() { MatMul(Tensor{Shape: []int{64, 64}, Data: make([]uint64, 64)}, Zeros(64, 64)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func benchRing(b *testing.B, m, k, n int) {
	x := randTensor(1, false, m, k)
	y := randTensor(2, false, k, n)
	for b.Loop() {
		MatMul(x, y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m*k*n), "ns/muladd")
}

// benchRingPaths benchmarks each kernel, single-threaded and with the default
// worker count, so that the selected path can be compared with the others.
func benchRingPaths(b *testing.B, m, k, n int) {
	b.Run("selected", func(b *testing.B) { benchRing(b, m, k, n) })
	paths := []struct {
		name string
		avx  bool
	}{{"go", false}}
	if haveAVX512 {
		paths = append(paths, struct {
			name string
			avx  bool
		}{"avx512", true})
	}
	for _, p := range paths {
		for _, workers := range []int{1, 0} {
			name := p.name + "-1thread"
			if workers == 0 {
				name = p.name + "-parallel"
			}
			b.Run(name, func(b *testing.B) {
				saveAVX, saveWorkers := useAVX512, matMulWorkers
				defer func() { useAVX512, matMulWorkers = saveAVX, saveWorkers }()
				useAVX512, matMulWorkers = p.avx, workers
				benchRing(b, m, k, n)
			})
		}
	}
}

func benchGonum(b *testing.B, m, k, n int) {
	x := mat.NewDense(m, k, nil)
	y := mat.NewDense(k, n, nil)
	for i := range m {
		for j := range k {
			x.Set(i, j, float64((i*7+j*3)%17)-8)
		}
	}
	for i := range k {
		for j := range n {
			y.Set(i, j, float64((i*5+j*11)%13)-6)
		}
	}
	var z mat.Dense
	for b.Loop() {
		z.Reset()
		z.Mul(x, y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m*k*n), "ns/muladd")
}

func BenchmarkMatMulRing_128x784x128(b *testing.B) { benchRingPaths(b, 128, 784, 128) }
func BenchmarkMatMulRing_64x784x128(b *testing.B)  { benchRingPaths(b, 64, 784, 128) }
func BenchmarkMatMulRing_128x128x10(b *testing.B)  { benchRingPaths(b, 128, 128, 10) }

func BenchmarkMatMulRingTransA_784x128x128(b *testing.B) {
	x := randTensor(1, false, 128, 784)
	y := randTensor(2, false, 128, 128)
	for b.Loop() {
		MatMulTransA(x, y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(784*128*128), "ns/muladd")
}

func BenchmarkMatMulRingTransB_128x128x784(b *testing.B) {
	x := randTensor(1, false, 128, 128)
	y := randTensor(2, false, 784, 128)
	for b.Loop() {
		MatMulTransB(x, y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(784*128*128), "ns/muladd")
}

func BenchmarkMatMulFloat64Gonum_128x784x128(b *testing.B) { benchGonum(b, 128, 784, 128) }
func BenchmarkMatMulFloat64Gonum_64x784x128(b *testing.B)  { benchGonum(b, 64, 784, 128) }
func BenchmarkMatMulFloat64Gonum_128x128x10(b *testing.B)  { benchGonum(b, 128, 128, 10) }

// TestGemmStrided drives gemm with operands that are strided views (as a
// transposed operand or a submatrix would be), including strides that are
// neither 1 nor the row length, and a C with extra columns that must be left
// alone.
func TestGemmStrided(t *testing.T) {
	kernelConfigs(t, func(t *testing.T) {
		for si, s := range testShapes {
			m, k, n := s[0], s[1], s[2]
			if m*k*n == 0 {
				continue
			}
			for v, st := range [][4]int{
				{1, m, 1, k},             // both transposed
				{2*k + 1, 2, 3, 3*n + 2}, // A and B sparse in bigger arrays
				{1, m + 3, n + 1, 1},     // transposed A with padding, padded B
			} {
				a := operand{make([]uint64, (m-1)*st[0]+(k-1)*st[1]+1), st[0], st[1]}
				b := operand{make([]uint64, (k-1)*st[2]+(n-1)*st[3]+1), st[2], st[3]}
				NewPRG(Seed{9}, uint64(4*si+v)).Fill(a.d)
				NewPRG(Seed{9}, uint64(4*si+v+1000)).Fill(b.d)
				ldc := n + 5
				c := make([]uint64, m*ldc)
				NewPRG(Seed{9}, uint64(4*si+v+2000)).Fill(c)
				want := append([]uint64(nil), c...)
				for i := range m {
					for j := range n {
						for p := range k {
							want[i*ldc+j] += a.d[i*a.rs+p*a.cs] * b.d[p*b.rs+j*b.cs]
						}
					}
				}
				gemm(c, ldc, m, k, n, a, b)
				sameData(t, fmt.Sprintf("%dx%dx%d strides %v", m, k, n, st), c, want)
			}
		}
	})
}
