package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// benchNonlinear times op on shares of a random fixed-point rows x cols matrix
// (values in (-bound, bound)) among n parties on this machine, dealer included,
// and reports one party's rounds and bytes sent per operation.
func benchNonlinear(b *testing.B, n, rows, cols int, bound float64, op func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error) {
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		b.Fatal(err)
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	codec := sharing.Codec{FracBits: 16}
	x, _ := randomFixed(codec, bound, rows, cols)
	shares := splitAll(b, n, x)
	ctx := context.Background()
	engines := make([]*protocol.Engine, n)
	for i := range engines {
		src, err := dealer.Source(i)
		if err != nil {
			b.Fatal(err)
		}
		if engines[i], err = protocol.NewEngine(ts[i], src, protocol.Config{Codec: codec}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for it := 0; it < b.N; it++ {
				if err := op(ctx, engines[i], shares[i][0]); err != nil {
					errs[i] = err
					for _, t := range ts {
						t.Close()
					}
					return
				}
			}
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("party %d: %v", i, err)
		}
	}
	st := ts[1].Stats()
	b.ReportMetric(float64(st.BytesSent)/float64(b.N), "sent-B/party/op")
	b.ReportMetric(float64(st.Rounds)/float64(b.N), "rounds/op")
	b.ReportMetric(float64(dealer.BytesSent())/float64(b.N), "dealer-B/op")
}

func BenchmarkReLU(b *testing.B) {
	for _, n := range []int{2, 3} {
		b.Run(fmt.Sprintf("parties=%d/128x128", n), func(b *testing.B) {
			benchNonlinear(b, n, 128, 128, 8, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
				_, _, err := e.ReLU(ctx, x)
				return err
			})
		})
	}
}

func BenchmarkSoftmax(b *testing.B) {
	for _, n := range []int{2, 3} {
		b.Run(fmt.Sprintf("parties=%d/128x10", n), func(b *testing.B) {
			benchNonlinear(b, n, 128, 10, 8, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
				_, err := e.Softmax(ctx, x)
				return err
			})
		})
	}
}

func BenchmarkSigmoid(b *testing.B) {
	b.Run("parties=3/128x128", func(b *testing.B) {
		benchNonlinear(b, 3, 128, 128, 8, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, err := e.Sigmoid(ctx, x)
			return err
		})
	})
}
