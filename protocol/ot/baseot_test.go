package ot

import (
	"crypto/rand"
	"errors"
	"testing"
)

// basePair runs flights 1 and 2 of the base OTs between parties 0 and 1 in
// one process, with no transport, and returns both states and the flight-2
// bodies (B of party 0, B of party 1).
func basePair(t *testing.T) (x, y *baseOTs, bx, by []byte) {
	t.Helper()
	var err error
	if x, err = newBaseOTs(0, 1, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if y, err = newBaseOTs(1, 0, rand.Reader); err != nil {
		t.Fatal(err)
	}
	ax, err := x.senderA()
	if err != nil {
		t.Fatal(err)
	}
	ay, err := y.senderA()
	if err != nil {
		t.Fatal(err)
	}
	if len(ax) != baseALen || len(ay) != baseALen {
		t.Fatalf("flight 1 bodies of %d and %d bytes, want %d", len(ax), len(ay), baseALen)
	}
	if bx, err = x.receiverB(ay); err != nil {
		t.Fatal(err)
	}
	if by, err = y.receiverB(ax); err != nil {
		t.Fatal(err)
	}
	return x, y, bx, by
}

// TestBaseOTsWithoutNetwork: the three flights between two parties, run as
// steps in one process, give each extension sender the seed of each column
// that its Delta bit chose, and the resulting extension works.
func TestBaseOTsWithoutNetwork(t *testing.T) {
	x, y, bx, by := basePair(t)
	ex, err := x.senderE(by)
	if err != nil {
		t.Fatal(err)
	}
	ey, err := y.senderE(bx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != baseELen || len(ey) != baseELen {
		t.Fatalf("flight 3 bodies of %d and %d bytes, want %d", len(ex), len(ey), baseELen)
	}
	if err := x.receiverSeeds(ey); err != nil {
		t.Fatal(err)
	}
	if err := y.receiverSeeds(ex); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]*baseOTs{{x, y}, {y, x}} {
		s, r := pair[0], pair[1]
		for j := range kappa {
			want := r.recv.k0[j]
			if s.choices[j] == 1 {
				want = r.recv.k1[j]
			}
			if s.send.seeds[j] != want {
				t.Fatalf("party %d column %d: got the seed it did not choose", s.self, j)
			}
		}
		h := newCRHash()
		choices := randWords(2)
		u, xc := r.recv.extend(h, choices, outWords)
		x0, x1 := s.send.extend(h, u, 2, outWords)
		for k := range 128 {
			want := x0[k]
			if (choices[k/64]>>(k%64))&1 == 1 {
				want = x1[k]
			}
			if xc[k] != want {
				t.Fatalf("party %d to %d: OT %d of the extension wrong", s.self, r.self, k)
			}
		}
	}
}

// TestBaseOTsRejectMalformed: short or forged flight bodies are ErrMalformed
// errors from the steps themselves, never panics.
func TestBaseOTsRejectMalformed(t *testing.T) {
	x, y, bx, _ := basePair(t)
	ey, err := y.senderE(bx)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *baseOTs {
		b, err := newBaseOTs(0, 1, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.senderA(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	identity := make([]byte, baseALen) // the encoding of the identity, 128 times
	invalid := append([]byte(nil), bx...)
	for i := range 32 {
		invalid[i] = 0xff
	}
	forged := append([]byte(nil), ey...)
	forged[20] ^= 1           // column 0, e0
	forged[baseCtLen+20] ^= 1 // column 0, e1
	cases := map[string]func() error{
		"A empty":            func() error { _, err := fresh().receiverB(nil); return err },
		"A short":            func() error { _, err := fresh().receiverB(bx[:len(bx)-1]); return err },
		"A identity":         func() error { _, err := fresh().receiverB(identity); return err },
		"A invalid point":    func() error { _, err := fresh().receiverB(invalid); return err },
		"B short":            func() error { _, err := fresh().senderE(bx[:10]); return err },
		"B invalid point":    func() error { _, err := fresh().senderE(invalid); return err },
		"ciphertexts short":  func() error { return x.receiverSeeds(ey[:len(ey)-1]) },
		"ciphertexts long":   func() error { return x.receiverSeeds(append(append([]byte(nil), ey...), 0)) },
		"ciphertexts forged": func() error { return x.receiverSeeds(forged) },
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}
