package sharing

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// A stream positioned at a word must continue exactly as the stream counted from
// its start, at even and odd words and across AES blocks and fill chunks.
func TestNewPRGAtContinuesTheStream(t *testing.T) {
	seed := Seed{9, 8, 7}
	const stream = 3
	whole := make([]uint64, 5000)
	NewPRG(seed, stream).Fill(whole)
	for _, word := range []int{0, 1, 2, 3, 7, 8, 783, 784, 4095, 4096, 4097} {
		got := make([]uint64, len(whole)-word)
		NewPRGAt(seed, stream, uint64(word)).Fill(got)
		if !slices.Equal(got, whole[word:]) {
			t.Fatalf("NewPRGAt(word %d) differs from the stream's words from %d", word, word)
		}
	}
}

// The lazily expanded share must be, row for row, the eager share peers computed
// before (NewPRG(seed, stream).Tensor(rows, cols)), for odd and even widths.
func TestSeededRowsEqualEagerExpansion(t *testing.T) {
	seed := Seed{1, 2, 3, 4}
	rng := rand.New(rand.NewPCG(1, 2)) // test indices only
	for _, shape := range [][2]int{{0, 5}, {1, 1}, {7, 3}, {5, 784}, {33, 10}, {129, 1}} {
		rows, cols := shape[0], shape[1]
		eager := NewPRG(seed, 5).Tensor(rows, cols)
		lazy := SeededRows(seed, 5, rows, cols)
		if r, c := lazy.Dims(); r != rows || c != cols {
			t.Fatalf("Dims = %d x %d, want %d x %d", r, c, rows, cols)
		}
		if got := Materialize(lazy); !Equal(got, eager) {
			t.Fatalf("%d x %d: lazy expansion differs from the eager one", rows, cols)
		}
		if rows == 0 {
			continue
		}
		idx := make([]int, 50)
		for i := range idx {
			idx[i] = rng.IntN(rows)
		}
		if got := Gather(lazy, idx); !Equal(got, GatherRows(eager, idx)) {
			t.Fatalf("%d x %d: gathered lazy rows differ from the eager rows", rows, cols)
		}
	}
}

// Different streams under one seed are different shares.
func TestSeededRowsStreamsDiffer(t *testing.T) {
	seed := Seed{5}
	a, b := Materialize(SeededRows(seed, 0, 4, 4)), Materialize(SeededRows(seed, 1, 4, 4))
	if Equal(a, b) {
		t.Fatal("streams 0 and 1 expand to the same rows")
	}
}

func TestStackRowsAndColsMatchConcat(t *testing.T) {
	seed := Seed{4, 4}
	a := NewPRG(seed, 0).Tensor(3, 4)
	b := NewPRG(seed, 1).Tensor(0, 4)
	c := NewPRG(seed, 2).Tensor(5, 4)
	stacked := StackRows(TensorRows(a), TensorRows(b), SeededRows(seed, 2, 5, 4))
	if got, want := Materialize(stacked), ConcatRows(a, b, c); !Equal(got, want) {
		t.Fatalf("StackRows = %v, want %v", got.Data, want.Data)
	}
	d := NewPRG(seed, 3).Tensor(3, 2)
	e := NewPRG(seed, 4).Tensor(3, 5)
	side := StackCols(TensorRows(a), SeededRows(seed, 3, 3, 2), TensorRows(e))
	if got, want := Materialize(side), ConcatCols(a, d, e); !Equal(got, want) {
		t.Fatalf("StackCols = %v, want %v", got.Data, want.Data)
	}
	idx := []int{2, 0, 2, 1}
	if got, want := Gather(side, idx), GatherRows(ConcatCols(a, d, e), idx); !Equal(got, want) {
		t.Fatalf("Gather(StackCols) = %v, want %v", got.Data, want.Data)
	}
}

func TestPRGSubFromMatchesSubInPlace(t *testing.T) {
	seed := Seed{6}
	x := NewPRG(Seed{7}, 0).Tensor(3, 700)
	want := x.Clone()
	SubInPlace(want, NewPRG(seed, 0).Tensor(3, 700))
	got := x.Clone()
	NewPRG(seed, 0).SubFrom(got.Data)
	if !Equal(got, want) {
		t.Fatal("SubFrom differs from subtracting the expanded tensor")
	}
}

// The owner's masked rows are, row for row, x minus the eager expansions.
func TestMaskedRowsEqualEagerMasking(t *testing.T) {
	seeds := []Seed{{1}, {2}, {3}}
	x := NewPRG(Seed{8}, 0).Tensor(9, 5)
	want := x.Clone()
	for _, s := range seeds {
		SubInPlace(want, NewPRG(s, 0).Tensor(9, 5))
	}
	masked := MaskedRows(TensorRows(x), 0, seeds...)
	if got := Materialize(masked); !Equal(got, want) {
		t.Fatal("masked rows differ from x minus the expansions")
	}
	idx := []int{8, 1, 1, 4}
	if got := Gather(masked, idx); !Equal(got, GatherRows(want, idx)) {
		t.Fatal("gathered masked rows differ")
	}
}

// Rows encoded when read are the codec's encoding; short rows end in zeros, and a
// value that does not fit is refused up front, naming its place.
func TestEncodedRows(t *testing.T) {
	codec := Codec{FracBits: 16}
	rows := [][]float64{{1.5, -2, 0.25}, {3}, {}}
	src, err := EncodedRows(codec, rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{codec.MustEncode(1.5), codec.MustEncode(-2), codec.MustEncode(0.25), codec.MustEncode(3), 0, 0, 0, 0, 0}
	if got := Materialize(src); !slices.Equal(got.Data, want) {
		t.Fatalf("encoded rows = %v, want %v", got.Data, want)
	}
	if _, err := EncodedRows(codec, [][]float64{{0}, {1, 1e300}}, 2); err == nil || !strings.Contains(err.Error(), "row 1, column 1") {
		t.Fatalf("out-of-range value: %v", err)
	}
	if _, err := EncodedRows(codec, [][]float64{{1, 2, 3}}, 2); err == nil {
		t.Fatal("a row longer than the width was accepted")
	}
}
