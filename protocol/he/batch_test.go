package he_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// batchCase is a batch of mask products of a cancer training step (30-16-1,
// batch 32), both orientations, and two larger products that take the
// ordinary path, over masks made first.
var batchMasks = [][2]int{{32, 30}, {30, 16}, {32, 16}, {16, 1}, {32, 1}, {100, 90}, {90, 60}}

type batchProduct struct {
	x, y           int // indices into batchMasks
	transX, transY bool
}

var batchProducts = []batchProduct{
	{0, 1, false, false}, // X W1: 32x30x16
	{2, 3, false, false}, // H W2: 32x16x1
	{2, 4, true, false},  // H^T dZ2: 16x32x1
	{4, 3, false, true},  // dZ2 W2^T: 32x1x16
	{5, 6, false, false}, // 100x90x60: several blocks, ordinary path
	{0, 2, true, false},  // X^T dZ1: 30x32x16
	{3, 3, true, false},  // W2^T W2: 1x16x1
	{1, 1, false, true},  // W1 W1^T: 30x16x30
}

// TestFetchBatchExact: a batch of mask products, small ones packed into
// shared ciphertexts, reconstructs to the products of the reconstructed masks
// for 2, 3, 5 and 8 parties, and costs fewer ciphertexts than one request at
// a time would.
func TestFetchBatchExact(t *testing.T) {
	for _, np := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("n=%d", np), func(t *testing.T) {
			if np > 3 && testing.Short() {
				t.Skip("short: 2 and 3 parties only")
			}
			ps, _ := setupParties(t, np)
			got, err := protocoltest.Concurrently(context.Background(), np, func(ctx context.Context, i int) ([]sharing.Tensor, error) {
				return fetchBatchCase(ctx, ps[i])
			})
			if err != nil {
				t.Fatal(err)
			}
			part := func(k int) sharing.Tensor {
				var shares []sharing.Tensor
				for _, g := range got {
					shares = append(shares, g[k])
				}
				return sum(t, shares)
			}
			for j, bp := range batchProducts {
				want := sharing.MatMulOp(part(bp.x), bp.transX, part(bp.y), bp.transY)
				if !sharing.Equal(part(len(batchMasks)+j), want) {
					t.Errorf("product %d (%v): shares do not sum to the product of the masks", j, bp)
				}
			}
		})
	}
}

// fetchBatchCase makes the masks one by one, then every product in one batch,
// and returns the masks' and the products' shares.
func fetchBatchCase(ctx context.Context, p interface {
	protocol.Source
	FetchBatch(context.Context, []protocol.Request) ([]protocol.Material, error)
}) ([]sharing.Tensor, error) {
	var out []sharing.Tensor
	refs := make([]protocol.MaskRef, len(batchMasks))
	for i, d := range batchMasks {
		m, err := p.Fetch(ctx, protocol.MaskRequest(d[0], d[1]))
		if err != nil {
			return nil, err
		}
		refs[i] = protocol.MaskRef{ID: m.ID, Rows: d[0], Cols: d[1]}
		out = append(out, m.Parts[0])
	}
	var reqs []protocol.Request
	for _, bp := range batchProducts {
		x, y := refs[bp.x], refs[bp.y]
		x.Trans, y.Trans = bp.transX, bp.transY
		reqs = append(reqs, protocol.MaskProductRequest(x, y))
	}
	ms, err := p.FetchBatch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out = append(out, m.Parts[0])
	}
	return out, nil
}
