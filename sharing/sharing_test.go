package sharing

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"math"
	"testing"
)

// The fast paths (key stream straight into memory, words copied as bytes) must
// produce exactly the little-endian wire format, so that parties on any host agree.
func TestPRGAndWordsMatchLittleEndian(t *testing.T) {
	seed := Seed{1, 2, 3}
	words := make([]uint64, 1001)
	NewPRG(seed, 7).Fill(words)
	raw := make([]byte, 8*len(words))
	NewPRG(seed, 7).Read(raw)
	for i, w := range words {
		if want := binary.LittleEndian.Uint64(raw[8*i:]); w != want {
			t.Fatalf("word %d: Fill gave %x, the byte stream %x", i, w, want)
		}
	}
	buf := make([]byte, 8*len(words))
	PutWords(buf, words)
	if !bytes.Equal(buf, raw) {
		t.Fatal("PutWords differs from little-endian encoding")
	}
	back := make([]uint64, len(words))
	GetWords(back, buf)
	for i := range back {
		if back[i] != words[i] {
			t.Fatalf("GetWords word %d differs", i)
		}
	}
	// Different streams of one seed differ.
	other := make([]uint64, 4)
	NewPRG(seed, 8).Fill(other)
	if other[0] == words[0] {
		t.Fatal("streams 7 and 8 coincide")
	}
}

func TestSplitReconstruct(t *testing.T) {
	x, _ := Random(rand.Reader, 5, 7)
	for n := 2; n <= 5; n++ {
		shares, err := Split(rand.Reader, x, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Reconstruct(shares)
		if err != nil || !Equal(got, x) {
			t.Fatalf("n=%d: reconstruct failed (%v)", n, err)
		}
	}
	if _, err := Split(rand.Reader, x, 1); err == nil {
		t.Fatal("split into 1 share accepted")
	}
	if _, err := Reconstruct([]Tensor{Zeros(2), Zeros(3)}); err == nil {
		t.Fatal("mismatched shapes reconstructed")
	}
}

func TestCodec(t *testing.T) {
	for _, f := range []int{MinFracBits - 1, MaxFracBits + 1} {
		if _, err := NewCodec(f); err == nil {
			t.Fatalf("precision %d accepted", f)
		}
	}
	c, _ := NewCodec(16)
	for _, x := range []float64{0, 1, -1, 0.5, -1234.5678, 1e9, -1e9, math.Ldexp(1, -16)} {
		v, err := c.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(c.Decode(v) - x); d > math.Ldexp(1, -17) {
			t.Fatalf("%g round-trips with error %g", x, d)
		}
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e14} {
		if _, err := c.Encode(x); err == nil {
			t.Fatalf("%v encoded", x)
		}
	}
	// ShiftRight is an arithmetic shift: negative values round toward -inf.
	minus3 := int64(-3)
	if got := int64(ShiftRight(uint64(minus3), 1)); got != -2 {
		t.Fatalf("ShiftRight(-3, 1) = %d", got)
	}
}

func TestConcatAndGather(t *testing.T) {
	a, _ := FromData([]uint64{1, 2, 3, 4}, 2, 2)
	b, _ := FromData([]uint64{5, 6}, 2, 1)
	c := ConcatCols(a, b)
	if want := []uint64{1, 2, 5, 3, 4, 6}; !Equal(c, Tensor{Shape: []int{2, 3}, Data: want}) {
		t.Fatalf("ConcatCols = %v", c.Data)
	}
	r := ConcatRows(a, a)
	if r.Rows() != 4 || r.Data[4] != 1 {
		t.Fatalf("ConcatRows = %v", r.Data)
	}
	g := GatherRows(r, []int{3, 0})
	if g.Data[0] != 3 || g.Data[2] != 1 {
		t.Fatalf("GatherRows = %v", g.Data)
	}
	if s := SumRows(a); s.Data[0] != 4 || s.Data[1] != 6 {
		t.Fatalf("SumRows = %v", s.Data)
	}
	if tr := Transpose(c); tr.Shape[0] != 3 || tr.Data[1] != 3 {
		t.Fatalf("Transpose = %v", tr.Data)
	}
}
