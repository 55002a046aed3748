package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// TestRemoteDealer runs the dealer as its own member of the network and checks the
// material it serves is exact.
func TestRemoteDealer(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			ts, err := network.NewMemoryNetwork(n + 1)
			if err != nil {
				t.Fatal(err)
			}
			dealer, err := protocol.NewDealer(n, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			x, y := randomRing(9, 11), randomRing(11, 4)
			codec := sharing.Codec{FracBits: 16}
			fx, _ := randomFixed(codec, 100, 13)
			shares := splitAll(t, n, x, y, fx)
			var wg sync.WaitGroup
			dealerErr := make(chan error, 1)
			go func() { dealerErr <- protocol.ServeDealer(ctx, ts[n], dealer) }()
			out := make([][]sharing.Tensor, n)
			errs := make([]error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = func() error {
						src, end, err := protocol.RemoteDealerSource(ctx, ts[i], n)
						if err != nil {
							return err
						}
						e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: codec, Parties: n})
						if err != nil {
							return err
						}
						m := shares[i]
						z, err := e.MatMul(ctx, m[0], m[1])
						if err != nil {
							return err
						}
						sq, err := e.Square(ctx, m[0])
						if err != nil {
							return err
						}
						tr, err := e.Truncate(ctx, m[2])
						if err != nil {
							return err
						}
						ms, err := e.MaskMatrices(ctx, m[0], m[1])
						if err != nil {
							return err
						}
						zm, err := e.MatMulMasked(ctx, ms[0], false, ms[1], false)
						if err != nil {
							return err
						}
						zt, err := e.MatMulMasked(ctx, ms[1], true, ms[0], true)
						if err != nil {
							return err
						}
						out[i] = []sharing.Tensor{z, sq, tr, zm, zt}
						return end(ctx)
					}()
				}(i)
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("party %d: %v", i, err)
				}
			}
			if err := <-dealerErr; err != nil {
				t.Fatalf("dealer: %v", err)
			}
			get := func(j int) sharing.Tensor {
				var ss []sharing.Tensor
				for _, o := range out {
					ss = append(ss, o[j])
				}
				return reconstruct(t, ss)
			}
			if !sharing.Equal(get(0), sharing.MatMul(x, y)) || !sharing.Equal(get(1), sharing.Hadamard(x, x)) {
				t.Fatal("remote dealer material is not exact")
			}
			if !sharing.Equal(get(3), sharing.MatMul(x, y)) || !sharing.Equal(get(4), sharing.Transpose(sharing.MatMul(x, y))) {
				t.Fatal("remote dealer mask products are not exact")
			}
			got := get(2)
			for i := range got.Data {
				if d := truncErr(got.Data[i], fx.Data[i], 16); d != 0 && d != 1 {
					t.Fatalf("truncation off by %d", d)
				}
			}
		})
	}
}
