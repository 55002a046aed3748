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

// BenchmarkDealerFreeSigns measures, on engines without lookup material, the
// operations whose 16- and 32-bit signs read sign pairs: ReLU on 128x128,
// max pooling's MaxRowsArgOn on 32 bits (4,096 windows of 4) and Softmax on
// 128x10 (the 16-bit window), and reports per operation one party's rounds
// and bytes sent and the material it asked for: AND gates, sign pairs and
// daBits (plain and triples).
func BenchmarkDealerFreeSigns(b *testing.B) {
	ops := []struct {
		name       string
		rows, cols int
		op         func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error
	}{
		{"relu", 128, 128, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, _, err := e.ReLU(ctx, x)
			return err
		}},
		{"maxpool32", 4096, 4, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, _, err := e.MaxRowsArgOn(ctx, x, 32)
			return err
		}},
		{"softmax", 128, 10, func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, err := e.Softmax(ctx, x)
			return err
		}},
	}
	for _, n := range []int{2, 3, 5} {
		for _, o := range ops {
			b.Run(fmt.Sprintf("parties=%d/%s", n, o.name), func(b *testing.B) {
				benchMaterial(b, n, o.rows, o.cols, o.op)
			})
		}
	}
}

// materialCount counts what party 1 asks its source for.
type materialCount struct {
	mu                         sync.Mutex
	andGates, signPairs, daBit int64
}

func (c *materialCount) add(req protocol.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(sharing.Size(req.Shape))
	switch req.Kind {
	case protocol.KindAnd:
		c.andGates += 64 * size
	case protocol.KindTruncSign:
		c.signPairs += size
	case protocol.KindDaBit, protocol.KindDaBitTriple:
		c.daBit += size
	}
}

// benchMaterial runs op on shares of a random rows x cols matrix (entries in
// (-8, 8) at f = 16) among n dealer-free-configured engines (a dealer makes
// the material; LookupComparisons false) and reports party 1's costs.
func benchMaterial(b *testing.B, n, rows, cols int, op func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error) {
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		b.Fatal(err)
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	codec := sharing.Codec{FracBits: 16}
	x, _ := randomFixed(codec, 8, rows, cols)
	shares := splitAll(b, n, x)
	var count materialCount
	engines := make([]*protocol.Engine, n)
	for i := range engines {
		src, err := dealer.Source(i)
		if err != nil {
			b.Fatal(err)
		}
		if i == 1 {
			inner := src
			src = protocol.SourceFunc(func(ctx context.Context, req protocol.Request) (protocol.Material, error) {
				count.add(req)
				return inner.Fetch(ctx, req)
			})
		}
		if engines[i], err = protocol.NewEngine(ts[i], src, protocol.Config{Codec: codec}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range b.N {
				if errs[i] = op(context.Background(), engines[i], shares[i][0]); errs[i] != nil {
					for _, t := range ts {
						t.Close()
					}
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("party %d: %v", i, err)
		}
	}
	st, per := ts[1].Stats(), float64(b.N)
	b.ReportMetric(float64(st.Rounds)/per, "rounds/op")
	b.ReportMetric(float64(st.BytesSent)/per, "sent-B/party/op")
	b.ReportMetric(float64(count.andGates)/per, "AND-gates/op")
	b.ReportMetric(float64(count.signPairs)/per, "sign-pairs/op")
	b.ReportMetric(float64(count.daBit)/per, "daBits/op")
}
