package sharing

import (
	"crypto/cipher"
	"fmt"
	"sort"
)

// RowSource is a matrix of ring elements read a row at a time: a tensor in memory,
// the pseudo-random expansion of a seed computed row by row when asked for, or
// parts of either stacked together. It lets a party hold shares of a training set
// by the batch: a peer's part is a seed, not the part's size in memory.
type RowSource interface {
	// Dims returns the number of rows and columns.
	Dims() (rows, cols int)
	// ReadRow writes row r (0 <= r < rows) into dst, which has cols elements.
	ReadRow(r int, dst []uint64)
}

// Gather returns the rows idx of src, in that order, as a len(idx) x cols tensor:
// GatherRows for a matrix that is not held whole.
func Gather(src RowSource, idx []int) Tensor {
	_, c := src.Dims()
	out := Zeros(len(idx), c)
	for i, r := range idx {
		src.ReadRow(r, out.Data[i*c:(i+1)*c])
	}
	return out
}

// Materialize returns every row of src as one tensor.
func Materialize(src RowSource) Tensor {
	r, _ := src.Dims()
	idx := make([]int, r)
	for i := range idx {
		idx[i] = i
	}
	return Gather(src, idx)
}

// TensorRows reads the rows of a matrix held in memory.
func TensorRows(t Tensor) RowSource {
	t.must2D()
	return tensorRows{t}
}

type tensorRows struct{ t Tensor }

func (s tensorRows) Dims() (int, int) { return s.t.Shape[0], s.t.Shape[1] }

func (s tensorRows) ReadRow(r int, dst []uint64) {
	c := s.t.Shape[1]
	copy(dst[:c], s.t.Data[r*c:(r+1)*c])
}

// SeededRows is the rows x cols matrix NewPRG(seed, stream).Tensor(rows, cols),
// each row expanded when it is read (AES-CTR seeks to the row's first word), so it
// holds 16 bytes of key and a key schedule, whatever its size.
func SeededRows(seed Seed, stream uint64, rows, cols int) RowSource {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("sharing: SeededRows of shape %d x %d", rows, cols))
	}
	return &seededRows{block: seedCipher(seed), stream: stream, rows: rows, cols: cols}
}

type seededRows struct {
	block      cipher.Block
	stream     uint64
	rows, cols int
}

func (s *seededRows) Dims() (int, int) { return s.rows, s.cols }

func (s *seededRows) ReadRow(r int, dst []uint64) {
	if r < 0 || r >= s.rows {
		panic(fmt.Sprintf("sharing: row %d of %d", r, s.rows))
	}
	newPRGAt(s.block, s.stream, uint64(r)*uint64(s.cols)).Fill(dst[:s.cols])
}

// StackRows stacks sources with the same number of columns, as ConcatRows stacks
// tensors: row r of the result is row r - off of the part it falls in.
func StackRows(parts ...RowSource) RowSource {
	st := &rowStack{parts: parts, starts: make([]int, len(parts))}
	for i, p := range parts {
		r, c := p.Dims()
		if i == 0 {
			st.cols = c
		} else if c != st.cols {
			panic(fmt.Sprintf("sharing: StackRows of %d and %d columns", st.cols, c))
		}
		st.starts[i] = st.rows
		st.rows += r
	}
	return st
}

type rowStack struct {
	parts      []RowSource
	starts     []int // first row of each part
	rows, cols int
}

func (s *rowStack) Dims() (int, int) { return s.rows, s.cols }

func (s *rowStack) ReadRow(r int, dst []uint64) {
	if r < 0 || r >= s.rows {
		panic(fmt.Sprintf("sharing: row %d of %d", r, s.rows))
	}
	// The last part starting at or before r (parts may be empty).
	i := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > r }) - 1
	s.parts[i].ReadRow(r-s.starts[i], dst)
}

// StackCols puts sources with the same number of rows side by side, as ConcatCols
// does tensors.
func StackCols(parts ...RowSource) RowSource {
	st := &colStack{parts: parts, widths: make([]int, len(parts))}
	for i, p := range parts {
		r, c := p.Dims()
		if i == 0 {
			st.rows = r
		} else if r != st.rows {
			panic(fmt.Sprintf("sharing: StackCols of %d and %d rows", st.rows, r))
		}
		st.widths[i] = c
		st.cols += c
	}
	return st
}

type colStack struct {
	parts      []RowSource
	widths     []int
	rows, cols int
}

func (s *colStack) Dims() (int, int) { return s.rows, s.cols }

func (s *colStack) ReadRow(r int, dst []uint64) {
	off := 0
	for i, p := range s.parts {
		p.ReadRow(r, dst[off:off+s.widths[i]])
		off += s.widths[i]
	}
}

// MaskedRows is x minus the expansions SeededRows(seed, stream, rows, cols) of the
// seeds, a row at a time: the input owner's share when its peers' shares are those
// expansions, held as its data and one seed per peer.
func MaskedRows(x RowSource, stream uint64, seeds ...Seed) RowSource {
	rows, cols := x.Dims()
	m := &maskedRows{x: x, cols: cols}
	for _, s := range seeds {
		m.masks = append(m.masks, &seededRows{block: seedCipher(s), stream: stream, rows: rows, cols: cols})
	}
	return m
}

type maskedRows struct {
	x     RowSource
	masks []*seededRows
	cols  int
}

func (m *maskedRows) Dims() (int, int) { return m.x.Dims() }

func (m *maskedRows) ReadRow(r int, dst []uint64) {
	m.x.ReadRow(r, dst)
	for _, s := range m.masks {
		newPRGAt(s.block, s.stream, uint64(r)*uint64(s.cols)).SubFrom(dst[:m.cols])
	}
}

// EncodedRows reads real-valued rows (at most cols values each; missing ones are
// zeros) as fixed-point ring elements, encoding a row when it is read, so that the
// encoding need not be held beside the values. Every value is checked here, once:
// reading cannot fail. The caller must not change rows afterwards.
func EncodedRows(codec Codec, rows [][]float64, cols int) (RowSource, error) {
	for i, r := range rows {
		if len(r) > cols {
			return nil, fmt.Errorf("row %d has %d values, more than %d columns", i, len(r), cols)
		}
		for j, v := range r {
			if _, err := codec.Encode(v); err != nil {
				return nil, fmt.Errorf("row %d, column %d: %w", i, j, err)
			}
		}
	}
	return encodedRows{codec: codec, rows: rows, cols: cols}, nil
}

type encodedRows struct {
	codec Codec
	rows  [][]float64
	cols  int
}

func (e encodedRows) Dims() (int, int) { return len(e.rows), e.cols }

func (e encodedRows) ReadRow(r int, dst []uint64) {
	dst = dst[:e.cols]
	clear(dst)
	for j, v := range e.rows[r] {
		dst[j] = e.codec.MustEncode(v)
	}
}
