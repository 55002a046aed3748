package sharing

import (
	"fmt"
	"slices"
)

// Tensor is a dense row-major array of elements of Z_2^64. Arithmetic wraps, as
// uint64 arithmetic does in Go. A Tensor holds either a public value or one
// party's additive share of a secret value; the type does not say which.
type Tensor struct {
	Shape []int
	Data  []uint64
}

// Zeros returns a zero tensor of the given shape.
func Zeros(shape ...int) Tensor {
	return Tensor{Shape: slices.Clone(shape), Data: make([]uint64, Size(shape))}
}

// FromData wraps data in a tensor of the given shape; it fails when the sizes differ.
func FromData(data []uint64, shape ...int) (Tensor, error) {
	if n := Size(shape); n != len(data) {
		return Tensor{}, fmt.Errorf("sharing: shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return Tensor{Shape: slices.Clone(shape), Data: data}, nil
}

// Size is the number of elements of a shape; a negative dimension gives -1.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t Tensor) Len() int { return len(t.Data) }

// Rows and Cols describe a 2-D tensor; they panic on other ranks, which is a
// programming error, never a consequence of peer input.
func (t Tensor) Rows() int { t.must2D(); return t.Shape[0] }

// Cols is the number of columns of a 2-D tensor.
func (t Tensor) Cols() int { t.must2D(); return t.Shape[1] }

func (t Tensor) must2D() {
	if len(t.Shape) != 2 {
		panic(fmt.Sprintf("sharing: tensor of shape %v is not a matrix", t.Shape))
	}
}

// Clone returns a deep copy.
func (t Tensor) Clone() Tensor {
	return Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b Tensor) bool { return slices.Equal(a.Shape, b.Shape) }

// Reshape returns a tensor sharing t's data with a new shape of the same size.
func (t Tensor) Reshape(shape ...int) (Tensor, error) { return FromData(t.Data, shape...) }

func mustSameShape(op string, a, b Tensor) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("sharing: %s of shapes %v and %v", op, a.Shape, b.Shape))
	}
}

// Add returns a+b element-wise.
func Add(a, b Tensor) Tensor {
	mustSameShape("Add", a, b)
	out := Zeros(a.Shape...)
	for i := range out.Data {
		out.Data[i] = a.Data[i] + b.Data[i]
	}
	return out
}

// Sub returns a-b element-wise.
func Sub(a, b Tensor) Tensor {
	mustSameShape("Sub", a, b)
	out := Zeros(a.Shape...)
	for i := range out.Data {
		out.Data[i] = a.Data[i] - b.Data[i]
	}
	return out
}

// AddInPlace sets a += b.
func AddInPlace(a, b Tensor) {
	mustSameShape("AddInPlace", a, b)
	for i := range a.Data {
		a.Data[i] += b.Data[i]
	}
}

// SubInPlace sets a -= b.
func SubInPlace(a, b Tensor) {
	mustSameShape("SubInPlace", a, b)
	for i := range a.Data {
		a.Data[i] -= b.Data[i]
	}
}

// Neg returns -a.
func Neg(a Tensor) Tensor {
	out := Zeros(a.Shape...)
	for i, v := range a.Data {
		out.Data[i] = -v
	}
	return out
}

// Scale returns k*a element-wise.
func Scale(a Tensor, k uint64) Tensor {
	out := Zeros(a.Shape...)
	for i, v := range a.Data {
		out.Data[i] = k * v
	}
	return out
}

// Hadamard returns the element-wise product a*b.
func Hadamard(a, b Tensor) Tensor {
	mustSameShape("Hadamard", a, b)
	out := Zeros(a.Shape...)
	for i := range out.Data {
		out.Data[i] = a.Data[i] * b.Data[i]
	}
	return out
}

// Transpose returns the transpose of a matrix.
func Transpose(a Tensor) Tensor {
	r, c := a.Rows(), a.Cols()
	out := Zeros(c, r)
	for i := 0; i < r; i++ {
		row := a.Data[i*c : (i+1)*c]
		for j, v := range row {
			out.Data[j*r+i] = v
		}
	}
	return out
}

// SumRows returns the 1 x cols tensor of column sums of a matrix.
func SumRows(a Tensor) Tensor {
	r, c := a.Rows(), a.Cols()
	out := Zeros(1, c)
	for i := 0; i < r; i++ {
		row := a.Data[i*c : (i+1)*c]
		for j, v := range row {
			out.Data[j] += v
		}
	}
	return out
}

// AddRowVector returns a + v broadcast over the rows of matrix a; v is 1 x cols.
func AddRowVector(a, v Tensor) Tensor {
	r, c := a.Rows(), a.Cols()
	if v.Len() != c {
		panic(fmt.Sprintf("sharing: AddRowVector of %v and %v", a.Shape, v.Shape))
	}
	out := Zeros(r, c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Data[i*c+j] = a.Data[i*c+j] + v.Data[j]
		}
	}
	return out
}

// SliceRows returns rows [from, to) of a matrix as a new tensor.
func SliceRows(a Tensor, from, to int) Tensor {
	c := a.Cols()
	out := Zeros(to-from, c)
	copy(out.Data, a.Data[from*c:to*c])
	return out
}

// GatherRows returns the rows of a matrix at the given indices, in order.
func GatherRows(a Tensor, idx []int) Tensor {
	c := a.Cols()
	out := Zeros(len(idx), c)
	for i, r := range idx {
		copy(out.Data[i*c:(i+1)*c], a.Data[r*c:(r+1)*c])
	}
	return out
}

// ConcatRows stacks matrices with the same number of columns.
func ConcatRows(parts ...Tensor) Tensor {
	if len(parts) == 0 {
		return Zeros(0, 0)
	}
	c := parts[0].Cols()
	rows := 0
	for _, p := range parts {
		if p.Cols() != c {
			panic(fmt.Sprintf("sharing: ConcatRows of %d and %d columns", c, p.Cols()))
		}
		rows += p.Rows()
	}
	out := Zeros(rows, c)
	off := 0
	for _, p := range parts {
		off += copy(out.Data[off:], p.Data)
	}
	return out
}

// Equal reports whether a and b have the same shape and elements.
func Equal(a, b Tensor) bool { return SameShape(a, b) && slices.Equal(a.Data, b.Data) }

// ConcatCols joins matrices with the same number of rows side by side.
func ConcatCols(parts ...Tensor) Tensor {
	if len(parts) == 0 {
		return Zeros(0, 0)
	}
	rows := parts[0].Rows()
	cols := 0
	for _, p := range parts {
		if p.Rows() != rows {
			panic(fmt.Sprintf("sharing: ConcatCols of %d and %d rows", rows, p.Rows()))
		}
		cols += p.Cols()
	}
	out := Zeros(rows, cols)
	for i := 0; i < rows; i++ {
		off := i * cols
		for _, p := range parts {
			c := p.Cols()
			off += copy(out.Data[off:off+c], p.Data[i*c:(i+1)*c])
		}
	}
	return out
}
