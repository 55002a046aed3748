package he_test

import (
	"context"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// Convolution material from the he source: the product of a mask's unfolding
// (im2col) with another mask, plain and transposed, reconstructs exactly.
func TestConvMaskProductsExact(t *testing.T) {
	conv := protocol.Conv2D{Channels: 2, Height: 6, Width: 5, Kernel: 3, Stride: 2, Pad: 1}
	const images, maps = 4, 3
	for _, np := range []int{2, 3} {
		ps, _ := setupParties(t, np)
		got, err := protocoltest.Concurrently(context.Background(), np, func(ctx context.Context, i int) ([]sharing.Tensor, error) {
			var out []sharing.Tensor
			for _, req := range []protocol.Request{
				protocol.MaskRequest(images, conv.InputSize()),
				protocol.MaskRequest(conv.PatchSize(), maps),
				protocol.MaskRequest(images*conv.Patches(), maps),
			} {
				m, err := ps[i].Fetch(ctx, req)
				if err != nil {
					return nil, err
				}
				out = append(out, m.Parts[0])
			}
			x := protocol.MaskRef{ID: 0, Rows: images, Cols: conv.InputSize(), Unfold: conv}
			w := protocol.MaskRef{ID: 1, Rows: conv.PatchSize(), Cols: maps}
			g := protocol.MaskRef{ID: 2, Rows: images * conv.Patches(), Cols: maps}
			xt := x
			xt.Trans = true
			for _, pair := range [][2]protocol.MaskRef{{x, w}, {xt, g}} {
				m, err := ps[i].Fetch(ctx, protocol.MaskProductRequest(pair[0], pair[1]))
				if err != nil {
					return nil, err
				}
				out = append(out, m.Parts[0])
			}
			return out, nil
		})
		if err != nil {
			t.Fatalf("%d parties: %v", np, err)
		}
		part := func(k int) sharing.Tensor {
			var shares []sharing.Tensor
			for _, g := range got {
				shares = append(shares, g[k])
			}
			return sum(t, shares)
		}
		u := conv.Unfold(part(0))
		if !sharing.Equal(part(3), sharing.MatMul(u, part(1))) {
			t.Errorf("%d parties: Unfold(X)·W material is wrong", np)
		}
		if !sharing.Equal(part(4), sharing.MatMulTransA(u, part(2))) {
			t.Errorf("%d parties: Unfold(X)^T·G material is wrong", np)
		}
	}
}
