package protocol_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// inputSession shares x (owned by owner) among n parties whose input randomness is
// a fixed stream per party, with share returning each party's share as a tensor.
func inputSession(t *testing.T, n, owner int, x sharing.Tensor, cfg protocol.Config, share func(ctx context.Context, e *protocol.Engine, mine sharing.Tensor) (sharing.Tensor, error)) []sharing.Tensor {
	t.Helper()
	return protocoltest.MustParties(t, n, func(ctx context.Context, i int, tr protocol.Transport) (sharing.Tensor, error) {
		c := cfg
		c.Rand = sharing.NewPRG(sharing.Seed{byte(i + 1)}, 0) // the same seeds in both sessions
		e, err := protocol.NewEngine(tr, protocol.SourceFunc(nil), c)
		if err != nil {
			return sharing.Tensor{}, err
		}
		var mine sharing.Tensor
		if i == owner {
			mine = x
		}
		return share(ctx, e, mine)
	})
}

// The row-wise shares are, party by party and bit for bit, Input's shares under
// the same randomness, whether read whole or gathered by row; they add up to x.
func TestInputRowsEqualsInput(t *testing.T) {
	cfg := protocol.Config{Codec: sharing.Codec{FracBits: 16}}
	for _, n := range partyCounts {
		const rows, cols = 11, 7
		owner := n - 1
		x := randomRing(rows, cols)
		eager := inputSession(t, n, owner, x, cfg, func(ctx context.Context, e *protocol.Engine, mine sharing.Tensor) (sharing.Tensor, error) {
			return e.Input(ctx, owner, mine, rows, cols)
		})
		idx := []int{10, 0, 3, 3, 7}
		var gathered []sharing.Tensor
		lazy := inputSession(t, n, owner, x, cfg, func(ctx context.Context, e *protocol.Engine, mine sharing.Tensor) (sharing.Tensor, error) {
			var x sharing.RowSource
			if e.Self() == owner {
				x = sharing.TensorRows(mine)
			}
			src, err := e.InputRows(ctx, owner, x, rows, cols)
			if err != nil {
				return sharing.Tensor{}, err
			}
			if e.Self() == 0 {
				gathered = append(gathered, sharing.Gather(src, idx))
			}
			return sharing.Materialize(src), nil
		})
		for i := range n {
			if !sharing.Equal(lazy[i], eager[i]) {
				t.Fatalf("%d parties: party %d's row-wise share differs from its Input share", n, i)
			}
		}
		if !sharing.Equal(gathered[0], sharing.GatherRows(eager[0], idx)) {
			t.Fatalf("%d parties: gathered rows differ from Input's rows", n)
		}
		if got := reconstruct(t, lazy); !sharing.Equal(got, x) {
			t.Fatalf("%d parties: row-wise shares do not add up to the input", n)
		}
	}
}

// A peer's matrix is not allocated, so it is not charged to the bound on peers'
// inputs that Input enforces; a shape out of range is still refused, naming the
// owner, before anything is read.
func TestInputRowsBoundsAndShape(t *testing.T) {
	cfg := protocol.Config{Codec: sharing.Codec{FracBits: 16}, MaxPeerInputElements: 10}
	x := randomRing(20, 3)
	inputSession(t, 2, 0, x, cfg, func(ctx context.Context, e *protocol.Engine, mine sharing.Tensor) (sharing.Tensor, error) {
		var rows sharing.RowSource
		if e.Self() == 0 {
			rows = sharing.TensorRows(mine)
		}
		src, err := e.InputRows(ctx, 0, rows, 20, 3)
		if err != nil {
			return sharing.Tensor{}, err
		}
		return sharing.Materialize(src), nil
	})
	for _, shape := range [][2]int{{-1, 3}, {3, -1}, {1 << 30, 1 << 30}} {
		ts, _ := network.NewMemoryNetwork(2)
		e, err := protocol.NewEngine(ts[1], protocol.SourceFunc(nil), cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.InputRows(context.Background(), 0, nil, shape[0], shape[1])
		if err == nil || !strings.Contains(err.Error(), "party 0") || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("shape %v: %v", shape, err)
		}
	}
}
