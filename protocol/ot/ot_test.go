package ot

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

var partyCounts = []int{2, 3, 5, 8}

// session sets up n OT parties (each transport passed through wrap when it is not
// nil) and runs fn on each; it returns every party's result and error.
func session[T any](t testing.TB, n int, wrap func(i int, tr protocol.Transport) protocol.Transport,
	fn func(ctx context.Context, p *Party) (T, error)) ([]T, []error) {
	t.Helper()
	return protocoltest.Parties(t, n, func(ctx context.Context, i int, tr protocol.Transport) (T, error) {
		if wrap != nil {
			tr = wrap(i, tr)
		}
		p, err := Setup(ctx, tr)
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, p)
	})
}

func mustSession[T any](t testing.TB, n int, fn func(ctx context.Context, p *Party) (T, error)) []T {
	t.Helper()
	out, errs := session(t, n, nil, fn)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return out
}

func TestTranspose64(t *testing.T) {
	var a, b [64]uint64
	for i := range a {
		a[i] = randWord()
	}
	b = a
	transpose64(&b)
	for r := range 64 {
		for c := range 64 {
			if (a[r]>>c)&1 != (b[c]>>r)&1 {
				t.Fatalf("entry (%d,%d) not transposed", r, c)
			}
		}
	}
}

func TestCRHash(t *testing.T) {
	h := newCRHash()
	rs := randWords(8)
	out := make([]uint64, 4)
	h.hashRows(7, rs, 3, 5, outWords, out)
	bitsOut := make([]uint64, 1)
	h.hashRows(7, rs, 3, 5, outBits, bitsOut)
	for i := range 4 {
		if want := h.hash(7+uint64(i), rs[2*i]^3, rs[2*i+1]^5); out[i] != want {
			t.Fatalf("row %d: %x, want %x", i, out[i], want)
		}
		if (bitsOut[0]>>i)&1 != out[i]&1 {
			t.Fatalf("row %d: bit mode disagrees", i)
		}
		if h.hash(8+uint64(i), rs[2*i]^3, rs[2*i+1]^5) == out[i] {
			t.Fatalf("row %d: tweak ignored", i)
		}
	}
}

func randWord() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func randWords(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = randWord()
	}
	return out
}

// TestIKNP checks the random OTs of every ordered pair: the receiver's output
// is the sender's message at the receiver's (random) choice, in both output
// modes and over several batches, and the two messages differ.
func TestIKNP(t *testing.T) {
	for _, n := range []int{2, 3} {
		parties := mustSession(t, n, func(ctx context.Context, p *Party) (*Party, error) { return p, nil })
		for i := range n {
			for j := range n {
				if i == j {
					continue
				}
				s, r := parties[i].send[j], parties[j].recv[i]
				for batch, w := range []int{1, 3, 17} {
					for _, mode := range []int{outWords, outBits} {
						choices := randWords(w)
						u, xc := r.extend(parties[j].h, choices, mode)
						x0, x1 := s.extend(parties[i].h, u, w, mode)
						same := 0
						for k := range 64 * w {
							c := (choices[k/64] >> (k % 64)) & 1
							var got, m0, m1 uint64
							if mode == outBits {
								got, m0, m1 = (xc[k/64]>>(k%64))&1, (x0[k/64]>>(k%64))&1, (x1[k/64]>>(k%64))&1
							} else {
								got, m0, m1 = xc[k], x0[k], x1[k]
							}
							want := m0
							if c == 1 {
								want = m1
							}
							if got != want {
								t.Fatalf("n=%d %d->%d batch %d mode %d OT %d: receiver got %x, want %x", n, i, j, batch, mode, k, got, want)
							}
							if m0 == m1 {
								same++
							}
						}
						if mode == outWords && same > 0 {
							t.Fatalf("%d OTs with equal 64-bit messages", same)
						}
						if mode == outBits && (same < 64*w/4 || same > 3*64*w/4+8) {
							t.Fatalf("bit OTs: %d of %d with x0 == x1", same, 64*w)
						}
					}
				}
			}
		}
	}
}

