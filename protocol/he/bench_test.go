package he_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchHE runs gen on all parties b.N times and reports per-party figures:
// CPU (process CPU / parties), bytes sent (average and largest party), and
// bytes per 1,000 outputs.
func benchHE(b *testing.B, np, outputs int, gen func(ctx context.Context, p *he.Party) error, opts ...he.Option) {
	ps, ts := setupParties(b, np, opts...)
	ctx := context.Background()
	before := make([]int64, np)
	for i, t := range ts {
		before[i] = t.Stats().BytesSent
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		if _, err := protocoltest.Concurrently(ctx, np, func(ctx context.Context, i int) (struct{}, error) {
			return struct{}{}, gen(ctx, ps[i])
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportParties(b, np, outputs, cpuTime()-cpu0, ts, before)
}

func reportParties(b *testing.B, np, outputs int, cpu time.Duration, ts []*network.Memory, before []int64) {
	reportRuns(b, np, outputs, b.N, cpu, ts, before)
}

func reportRuns(b *testing.B, np, outputs, runs int, cpu time.Duration, ts []*network.Memory, before []int64) {
	var total, most int64
	for i, t := range ts {
		s := t.Stats().BytesSent - before[i]
		total += s
		most = max(most, s)
	}
	n := float64(runs)
	avg := float64(total) / float64(np) / n
	b.ReportMetric(cpu.Seconds()*1e3/float64(np)/n, "cpu-ms/party")
	b.ReportMetric(avg/1e6, "MB-sent/party")
	b.ReportMetric(float64(most)/n/1e6, "MB-sent/max-party")
	if outputs > 0 {
		b.ReportMetric(avg/1e6/float64(outputs)*1000, "MB/party/1k-outputs")
	}
}

func benchDealer(b *testing.B, np int, gen func(ctx context.Context, src protocol.Source) error) {
	d, err := protocol.NewDealer(np, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	srcs := make([]protocol.Source, np)
	for i := range srcs {
		if srcs[i], err = d.Source(i); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	sent0 := d.BytesSent()
	cpu0 := cpuTime()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for _, s := range srcs {
			if err := gen(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(np)/float64(b.N), "cpu-ms/party")
	b.ReportMetric(float64(d.BytesSent()-sent0)/float64(b.N)/1e6, "MB-dealer-sent")
}

func BenchmarkMatrixTriple(b *testing.B) {
	const np = 3
	for _, s := range [][3]int{{64, 784, 128}, {128, 784, 128}} {
		m, k, n := s[0], s[1], s[2]
		name := fmt.Sprintf("%dx%dx%d", m, k, n)
		b.Run(name+"/he", func(b *testing.B) {
			if pk, err := he.MatrixPacking(m, k, n, np, he.DefaultCommWeight); err == nil {
				b.Logf("packing %+v", pk)
			}
			benchHE(b, np, m*n, func(ctx context.Context, p *he.Party) error {
				_, err := protocoltest.Triple(ctx, p, protocol.MatrixRequest(m, k, n))
				return err
			})
		})
		b.Run(name+"/dealer", func(b *testing.B) {
			benchDealer(b, np, func(ctx context.Context, src protocol.Source) error {
				_, err := protocoltest.Triple(ctx, src, protocol.MatrixRequest(m, k, n))
				return err
			})
		})
	}
}

// BenchmarkMatrixTripleCommWeight shows the packing's trade of computation
// for communication (64x784x128, 3 parties).
func BenchmarkMatrixTripleCommWeight(b *testing.B) {
	const np, m, k, n = 3, 64, 784, 128
	for _, w := range []float64{0, he.DefaultCommWeight, 20} {
		b.Run(fmt.Sprintf("w=%g", w), func(b *testing.B) {
			pk, err := he.MatrixPacking(m, k, n, np, w)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("packing %+v", pk)
			benchHE(b, np, m*n, func(ctx context.Context, p *he.Party) error {
				_, err := protocoltest.Triple(ctx, p, protocol.MatrixRequest(m, k, n))
				return err
			}, he.WithCommWeight(w))
		})
	}
}

func BenchmarkElementwiseTriple1000(b *testing.B) {
	const np = 3
	b.Run("he", func(b *testing.B) {
		benchHE(b, np, 1000, func(ctx context.Context, p *he.Party) error {
			_, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{1000}))
			return err
		})
	})
	b.Run("dealer", func(b *testing.B) {
		benchDealer(b, np, func(ctx context.Context, src protocol.Source) error {
			_, err := protocoltest.Triple(ctx, src, protocol.ElementwiseRequest([]int{1000}))
			return err
		})
	})
}

func BenchmarkSetup(b *testing.B) {
	const np = 3
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		ts, err := network.NewMemoryNetwork(np)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		b.StartTimer()
		if _, err := protocoltest.Concurrently(context.Background(), np, func(ctx context.Context, i int) (*he.Party, error) {
			return he.Setup(ctx, ts[i])
		}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if it == b.N-1 {
			reportRuns(b, np, 0, 1, cpuTime()-cpu0, ts, make([]int64, np))
		}
		b.StartTimer()
	}
}

// BenchmarkMNISTStepProducts makes the matrix products of one MNIST training
// step (784-128-128-10, batch 128, 3 parties: the engine's 8 mask products) at
// communication weights around the default: the measurement behind
// DefaultCommWeight.
//
//	go test ./protocol/he -run '^$' -bench MNISTStepProducts -benchtime 1x
func BenchmarkMNISTStepProducts(b *testing.B) {
	const np = 3
	shapes := [][3]int{{128, 784, 128}, {128, 128, 128}, {128, 128, 10}, {128, 128, 10}, {128, 10, 128}, {128, 128, 128}, {128, 128, 128}, {784, 128, 128}}
	outputs := 0
	for _, s := range shapes {
		outputs += s[0] * s[2]
	}
	for _, w := range []float64{2, 10} {
		b.Run(fmt.Sprintf("w=%g", w), func(b *testing.B) {
			benchHE(b, np, outputs, func(ctx context.Context, p *he.Party) error {
				for _, s := range shapes {
					if _, err := protocoltest.Triple(ctx, p, protocol.MatrixRequest(s[0], s[1], s[2])); err != nil {
						return err
					}
				}
				return nil
			}, he.WithCommWeight(w))
		})
	}
}

// BenchmarkCancerStepProducts makes the mask products of one training step of
// the cancer config (30-16-1, batch 32) among 8 parties: five small products,
// each a small corner of a ciphertext, where per-ciphertext costs dominate.
// "single" asks for them one at a time, "batch" in one FetchBatch (as a
// pipeline does), which packs them into shared ciphertexts.
//
//	go test ./protocol/he -run '^$' -bench CancerStepProducts -benchtime 3x
func BenchmarkCancerStepProducts(b *testing.B) {
	const np = 8
	masks := [][2]int{{32, 30}, {30, 16}, {32, 16}, {16, 1}, {32, 1}} // X, W1, dZ1 (and H), W2, dZ2
	type product struct {
		x, y   int
		tx, ty bool
	}
	// X W1, H W2, H^T dZ2, dZ2 W2^T, X^T dZ1
	products := []product{{0, 1, false, false}, {2, 3, false, false}, {2, 4, true, false}, {4, 3, false, true}, {0, 2, true, false}}
	outputs := 32*16 + 32 + 16 + 32*16 + 30*16
	ref := func(ids []uint64, i int, trans bool) protocol.MaskRef {
		return protocol.MaskRef{ID: ids[i], Rows: masks[i][0], Cols: masks[i][1], Trans: trans}
	}
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "single", true: "batch"}[batch]
		b.Run(name, func(b *testing.B) {
			benchHE(b, np, outputs, func(ctx context.Context, p *he.Party) error {
				ids := make([]uint64, len(masks))
				for i, d := range masks {
					m, err := p.Fetch(ctx, protocol.MaskRequest(d[0], d[1]))
					if err != nil {
						return err
					}
					ids[i] = m.ID
				}
				var reqs []protocol.Request
				for _, pr := range products {
					reqs = append(reqs, protocol.MaskProductRequest(ref(ids, pr.x, pr.tx), ref(ids, pr.y, pr.ty)))
				}
				if batch {
					_, err := p.FetchBatch(ctx, reqs)
					return err
				}
				for _, req := range reqs {
					if _, err := p.Fetch(ctx, req); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}
