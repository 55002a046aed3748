package protocol_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// recorder is a transport that keeps every message party 0 receives: the view of a
// curious party.
type recorder struct {
	protocol.Transport
	mu   sync.Mutex
	seen []uint64
	sent []uint64 // the words sent to party 1
}

func (r *recorder) Send(ctx context.Context, to int, msg []byte) error {
	if to == 1 && len(msg) >= 16 {
		r.mu.Lock()
		for off := 16; off+8 <= len(msg); off += 8 {
			r.sent = append(r.sent, binary.LittleEndian.Uint64(msg[off:]))
		}
		r.mu.Unlock()
	}
	return r.Transport.Send(ctx, to, msg)
}

func (r *recorder) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := r.Transport.Recv(ctx, from)
	if err == nil && len(msg) >= 16 {
		r.mu.Lock()
		for off := 16; off+8 <= len(msg); off += 8 {
			r.seen = append(r.seen, binary.LittleEndian.Uint64(msg[off:]))
		}
		r.mu.Unlock()
	}
	return msg, err
}

// runWithParty0Seen runs op on n engines over an in-memory network with a dealer
// (16 fractional bits), party 0's transport wrapped by watch (a recorder of what
// it receives), and fails the test if any party fails.
func runWithParty0Seen(t *testing.T, n int, watch func(protocol.Transport) protocol.Transport, op func(ctx context.Context, e *protocol.Engine, i int) error) {
	t.Helper()
	runWithParty0SeenConfig(t, n, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, watch, op)
}

// runWithParty0SeenConfig is runWithParty0Seen with an explicit engine config.
func runWithParty0SeenConfig(t *testing.T, n int, cfg protocol.Config, watch func(protocol.Transport) protocol.Transport, op func(ctx context.Context, e *protocol.Engine, i int) error) {
	t.Helper()
	runWithParty0SeenFrom(t, cfg, protocoltest.DealerSources(t, n), watch, op)
}

// runWithParty0SeenFrom is runWithParty0SeenConfig on the given sources (one
// per party) instead of a dealer.
func runWithParty0SeenFrom(t *testing.T, cfg protocol.Config, srcs []protocol.Source, watch func(protocol.Transport) protocol.Transport, op func(ctx context.Context, e *protocol.Engine, i int) error) {
	t.Helper()
	n := len(srcs)
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var tr protocol.Transport = ts[i]
			if i == 0 {
				tr = watch(tr)
			}
			e, err := protocol.NewEngine(tr, srcs[i], cfg)
			if err == nil {
				err = op(ctx, e, i)
			}
			if errs[i] = err; err != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
}

// viewOfParty0 runs Mul, MatMul, Square and Truncate on the given secret inputs
// (held by parties 1..n-1 via Input) and returns every word party 0 received.
func viewOfParty0(t *testing.T, n int, x sharing.Tensor) []uint64 {
	t.Helper()
	var rec *recorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &recorder{Transport: tr}; return rec }
	runWithParty0Seen(t, n, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		var mine sharing.Tensor
		if i == 1 {
			mine = x
		}
		s, err := e.Input(ctx, 1, mine, x.Shape...)
		if err != nil {
			return err
		}
		if _, err := e.Mul(ctx, s, s); err != nil {
			return err
		}
		if _, err := e.Square(ctx, s); err != nil {
			return err
		}
		if _, err := e.MatMul(ctx, s, sharing.Transpose(s)); err != nil {
			return err
		}
		_, err = e.Truncate(ctx, s)
		return err
	})
	return rec.seen
}

// histogram buckets words by their top and bottom 4 bits (32 counts).
func histogram(words []uint64) []float64 {
	h := make([]float64, 32)
	for _, w := range words {
		h[w>>60]++
		h[16+w&15]++
	}
	return h
}

func chiSquareUniform(h []float64, total int) float64 {
	exp := float64(total) / 16
	s := 0.0
	for _, c := range h {
		s += (c - exp) * (c - exp) / exp
	}
	return s
}

// chiSquareTwoSample compares two histograms of the same total.
func chiSquareTwoSample(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		if a[i]+b[i] > 0 {
			s += (a[i] - b[i]) * (a[i] - b[i]) / (a[i] + b[i])
		}
	}
	return s
}