func TestAndTriples(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sizes := []int{1, 37, 0, 300}
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.BinaryTriple, error) {
				var ts []protocol.BinaryTriple
				for _, w := range sizes {
					tr, err := protocoltest.AndTriple(ctx, p, w)
					if err != nil {
						return nil, err
					}
					ts = append(ts, tr)
				}
				return ts, nil
			})
			for r, w := range sizes {
				a, b, c := make([]uint64, w), make([]uint64, w), make([]uint64, w)
				for i := range n {
					tr := out[i][r]
					if len(tr.A) != w || len(tr.B) != w || len(tr.C) != w {
						t.Fatalf("request %d: party %d has lengths %d %d %d, want %d", r, i, len(tr.A), len(tr.B), len(tr.C), w)
					}
					for k := range w {
						a[k] ^= tr.A[k]
						b[k] ^= tr.B[k]
						c[k] ^= tr.C[k]
					}
				}
				ones := 0
				for k := range w {
					if c[k] != a[k]&b[k] {
						t.Fatalf("request %d word %d: C = %x, A&B = %x", r, k, c[k], a[k]&b[k])
					}
					ones += bits.OnesCount64(a[k]) + bits.OnesCount64(b[k])
				}
				if w >= 37 {
					if !protocoltest.FairCoin(ones, 128*w) {
						t.Fatalf("request %d: fraction of ones in A, B is %.3f", r, float64(ones)/float64(128*w))
					}
				}
			}
		})
	}
}

func TestDaBits(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sizes := []int{5, 3000}
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.DaBits, error) {
				var ds []protocol.DaBits
				for _, m := range sizes {
					d, err := protocoltest.DaBits(ctx, p, m)
					if err != nil {
						return nil, err
					}
					ds = append(ds, d)
				}
				return ds, nil
			})
			for r, m := range sizes {
				ones := 0
				for k := range m {
					var x, s uint64
					for i := range n {
						d := out[i][r]
						if len(d.Binary) != m || d.Arith.Len() != m {
							t.Fatalf("party %d: lengths %d, %d, want %d", i, len(d.Binary), d.Arith.Len(), m)
						}
						if d.Binary[k]>>1 != 0 {
							t.Fatalf("party %d: binary share %x has bits above bit 0", i, d.Binary[k])
						}
						x ^= d.Binary[k]
						s += d.Arith.Data[k]
					}
					if s > 1 || x != s {
						t.Fatalf("daBit %d: XOR %d, sum %d", k, x, s)
					}
					ones += int(s)
				}
				if m >= 1000 {
					if !protocoltest.FairCoin(ones, m) {
						t.Fatalf("fraction of ones %.3f", float64(ones)/float64(m))
					}
				}
			}
		})
	}
}

// TestTruncSignPairs reconstructs sign pairs (KindTruncSign: 33 daBits per
// element, with RShifted's bits XOR-shared) for N = 2, 3, 5, 8, one request
// across several daBit batches.
func TestTruncSignPairs(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sizes := map[int]int{16: 300, 1: 50, protocol.TruncSignMaxBits: 64*maxDaBitWords/33 + 7}
			bs := []int{16, 1, protocol.TruncSignMaxBits}
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.TruncSignPair, error) {
				var tp []protocol.TruncSignPair
				for _, b := range bs {
					m, err := p.Fetch(ctx, protocol.TruncSignRequest(sizes[b], b))
					if err != nil {
						return nil, err
					}
					tp = append(tp, m.TruncSignPair())
				}
				return tp, nil
			})
			for r, b := range bs {
				var shares []protocol.TruncSignPair
				for i := range n {
					shares = append(shares, out[i][r])
				}
				if err := protocoltest.CheckTruncSignPairs(shares, b); err != nil {
					t.Fatalf("b=%d: %v", b, err)
				}
			}
		})
	}
}

