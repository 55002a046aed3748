package sharing

import "fmt"

// MatMul returns the ring product a*b of an m x k and a k x n matrix.
func MatMul(a, b Tensor) Tensor {
	m, k := a.Rows(), a.Cols()
	k2, n := b.Rows(), b.Cols()
	if k != k2 {
		panic(fmt.Sprintf("sharing: MatMul of %v and %v", a.Shape, b.Shape))
	}
	out := Zeros(m, n)
	matMulAdd(out.Data, a.Data, b.Data, m, k, n)
	return out
}

// matMulAdd sets c += a*b with a m x k, b k x n, c m x n, all row-major.
func matMulAdd(c, a, b []uint64, m, k, n int) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		ai := a[i*k : (i+1)*k]
		for p, av := range ai {
			if av == 0 {
				continue
			}
			bp := b[p*n : (p+1)*n]
			ci := ci[:len(bp)]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
