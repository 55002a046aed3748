package protocol_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

var testConv = protocol.Conv2D{Channels: 2, Height: 5, Width: 6, Kernel: 3, Stride: 2, Pad: 1}

// convProducts masks images x and kernel w, and a gradient g, then returns
// Unfold(x)·w and Unfold(x)^T·g through ConvMasked.
func convProducts(ctx context.Context, e *protocol.Engine, x, w, g sharing.Tensor) ([]sharing.Tensor, error) {
	ms, err := e.MaskMatrices(ctx, x, w, g)
	if err != nil {
		return nil, err
	}
	fwd, err := e.ConvMasked(ctx, ms[0], testConv, false, ms[1], false)
	if err != nil {
		return nil, err
	}
	grad, err := e.ConvMasked(ctx, ms[0], testConv, true, ms[2], false)
	if err != nil {
		return nil, err
	}
	return e.Open(ctx, fwd, grad)
}

func convOperands() (x, w, g sharing.Tensor) {
	return randomRing(3, testConv.InputSize()), randomRing(testConv.PatchSize(), 4), randomRing(3*testConv.Patches(), 4)
}

func checkConvProducts(t *testing.T, got []sharing.Tensor, x, w, g sharing.Tensor) {
	t.Helper()
	u := testConv.Unfold(x)
	if !sharing.Equal(got[0], sharing.MatMul(u, w)) {
		t.Error("ConvMasked forward differs from Unfold(x)·w")
	}
	if !sharing.Equal(got[1], sharing.MatMulTransA(u, g)) {
		t.Error("ConvMasked transposed differs from Unfold(x)^T·g")
	}
}

// A convolution on shares is exact in the ring (dealer in process).
func TestConvMaskedIsExact(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			x, w, g := convOperands()
			shares := splitAll(t, n, x, w, g)
			got := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) ([]sharing.Tensor, error) {
				s := shares[e.Self()]
				return convProducts(ctx, e, s[0], s[1], s[2])
			})
			checkConvProducts(t, got[0], x, w, g)
		})
	}
}

// The dealer's wire carries the unfolding of a mask reference: a dealer run as its
// own member serves exact convolution material.
func TestConvMaskedRemoteDealer(t *testing.T) {
	const n = 3
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts, dealerDone := dealerNode(ctx, t, n)
	x, w, g := convOperands()
	shares := splitAll(t, n, x, w, g)
	out := make([][]sharing.Tensor, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			src, end, err := protocol.RemoteDealerSource(ctx, ts[i], n)
			if err != nil {
				errs[i] = err
				return
			}
			e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: sharing.Codec{FracBits: 16}, Parties: n})
			if err != nil {
				errs[i] = err
				return
			}
			if out[i], errs[i] = convProducts(ctx, e, shares[i][0], shares[i][1], shares[i][2]); errs[i] == nil {
				errs[i] = end(ctx)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	if err := dealerDone(); err != nil {
		t.Fatal(err)
	}
	checkConvProducts(t, out[0], x, w, g)
}

// Fold is the adjoint of Unfold: <Unfold(x), u> = <x, Fold(u)> in the ring.
func TestFoldIsAdjointOfUnfold(t *testing.T) {
	x := randomRing(3, testConv.InputSize())
	u := randomRing(3*testConv.Patches(), testConv.PatchSize())
	dot := func(a, b sharing.Tensor) (s uint64) {
		for i := range a.Data {
			s += a.Data[i] * b.Data[i]
		}
		return s
	}
	if dot(testConv.Unfold(x), u) != dot(x, testConv.Fold(u)) {
		t.Error("Fold is not the adjoint of Unfold")
	}
}

// A mask product that unfolds a mask of the wrong width is refused.
func TestUnfoldedMaskProductValidates(t *testing.T) {
	bad := protocol.MaskProductRequest(protocol.MaskRef{ID: 0, Rows: 3, Cols: testConv.InputSize() + 1, Unfold: testConv}, protocol.MaskRef{ID: 1, Rows: testConv.PatchSize(), Cols: 4})
	if err := bad.Validate(); err == nil {
		t.Error("an unfolding of a mask of the wrong width was accepted")
	}
	huge := testConv
	huge.Kernel = 9
	if err := huge.Validate(); err == nil {
		t.Error("a kernel larger than its padded input was accepted")
	}
}

// Geometries a party could send the dealer whose sizes overflow a naive product
// are refused, not allocated.
func TestConvGeometryOverflowRefused(t *testing.T) {
	for _, c := range []protocol.Conv2D{
		{Channels: 1 << 26, Height: 1 << 26, Width: 1 << 26, Kernel: 1, Stride: 1},
		{Channels: 1 << 20, Height: 1, Width: 1, Kernel: 1 << 26, Stride: 1, Pad: 1<<26 - 1},
		{Channels: 1, Height: 1 << 14, Width: 1 << 14, Kernel: 1, Stride: 1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