// TestTruncPairs reconstructs truncation pairs and their high parts
// (KindTruncHigh: R a uniform multiple of 2^b) for N = 2, 3, 5, 8.
func TestTruncPairs(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			shape := []int{4, 100}
			fs := []int{16, 1, 61, 32, 48}
			high := []bool{false, false, false, true, true}
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.TruncPair, error) {
				var tp []protocol.TruncPair
				for i, f := range fs {
					req := protocol.TruncRequest(shape, f)
					if high[i] {
						req = protocol.TruncHighRequest(shape, f)
					}
					m, err := p.Fetch(ctx, req)
					if err != nil {
						return nil, err
					}
					tp = append(tp, m.TruncPair())
				}
				return tp, nil
			})
			for r, f := range fs {
				get := func(sel func(protocol.TruncPair) sharing.Tensor) sharing.Tensor {
					var sh []sharing.Tensor
					for i := range n {
						sh = append(sh, sel(out[i][r]))
					}
					v, err := sharing.Reconstruct(sh)
					if err != nil {
						t.Fatal(err)
					}
					return v
				}
				rv := get(func(x protocol.TruncPair) sharing.Tensor { return x.R })
				sh := get(func(x protocol.TruncPair) sharing.Tensor { return x.RShifted })
				msb := get(func(x protocol.TruncPair) sharing.Tensor { return x.RMSB })
				kind := protocol.KindTrunc
				if high[r] {
					kind = protocol.KindTruncHigh
				}
				for k, v := range rv.Data {
					if err := checkTruncElement(kind, f, v, sh.Data[k], msb.Data[k]); err != nil {
						t.Fatalf("f=%d element %d: %v", f, k, err)
					}
				}
				// Uniform in its top bits, its lowest and, for a high pair, across
				// the bit where the parties' own values meet the daBits.
				checkBitsUniform(t, fmt.Sprintf("f=%d: R", f), rv.Data, 60)
				if high[r] {
					checkBitsUniform(t, fmt.Sprintf("f=%d: R", f), rv.Data, f)
					if m := localTruncBits(n); m > f+2 {
						checkBitsUniform(t, fmt.Sprintf("f=%d: R", f), rv.Data, m-2)
					}
				}
			}
		})
	}
}

func TestNotSupported(t *testing.T) {
	p := &Party{}
	ctx := context.Background()
	_, e2 := protocoltest.Triple(ctx, p, protocol.MatrixRequest(1, 2, 3))
	_, e4 := p.Fetch(ctx, protocol.MaskRequest(2, 2))
	_, e5 := p.Fetch(ctx, protocol.MaskProductRequest(protocol.MaskRef{}, protocol.MaskRef{}))
	for _, err := range []error{e2, e4, e5} {
		if !errors.Is(err, protocol.ErrUnservedKind) {
			t.Fatalf("got %v, want ErrUnservedKind", err)
		}
	}
}

// tamper is a transport whose receive of the k-th message from one peer is
// altered by f.
type tamper struct {
	protocol.Transport
	from, k int
	f       func([]byte) []byte
	mu      sync.Mutex
	seen    int
}

func (t *tamper) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := t.Transport.Recv(ctx, from)
	if err != nil || from != t.from {
		return msg, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen++
	if t.seen == t.k {
		msg = t.f(append([]byte(nil), msg...))
	}
	return msg, err
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		k    int // which message from party 1 to party 0
		f    func([]byte) []byte
	}{
		{"base A truncated", 1, func(b []byte) []byte { return b[:len(b)-1] }},
		{"base A invalid point", 1, func(b []byte) []byte {
			for i := headerBytes; i < headerBytes+32; i++ {
				b[i] = 0xff
			}
			return b
		}},
		{"base B invalid point", 2, func(b []byte) []byte { b[headerBytes+31] ^= 0x80; return b }},
		{"base ciphertext forged", 3, func(b []byte) []byte {
			for i := headerBytes; i < len(b); i++ {
				b[i] ^= 0x5a
			}
			return b
		}},
		{"empty", 2, func(b []byte) []byte { return nil }},
		{"extension matrix too long", 4, func(b []byte) []byte { return append(b, 0, 0, 0, 0, 0, 0, 0, 0) }},
		{"wrong tag", 4, func(b []byte) []byte { b[0] ^= 1; return b }},
		{"wrong batch", 4, func(b []byte) []byte { b[8] ^= 1; return b }},
		{"correction short", 5, func(b []byte) []byte { return b[:headerBytes+3] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wrap := func(i int, tr protocol.Transport) protocol.Transport {
				if i != 0 {
					return tr
				}
				return &tamper{Transport: tr, from: 1, k: tc.k, f: tc.f}
			}
			_, errs := session(t, 3, wrap, func(ctx context.Context, p *Party) (int, error) {
				_, err := protocoltest.AndTriple(ctx, p, 2)
				return 0, err
			})
			if errs[0] == nil {
				t.Fatal("party 0 accepted a malformed message")
			}
			if !errors.Is(errs[0], ErrMalformed) {
				t.Fatalf("party 0: %v, want ErrMalformed", errs[0])
			}
			t.Logf("party 0: %v", errs[0])
		})
	}
}

