package he

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
)

// setupPair sets up two real parties over recorders on a memory network.
func setupPair(t *testing.T) ([]*Party, []*recorder, []*network.Memory) {
	t.Helper()
	mem, err := network.NewMemoryNetwork(2)
	if err != nil {
		t.Fatal(err)
	}
	recs := []*recorder{{Transport: mem[0]}, {Transport: mem[1]}}
	ps := setupOver(t, 2, func(i int) protocol.Transport { return recs[i] })
	recs[0].take()
	recs[1].take()
	return ps, recs, mem
}

// TestMalformedPeerMessages lets party 1 answer party 0's first matrix-triple
// round with mutations of the message it would really send: party 0 must
// fail with an error naming party 1 and the step, never panic, and refuse
// later requests.
func TestMalformedPeerMessages(t *testing.T) {
	// capture a genuine first message of party 1
	ps, recs, _ := setupPair(t)
	runAll(t, ps, func(ctx context.Context, p *Party) (struct{}, error) {
		_, err := protocoltest.Triple(ctx, p, protocol.MatrixRequest(3, 40, 5))
		return struct{}{}, err
	})
	sent, _ := recs[1].take()
	genuine := sent[0].data
	if sent[0].step != stepS2EUp || len(genuine) <= headerSize {
		t.Fatalf("unexpected first message: step %d, %d bytes", sent[0].step, len(genuine))
	}
	mutate := func(f func(m []byte) []byte) []byte { return f(append([]byte(nil), genuine...)) }
	cases := map[string][]byte{
		"empty":        {},
		"short header": genuine[:headerSize-1],
		"bad magic":    mutate(func(m []byte) []byte { m[0] = 'X'; return m }),
		"bad version":  mutate(func(m []byte) []byte { m[2] = 9; return m }),
		"wrong step":   mutate(func(m []byte) []byte { m[3] = stepE2SUp; return m }),
		"wrong request": mutate(func(m []byte) []byte {
			binary.LittleEndian.PutUint64(m[4:], 7)
			return m
		}),
		"wrong items": mutate(func(m []byte) []byte {
			binary.LittleEndian.PutUint32(m[16:], binary.LittleEndian.Uint32(m[16:])+1)
			return m
		}),
		"truncated":       genuine[:len(genuine)-1],
		"trailing byte":   append(append([]byte(nil), genuine...), 0),
		"residue above q": mutate(func(m []byte) []byte { copy(m[headerSize:], bytes.Repeat([]byte{0xff}, 8)); return m }),
		"huge":            make([]byte, 4<<20),
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			ps, _, mem := setupPair(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := protocoltest.Triple(ctx, ps[0], protocol.MatrixRequest(3, 40, 5))
				done <- err
			}()
			// party 1 plays the attacker: it reads party 0's message and answers
			if _, err := mem[1].Recv(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if err := mem[1].Send(ctx, 0, msg); err != nil {
				t.Fatal(err)
			}
			err := <-done
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), "party 1") || !strings.Contains(err.Error(), "shares-to-encryption") {
				t.Fatalf("got %v, want an error naming party 1 and the step", err)
			}
			if _, err2 := protocoltest.Triple(ctx, ps[0], protocol.ElementwiseRequest([]int{3})); err2 == nil || !strings.Contains(err2.Error(), "unusable") {
				t.Fatalf("after a failure: %v", err2)
			}
		})
	}
}

func TestMalformedSetupMessages(t *testing.T) {
	for name, msg := range map[string][]byte{
		"garbage":      []byte("hello"),
		"wrong params": append(appendHeader(nil, header{step: stepCommit, items: 1}), make([]byte, 68)...),
	} {
		mem, err := network.NewMemoryNetwork(2)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		done := make(chan error, 1)
		go func() {
			_, err := Setup(ctx, mem[0])
			done <- err
		}()
		if err := mem[1].Send(ctx, 0, msg); err != nil {
			t.Fatal(err)
		}
		err = <-done
		cancel()
		if err == nil || !strings.Contains(err.Error(), "party 1") {
			t.Fatalf("%s: got %v", name, err)
		}
	}
}

// TestCoinTossCheating: a party that reveals a value other than the one it
// committed to is caught.
func TestCoinTossCheating(t *testing.T) {
	mem, err := network.NewMemoryNetwork(2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Setup(ctx, mem[0])
		done <- err
	}()
	st := getSuite()
	var coin [32]byte
	commit := coinCommitment(1, coin)
	body := append(append([]byte(nil), st.fingerprint[:]...), 2, 0, 0, 0)
	body = append(body, commit[:]...)
	if err := mem[1].Send(ctx, 0, append(appendHeader(nil, header{step: stepCommit, items: 1}), body...)); err != nil {
		t.Fatal(err)
	}
	coin[0] = 1 // reveal something else
	if err := mem[1].Send(ctx, 0, append(appendHeader(nil, header{step: stepReveal, items: 1}), coin[:]...)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "does not match its commitment") {
		t.Fatalf("got %v", err)
	}
}

