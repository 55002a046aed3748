//go:build unix

package ot

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSession times op with one Party per party (channels=1) and with a
// Parallel source over two channels (channels=2): compare them with
// benchstat -col /channels.
func benchSession(b *testing.B, n int, op func(ctx context.Context, src protocol.Source) error) {
	for _, channels := range []int{1, 2} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) { benchSources(b, n, channels, op) })
	}
}

// setupSource is one party's OT source over tr: a Party, or a Parallel over
// that many channels of a mux.
func setupSource(ctx context.Context, tr protocol.Transport, channels int) (protocol.Source, error) {
	if channels == 1 {
		return Setup(ctx, tr)
	}
	mux, err := network.NewMux(tr, channels)
	if err != nil {
		return nil, err
	}
	chs := make([]protocol.Transport, channels)
	for k := range chs {
		chs[k] = mux.Channel(k)
	}
	return SetupParallel(ctx, chs)
}

// benchSources sets up n parties once, then times op on all of them b.N times.
// It reports wall time per op (all parties at once, sharing this machine's
// cores), CPU per party per op (process CPU / n) and bytes sent per party per op.
func benchSources(b *testing.B, n, channels int, op func(ctx context.Context, src protocol.Source) error) {
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	parties := make([]protocol.Source, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			parties[i], errs[i] = setupSource(ctx, ts[i], channels)
			if errs[i] != nil {
				ts[i].Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("party %d: %v", i, err)
		}
	}
	var sent0 int64
	for i := range n {
		sent0 += ts[i].Stats().BytesSent
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		for i := range n {
			wg.Go(func() {
				if errs[i] = op(ctx, parties[i]); errs[i] != nil {
					ts[i].Close()
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				b.Fatalf("party %d: %v", i, err)
			}
		}
	}
	b.StopTimer()
	var sent, most int64
	for i := range n {
		sent += ts[i].Stats().BytesSent
		most = max(most, ts[i].Stats().BytesSent)
	}
	b.ReportMetric(float64(most)/float64(b.N)/1e6, "MB-sent/busiest-party")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n)/float64(b.N)/1e6, "cpu-ms/party")
	b.ReportMetric(float64(sent-sent0)/float64(n)/float64(b.N)/1e6, "MB-sent/party")
}

func BenchmarkSetup3(b *testing.B) {
	for range b.N {
		ts, _ := network.NewMemoryNetwork(3)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				if _, err := Setup(context.Background(), ts[i]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(ts[0].Stats().BytesSent)/1e3, "kB-sent/party")
	}
}

// 1 million AND-triple bits.
func BenchmarkAndTriples1M(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.AndTriple(ctx, p, 15625)
		return err
	})
}

func BenchmarkDaBits100k(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.DaBits(ctx, p, 100000)
		return err
	})
}

func BenchmarkTruncPairs10k(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.TruncPair(ctx, p, []int{10000}, 16)
		return err
	})
}

// Sign pairs (33 daBits per element) for 10,000 elements, against the
// truncation pairs above (64).
func BenchmarkTruncSignPairs10k(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := p.Fetch(ctx, protocol.TruncSignRequest(10000, 16))
		return err
	})
}

// One hash of the extension (one fixed-key AES call), per row.
func BenchmarkCRHash(b *testing.B) {
	h := newCRHash()
	rs := make([]uint64, 2*4096)
	out := make([]uint64, 4096)
	b.SetBytes(16 * 4096)
	for range b.N {
		h.hashRows(0, rs, 0, 0, outWords, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*4096), "ns/hash")
}

// 10,000 element-wise triples (Gilboa products over SoftSpoken OT); compare
// protocol/he's BenchmarkElementwise* for the HE route.
func BenchmarkElementwiseTriples10k(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{10000}))
		return err
	})
}

func BenchmarkSquarePairs10k(b *testing.B) {
	benchSession(b, 3, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.SquarePair(ctx, p, []int{10000})
		return err
	})
}

// The daBits of a cancer step's truncation request (344 elements, 64 daBits
// each) at N = 8, where each daBit costs N(N-1)/2 = 28 OTs: small batches,
// many peers.
func BenchmarkDaBits22kN8(b *testing.B) {
	benchSession(b, 8, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.DaBits(ctx, p, 344*64)
		return err
	})
}

// Packing and unpacking one batch's daBit corrections (a truncation request's
// 344 elements, 64 daBits each, at the widths truncBitWidth gives), per daBit.
func BenchmarkPackCorrections(b *testing.B) {
	const n = 344 * 64
	widths := make([]uint8, n)
	bits := 0
	for k := range widths {
		widths[k] = uint8(truncBitWidth(k%64, 16, 64))
		bits += int(widths[k])
	}
	vals := randWords(n)
	msg := newWordMessage(tagE, 0, (bits+63)/64)
	body := msg.bytes()[headerBytes:]
	got := make([]uint64, n)
	var sum uint64
	for range b.N {
		clear(msg.body())
		pk := packer{out: msg.body()}
		pk.put(vals, widths)
		un := byteUnpacker{in: body}
		un.get(got, widths)
		sum += got[n-1]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/daBit")
	if sum == 1 {
		b.Log(sum)
	}
}

// A cancer step's truncation request as N = 8 makes it: the high pairs of 360
// elements (48 daBits each, at the widths truncBitWidth gives), 28 OTs per
// daBit.
func BenchmarkTruncHighPairs360N8(b *testing.B) {
	benchSession(b, 8, func(ctx context.Context, p protocol.Source) error {
		_, err := p.Fetch(ctx, protocol.TruncHighRequest([]int{360}, 16))
		return err
	})
}

// A cancer step's element-wise triples at N = 8 (56 ordered pairs of 64 OTs
// per element).
func BenchmarkElementwiseTriples500N8(b *testing.B) {
	benchSession(b, 8, func(ctx context.Context, p protocol.Source) error {
		_, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{500}))
		return err
	})
}