// recorder counts the bytes of message bodies received after Setup.
type recorder struct {
	protocol.Transport
	mu   sync.Mutex
	on   bool
	hist [256]int
	n    int
}

func (r *recorder) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := r.Transport.Recv(ctx, from)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && r.on && len(msg) > headerBytes {
		for _, b := range msg[headerBytes:] {
			r.hist[b]++
		}
		r.n += len(msg) - headerBytes
	}
	return msg, err
}

// TestUniformity checks that the bytes a party receives in the extension
// (matrices u and corrections, of AND triples, daBits and daBit triples) look uniform: a chi-square test on the byte
// histogram.
func TestUniformity(t *testing.T) {
	var rec *recorder
	wrap := func(i int, tr protocol.Transport) protocol.Transport {
		if i != 1 {
			return tr
		}
		rec = &recorder{Transport: tr}
		return rec
	}
	_, errs := session(t, 3, wrap, func(ctx context.Context, p *Party) (int, error) {
		if p.self == 1 {
			rec.mu.Lock()
			rec.on = true
			rec.mu.Unlock()
		}
		if _, err := protocoltest.AndTriple(ctx, p, 64); err != nil {
			return 0, err
		}
		if _, err := protocoltest.DaBits(ctx, p, 8192); err != nil {
			return 0, err
		}
		_, err := p.Fetch(ctx, protocol.DaBitTripleRequest(4096))
		return 0, err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	exp := float64(rec.n) / 256
	chi := 0.0
	for _, c := range rec.hist {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	// 255 degrees of freedom: mean 255, standard deviation 22.6.
	t.Logf("%d bytes received, chi^2 = %.1f", rec.n, chi)
	if rec.n < 100000 || chi > 400 {
		t.Fatalf("received bytes not uniform: chi^2 %.1f over %d bytes", chi, rec.n)
	}
}

// sentCounter counts the bytes a party sends.
type sentCounter struct {
	protocol.Transport
	mu   sync.Mutex
	sent int
	on   bool
}

func (c *sentCounter) Send(ctx context.Context, to int, msg []byte) error {
	c.mu.Lock()
	if c.on {
		c.sent += len(msg)
	}
	c.mu.Unlock()
	return c.Transport.Send(ctx, to, msg)
}

// TestDaBitTrafficBalanced checks that no party sends more than 1.3 times what
// another does over a few daBit batches (the fold order rotates; with a fixed
// order the first party sent only corrections, 40% of the others' bytes at N = 3).
func TestDaBitTrafficBalanced(t *testing.T) {
	for _, n := range []int{3, 5} {
		counters := make([]*sentCounter, n)
		wrap := func(i int, tr protocol.Transport) protocol.Transport {
			counters[i] = &sentCounter{Transport: tr}
			return counters[i]
		}
		_, errs := session(t, n, wrap, func(ctx context.Context, p *Party) (int, error) {
			c := counters[p.self]
			c.mu.Lock()
			c.on = true
			c.mu.Unlock()
			for range n {
				if _, err := protocoltest.DaBits(ctx, p, 640); err != nil {
					return 0, err
				}
			}
			return 0, nil
		})
		lo, hi := -1, 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("n=%d party %d: %v", n, i, err)
			}
			s := counters[i].sent
			if lo < 0 || s < lo {
				lo = s
			}
			hi = max(hi, s)
		}
		if float64(hi) > 1.3*float64(lo) {
			t.Fatalf("n=%d: parties sent between %d and %d bytes", n, lo, hi)
		}
	}
}

// TestDaBitTriples reconstructs daBit triples for N = 2, 3, 5, 8, a request of a
// few elements, one of a whole number of words and one across two batches: the
// XOR and additive shares agree on a bit, C = r B, and r and B look random.
func TestDaBitTriples(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sizes := []int{5, 3000}
			if n == 3 {
				sizes = append(sizes, 64*maxDaBitTripleWords+70)
			}
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.DaBitTriple, error) {
				var ds []protocol.DaBitTriple
				for _, m := range sizes {
					mat, err := p.Fetch(ctx, protocol.DaBitTripleRequest(m))
					if err != nil {
						return nil, err
					}
					ds = append(ds, mat.DaBitTriple())
				}
				return ds, nil
			})
			for r, m := range sizes {
				ones, high := 0, 0
				for k := range m {
					var x, s, b, c uint64
					for i := range n {
						d := out[i][r]
						if len(d.Binary) != m || d.Arith.Len() != m || d.B.Len() != m || d.C.Len() != m {
							t.Fatalf("party %d: lengths %d, %d, %d, %d, want %d", i, len(d.Binary), d.Arith.Len(), d.B.Len(), d.C.Len(), m)
						}
						if d.Binary[k]>>1 != 0 {
							t.Fatalf("party %d: binary share %x has bits above bit 0", i, d.Binary[k])
						}
						x ^= d.Binary[k]
						s += d.Arith.Data[k]
						b += d.B.Data[k]
						c += d.C.Data[k]
					}
					if s > 1 || x != s {
						t.Fatalf("size %d element %d: XOR %d, sum %d", m, k, x, s)
					}
					if c != s*b {
						t.Fatalf("size %d element %d: C = %x, want %d * %x", m, k, c, s, b)
					}
					ones += int(s)
					high += int(b >> 63)
				}
				if m >= 1000 {
					for what, c := range map[string]int{"ones": ones, "B's top bit": high} {
						if !protocoltest.FairCoin(c, m) {
							t.Fatalf("size %d: fraction of %s %.3f", m, what, float64(c)/float64(m))
						}
					}
				}
			}
		})
	}
}