func TestContextCancellation(t *testing.T) {
	ps, _, _ := setupPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := protocoltest.Triple(ctx, ps[0], protocol.MatrixRequest(4, 4, 4)) // party 1 never answers
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("cancellation took too long")
	}
}

func TestMaskProducts(t *testing.T) {
	ps, _, _ := setupPair(t)
	type out struct {
		x, y, xy, xty []uint64
	}
	res := runAll(t, ps, func(ctx context.Context, p *Party) (out, error) {
		x, err := p.Fetch(ctx, protocol.MaskRequest(5, 7))
		if err != nil {
			return out{}, err
		}
		y, err := p.Fetch(ctx, protocol.MaskRequest(7, 3))
		if err != nil {
			return out{}, err
		}
		xr := maskRef(x.ID, 5, 7, false)
		xy, err := p.Fetch(ctx, protocol.MaskProductRequest(xr, maskRef(y.ID, 7, 3, false)))
		if err != nil {
			return out{}, err
		}
		xtx, err := p.Fetch(ctx, protocol.MaskProductRequest(maskRef(x.ID, 5, 7, true), xr)) // X^T X
		if err != nil {
			return out{}, err
		}
		return out{x.Parts[0].Data, y.Parts[0].Data, xy.Parts[0].Data, xtx.Parts[0].Data}, nil
	})
	sum := func(f func(o out) []uint64) []uint64 {
		s := append([]uint64(nil), f(res[0])...)
		for i, v := range f(res[1]) {
			s[i] += v
		}
		return s
	}
	x, y := sum(func(o out) []uint64 { return o.x }), sum(func(o out) []uint64 { return o.y })
	xy, xtx := sum(func(o out) []uint64 { return o.xy }), sum(func(o out) []uint64 { return o.xty })
	for i := 0; i < 5; i++ {
		for j := 0; j < 3; j++ {
			var c uint64
			for k := 0; k < 7; k++ {
				c += x[i*7+k] * y[k*3+j]
			}
			if xy[i*3+j] != c {
				t.Fatalf("XY[%d,%d] wrong", i, j)
			}
		}
	}
	for i := 0; i < 7; i++ {
		for j := 0; j < 7; j++ {
			var c uint64
			for k := 0; k < 5; k++ {
				c += x[k*7+i] * x[k*7+j]
			}
			if xtx[i*7+j] != c {
				t.Fatalf("X^T X[%d,%d] wrong", i, j)
			}
		}
	}
	// an unknown mask is refused
	if _, err := ps[0].Fetch(context.Background(), protocol.MaskProductRequest(maskRef(99, 5, 7, false), maskRef(0, 7, 3, false))); err == nil {
		t.Fatal("unknown mask accepted")
	}
}

func maskRef(id uint64, rows, cols int, trans bool) protocol.MaskRef {
	return protocol.MaskRef{ID: id, Rows: rows, Cols: cols, Trans: trans}
}

// TestChunking forces requests to be split into several chunks (each its own
// five-step exchange) and checks the results are still exact.
func TestChunking(t *testing.T) {
	old := maxPolysPerChunk
	maxPolysPerChunk = 4
	defer func() { maxPolysPerChunk = old }()
	ps, _, _ := setupPair(t)
	// a layout with 5 row blocks of 7 rows (the chooser would take one block)
	l, ok := evalLayout(matLayout{m: 30, k: 20, n: 7, mw: 7, kw: 20, nw: 7}, 2, DefaultCommWeight)
	if !ok || l.mb != 5 || l.rowBlocksPerChunk() >= l.mb {
		t.Fatalf("layout %+v does not chunk", l)
	}
	type out struct{ a, b, c, ea, eb, ec []uint64 }
	res := runAll(t, ps, func(ctx context.Context, p *Party) (out, error) {
		var o out
		err := p.serve(ctx, "chunked matrix triple", func(req uint64) error {
			o.a, o.b = p.operand(labelA, req, 30*20), p.operand(labelB, req, 20*7)
			var err error
			o.c, err = p.matMulWith(ctx, req, l, o.a, o.b)
			return err
		})
		if err != nil {
			return out{}, err
		}
		e, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{3*384 + 5}))
		if err != nil {
			return out{}, err
		}
		o.ea, o.eb, o.ec = e.A.Data, e.B.Data, e.C.Data
		return o, nil
	})
	add := func(x, y []uint64) []uint64 {
		z := append([]uint64(nil), x...)
		for i := range y {
			z[i] += y[i]
		}
		return z
	}
	a, b, c := add(res[0].a, res[1].a), add(res[0].b, res[1].b), add(res[0].c, res[1].c)
	for i := 0; i < 30; i++ {
		for j := 0; j < 7; j++ {
			var v uint64
			for k := 0; k < 20; k++ {
				v += a[i*20+k] * b[k*7+j]
			}
			if c[i*7+j] != v {
				t.Fatalf("C[%d,%d] wrong", i, j)
			}
		}
	}
	ea, eb, ec := add(res[0].ea, res[1].ea), add(res[0].eb, res[1].eb), add(res[0].ec, res[1].ec)
	for i := range ea {
		if ec[i] != ea[i]*eb[i] {
			t.Fatalf("element %d wrong", i)
		}
	}
}
