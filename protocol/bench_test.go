package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// benchSecureMatMul times one secure fixed-point matrix product among n parties
// (all on this machine, dealer included) and reports the traffic of one party.
func benchSecureMatMul(b *testing.B, n, m, k, p int, truncate bool) {
	ts, _ := network.NewMemoryNetwork(n)
	dealer, _ := protocol.NewDealer(n, rand.Reader)
	codec := sharing.Codec{FracBits: 16}
	x, _ := randomFixed(codec, 1, m, k)
	y, _ := randomFixed(codec, 1, k, p)
	shares := splitAll(b, n, x, y)
	ctx := context.Background()
	engines := make([]*protocol.Engine, n)
	for i := range engines {
		src, _ := dealer.Source(i)
		engines[i], _ = protocol.NewEngine(ts[i], src, protocol.Config{Codec: codec})
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for it := 0; it < b.N; it++ {
				var err error
				if truncate {
					_, err = engines[i].MatMulFixed(ctx, shares[i][0], shares[i][1])
				} else {
					_, err = engines[i].MatMul(ctx, shares[i][0], shares[i][1])
				}
				if err != nil {
					errs[i] = err
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

// BenchmarkMatMul compares the secure product of the MNIST layer shape with the
// plaintext float64 product, in the same run; compare the ns/op of the pairs.
func BenchmarkMatMul(b *testing.B) {
	for _, n := range []int{2, 3} {
		b.Run(fmt.Sprintf("secure-ring/parties=%d/128x784x128", n), func(b *testing.B) { benchSecureMatMul(b, n, 128, 784, 128, false) })
		b.Run(fmt.Sprintf("secure-fixed/parties=%d/128x784x128", n), func(b *testing.B) { benchSecureMatMul(b, n, 128, 784, 128, true) })
	}
	b.Run("plaintext-float64/128x784x128", func(b *testing.B) {
		x := mat.NewDense(128, 784, nil)
		y := mat.NewDense(784, 128, nil)
		for i := 0; i < 128; i++ {
			for j := 0; j < 784; j++ {
				x.Set(i, j, float64(i-j)/1000)
				y.Set(j, i, float64(i+j)/1000)
			}
		}
		var z mat.Dense
		b.ResetTimer()
		for it := 0; it < b.N; it++ {
			z.Mul(x, y)
		}
	})
}
