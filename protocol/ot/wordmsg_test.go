package ot

import (
	"bytes"
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
