package ot

import (
	"bytes"
	"slices"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// TestWordMessage checks that a message built in place is the header and the
// body's little-endian words, as sendWords lays them out.
func TestWordMessage(t *testing.T) {
	body := randWords(5)
	m := newWordMessage(tagE, 7, len(body))
	copy(m.body(), body)
	want := header(tagE, 7, 8*len(body))[:headerBytes+8*len(body)]
	sharing.PutWords(want[headerBytes:], body)
	if !bytes.Equal(m.bytes(), want) {
		t.Fatalf("message %x, want %x", m.bytes(), want)
	}
}

// TestWordPools gives back buffers of every capacity, powers of two or not,
// and checks that every size asked for afterwards gets a buffer that holds it.
func TestWordPools(t *testing.T) {
	for c := range 70 {
		putWords(make([]uint64, c))
	}
	for n := range 140 {
		b := getWords(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("getWords(%d): len %d cap %d", n, len(b), cap(b))
		}
		for k := range b {
			b[k] = uint64(k) // writable whole
		}
		putWords(b)
	}
}

// TestPackedValues packs values of every width from 1 to 64, in runs cut at
// varying places (a packer carries its last word from one put to the next),
// checks the words against a bit-by-bit reference, and reads them back from
// bytes that start at every offset modulo 8 (a channel's body follows a
// header byte), with get cut at other places.
func TestPackedValues(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 64, 65, 200} {
		for _, random := range []bool{false, true} {
			testPackedValues(t, n, random)
		}
	}
}

// testPackedValues is TestPackedValues for n values, of random widths or of
// 64, 63, 62, 64, ... bits (the last value then often ends past a word).
func testPackedValues(t *testing.T, n int, random bool) {
	t.Helper()
	vals := randWords(n)
	widths := make([]uint8, n)
	total := 0
	for k := range widths {
		widths[k] = uint8(64 - k%3)
		if random {
			widths[k] = uint8(1 + (vals[k]>>58^uint64(k*7))%64)
		}
		total += int(widths[k])
	}
	out := randWords((total + 63) / 64) // put needs no zeroed words
	pk := packer{out: out}
	for from := 0; from < n; from += 5 {
		pk.put(vals[from:min(n, from+5)], widths[from:])
	}
	if pk.bits() != total {
		t.Fatalf("n=%d: %d bits written, want %d", n, pk.bits(), total)
	}
	want := make([]uint64, len(out))
	pos := 0
	for k, v := range vals {
		for i := range int(widths[k]) {
			want[pos>>6] |= (v >> uint(i) & 1) << uint(pos&63)
			pos++
		}
	}
	if !slices.Equal(out, want) {
		t.Fatalf("n=%d: packed %x, want %x", n, out, want)
	}
	outGo := randWords(len(out)) // the portable loop, where put takes packBMI2
	pkGo := packer{out: outGo}
	for from := 0; from < n; from += 4 {
		pkGo.putGo(vals[from:min(n, from+4)], widths[from:])
	}
	if !slices.Equal(outGo, want) || pkGo.bits() != total {
		t.Fatalf("n=%d: putGo packed %x (%d bits), want %x", n, outGo, pkGo.bits(), want)
	}
	for shift := range 8 {
		buf := make([]byte, shift+8*len(out))
		sharing.PutWords(buf[shift:], out)
		un := byteUnpacker{in: buf[shift:]}
		got := make([]uint64, n)
		for from := 0; from < n; from += 3 {
			un.get(got[from:min(n, from+3)], widths[from:])
		}
		for k, v := range vals {
			if m := ^uint64(0) >> (64 - widths[k]); got[k] != v&m {
				t.Fatalf("n=%d shift %d: value %d of %d bits is %x, want %x", n, shift, k, widths[k], got[k], v&m)
			}
		}
	}
}

// TestAddChosen adds unpacked values where a choice bit is set, with
// addChosen (unpackAddBMI2 where the CPU has BMI2) and with addChosenGo,
// against get and a plain loop, from bytes at every offset modulo 8.
func TestAddChosen(t *testing.T) {
	for _, n := range []int{1, 5, 64, 700} {
		vals, choices := randWords(n), randWords((n+63)/64)
		widths := make([]uint8, n)
		for k := range widths {
			widths[k] = uint8(1 + (vals[k]>>58^uint64(k*5))%64)
		}
		out := make([]uint64, (int(sumWidths(widths))+63)/64)
		pk := packer{out: out}
		pk.put(vals, widths)
		base := randWords(n)
		want := slices.Clone(base)
		for k := range want {
			if choices[k>>6]>>uint(k&63)&1 == 1 {
				want[k] += vals[k] & (^uint64(0) >> (64 - widths[k]))
			}
		}
		for shift := range 8 {
			buf := make([]byte, shift+8*len(out))
			sharing.PutWords(buf[shift:], out)
			got, gotGo := slices.Clone(base), slices.Clone(base)
			un := byteUnpacker{in: buf[shift:]}
			un.addChosen(got, choices, widths)
			unGo := byteUnpacker{in: buf[shift:]}
			unGo.addChosenGo(gotGo, choices, widths, 0)
			if !slices.Equal(got, want) || !slices.Equal(gotGo, want) || un.pos != unGo.pos {
				t.Fatalf("n=%d shift %d: sums differ (addChosen %v, addChosenGo %v)", n, shift, slices.Equal(got, want), slices.Equal(gotGo, want))
			}
		}
	}
}

func sumWidths(widths []uint8) (s uint64) {
	for _, w := range widths {
		s += uint64(w)
	}
	return s
}

// TestWordsOf reads a body's words in place when it is word-aligned (and the
// host little-endian), else through a pooled copy, the same words either way.
func TestWordsOf(t *testing.T) {
	want := randWords(9)
	m := newWordMessage(tagU, 0, len(want))
	copy(m.body(), want)
	aligned := m.bytes()[headerBytes:]
	got, pooled := wordsOf(aligned)
	if !slices.Equal(got, want) || pooled == hostLittleEndian || (hostLittleEndian && &got[0] != &m.body()[0]) {
		t.Fatalf("aligned body: %x (pooled %v), want %x in place", got, pooled, want)
	}
	odd := make([]byte, 1+8*len(want))
	sharing.PutWords(odd[1:], want)
	got, pooled = wordsOf(odd[1:])
	if !slices.Equal(got, want) || !pooled {
		t.Fatalf("misaligned body: %x (pooled %v), want a pooled copy of %x", got, pooled, want)
	}
	putWords(got)
}