// TestOpenedValuesUniform checks that what a curious party receives is uniform and
// the same whatever the other parties' inputs: all zeros, all one value, or data
// with structure.
func TestOpenedValuesUniform(t *testing.T) {
	const rows, cols = 64, 64
	zero := sharing.Zeros(rows, cols)
	constant := sharing.Zeros(rows, cols)
	ramp := sharing.Zeros(rows, cols)
	for i := range constant.Data {
		constant.Data[i] = 0x7fff_0000_0000_0000 >> 3
		ramp.Data[i] = uint64(i) << 16
	}
	// Two 16-bin histograms: 30 degrees of freedom; threshold at p = 1e-6 so the test
	// fails by chance about once in a million runs.
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	for _, n := range partyCounts {
		var hists [][]float64
		var counts []int
		for k, x := range []sharing.Tensor{zero, constant, ramp} {
			var words []uint64
			for rep := 0; rep < 8; rep++ {
				words = append(words, viewOfParty0(t, n, x)...)
			}
			h := histogram(words)
			if stat := chiSquareUniform(h, len(words)); stat > crit {
				t.Fatalf("n=%d input %d: party 0's view is not uniform: chi-square %.1f > %.1f over %d words", n, k, stat, crit, len(words))
			}
			hists = append(hists, h)
			counts = append(counts, len(words))
		}
		for k := 1; k < len(hists); k++ {
			if counts[k] != counts[0] {
				t.Fatalf("n=%d: view sizes differ with the input: %d vs %d words", n, counts[k], counts[0])
			}
			if stat := chiSquareTwoSample(hists[0], hists[k]); stat > critTwo {
				t.Fatalf("n=%d: view with input %d differs from the view with zeros: chi-square %.1f > %.1f", n, k, stat, critTwo)
			}
		}
		t.Log(fmt.Sprintf("n=%d: %d words per view, all uniform", n, counts[0]))
	}
}

// TestCompactTruncationViewUniform checks what party 0 receives during compact
// truncations (TruncateEachCompact): every lane of every word is uniform, and
// of the opened sums too (the low bits of a share must not be sent), and its
// distribution does not depend on the input (zeros, one value, structure).
// With a dealer's high pairs, and with dealer-free ones (protocol/ot), whose
// bits below 2^58/N are the parties' own values.
func TestCompactTruncationViewUniform(t *testing.T) {
	for _, n := range partyCounts {
		checkCompactTruncationView(t, "dealer", protocoltest.DealerSources(t, n), []int{16, 32, 43})
	}
	for _, n := range []int{3, 8} {
		checkCompactTruncationView(t, "ot", otSources(t, n), []int{16, 43})
	}
}

func checkCompactTruncationView(t *testing.T, source string, srcs []protocol.Source, widths []int) {
	t.Helper()
	const size = 4096
	zero, constant, ramp := sharing.Zeros(size), sharing.Zeros(size), sharing.Zeros(size)
	for i := range constant.Data {
		constant.Data[i] = 0x7fff_0000_0000_0000 >> 3
		ramp.Data[i] = uint64(i) << 16
	}
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	n := len(srcs)
	for _, b := range widths {
		w := 64 - b
		var hists [][]float64
		for k, x := range []sharing.Tensor{zero, constant, ramp} {
			var lanes []uint64
			for range 4 {
				var rec *recorder
				watch := func(tr protocol.Transport) protocol.Transport { rec = &recorder{Transport: tr}; return rec }
				runWithParty0SeenFrom(t, protocol.Config{Codec: sharing.Codec{FracBits: 16}}, srcs, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
					var mine sharing.Tensor
					if i == 1 {
						mine = x
					}
					s, err := e.Input(ctx, 1, mine, size)
					if err != nil {
						return err
					}
					if i == 0 { // the input's seeds are not the truncation's view
						rec.mu.Lock()
						rec.seen, rec.sent = nil, nil
						rec.mu.Unlock()
					}
					_, err = e.TruncateEachCompact(ctx, []int{b}, []sharing.Tensor{s})
					return err
				})
				// Every peer's words, and the opened sum (party 0's own
				// words plus its peers').
				sums := append([]uint64(nil), rec.sent...)
				for j, word := range rec.seen {
					sums[j%len(sums)] += word
				}
				for _, word := range append(rec.seen, sums...) {
					for l := 0; l+w <= 64; l += w {
						lanes = append(lanes, word>>l&(1<<w-1))
					}
				}
			}
			h := make([]float64, 32)
			for _, v := range lanes {
				h[v>>(w-4)]++
				h[16+v&15]++
			}
			if stat := chiSquareUniform(h, len(lanes)); stat > crit {
				t.Fatalf("%s n=%d b=%d input %d: party 0's lanes are not uniform: chi-square %.1f > %.1f", source, n, b, k, stat, crit)
			}
			hists = append(hists, h)
		}
		for k := 1; k < len(hists); k++ {
			if stat := chiSquareTwoSample(hists[0], hists[k]); stat > critTwo {
				t.Fatalf("%s n=%d b=%d: the view with input %d differs from the view with zeros: chi-square %.1f > %.1f", source, n, b, k, stat, critTwo)
			}
		}
	}
}