// checkTruncElement checks one reconstructed element of truncation material:
// a pair's RShifted and RMSB are R's bits exactly; a high pair's R is a
// multiple of 2^b with R = 2^b RShifted + 2^63 RMSB (mod 2^64) and 2^b
// RShifted below 2^63 + 2^TruncHighSlackBits (the parties' own low parts).
func checkTruncElement(kind protocol.Kind, b int, r, shifted, msb uint64) error {
	if kind != protocol.KindTruncHigh {
		if shifted != (r&^(1<<63))>>b || msb != r>>63 {
			return fmt.Errorf("R=%x RShifted=%x RMSB=%x", r, shifted, msb)
		}
		return nil
	}
	if r&(1<<b-1) != 0 {
		return fmt.Errorf("the high part R=%x has low bits", r)
	}
	if msb > 1 || shifted<<b+msb<<63 != r {
		return fmt.Errorf("R=%x is not 2^%d RShifted (%x) + 2^63 RMSB (%x)", r, b, shifted, msb)
	}
	if limit := uint64(1)<<(63-b) + uint64(1)<<(protocol.TruncHighSlackBits-b); shifted >= limit {
		return fmt.Errorf("RShifted=%x is past the slack (limit %x)", shifted, limit)
	}
	return nil
}

// checkBitsUniform fails the test when bits from..from+3 of the values are
// not uniform (chi-square with 15 degrees of freedom, p < 1e-5).
func checkBitsUniform(t *testing.T, what string, values []uint64, from int) {
	t.Helper()
	var cells [16]int
	for _, v := range values {
		cells[v>>from&15]++
	}
	exp := float64(len(values)) / 16
	chi := 0.0
	for _, c := range cells {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	if chi > 50 {
		t.Fatalf("%s: bits %d..%d not uniform: %v (chi^2 %.1f)", what, from, from+3, cells, chi)
	}
}
