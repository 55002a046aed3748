package protocol_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// A router sends each kind to the source registered for it, and names the kind
// no source makes.
func TestRouterRoutesByKind(t *testing.T) {
	var asked []string
	tagged := func(name string) protocol.Source {
		return protocol.SourceFunc(func(_ context.Context, req protocol.Request) (protocol.Material, error) {
			asked = append(asked, name+":"+req.Kind.String())
			return protocol.Material{}, nil
		})
	}
	r := protocol.Router{}.Route(tagged("arith"), protocol.KindMatrix, protocol.KindMask).Route(tagged("binary"), protocol.KindAnd)
	ctx := context.Background()
	for _, req := range []protocol.Request{protocol.MatrixRequest(1, 2, 3), protocol.AndRequest(4), protocol.MaskRequest(2, 2)} {
		if _, err := r.Fetch(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	want := "arith:matrix triple binary:AND triple arith:matrix mask"
	if got := strings.Join(asked, " "); got != want {
		t.Fatalf("routed %q, want %q", got, want)
	}
	_, err := r.Fetch(ctx, protocol.DaBitRequest(64))
	if !errors.Is(err, protocol.ErrUnservedKind) || !strings.Contains(err.Error(), "daBit") {
		t.Fatalf("unrouted kind: %v", err)
	}
}

// A source that returns material of the wrong shape makes the engine fail with an
// error naming the request, never index out of range.
func TestEngineRejectsMisshapenMaterial(t *testing.T) {
	d, err := protocol.NewDealer(2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	honest, _ := d.Source(0)
	faults := map[string]func(protocol.Material) protocol.Material{
		"missing component": func(m protocol.Material) protocol.Material { m.Parts = m.Parts[:len(m.Parts)-1]; return m },
		"short component": func(m protocol.Material) protocol.Material {
			m.Parts[0] = sharing.Tensor{Shape: m.Parts[0].Shape, Data: m.Parts[0].Data[:1]}
			return m
		},
		"wrong shape": func(m protocol.Material) protocol.Material {
			m.Parts[0] = sharing.Tensor{Shape: []int{m.Parts[0].Len()}, Data: m.Parts[0].Data}
			return m
		},
	}
	for name, fault := range faults {
		src := protocol.SourceFunc(func(ctx context.Context, req protocol.Request) (protocol.Material, error) {
			m, err := honest.Fetch(ctx, req)
			if err != nil {
				return m, err
			}
			return fault(m), nil
		})
		ts, _ := network.NewMemoryNetwork(2)
		e, err := protocol.NewEngine(ts[0], src, protocol.Config{Codec: sharing.Codec{FracBits: 16}})
		if err != nil {
			t.Fatal(err)
		}
		x := sharing.Zeros(3, 4)
		y := sharing.Zeros(4, 2)
		_, err = e.MatMul(context.Background(), x, y)
		if err == nil || !strings.Contains(err.Error(), "matrix triple 3x4x2") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// Requests are validated before any source sees them.
func TestRequestValidate(t *testing.T) {
	bad := []protocol.Request{
		{Kind: 0},
		protocol.ElementwiseRequest([]int{-1}),
		protocol.ElementwiseRequest([]int{1 << 20, 1 << 20}),
		protocol.TruncRequest([]int{4}, 0),
		protocol.TruncRequest([]int{4}, 62),
		protocol.TruncSignRequest(4, 0),
		protocol.TruncSignRequest(4, protocol.TruncSignMaxBits+1),
		protocol.TruncSignRequest(protocol.MaxMessageElements/4+1, 16),
		{Kind: protocol.KindTruncSign, Shape: []int{2, 2}, Bits: 16},
		{Kind: protocol.KindAnd, Shape: []int{2, 2}},
		protocol.MatrixRequest(1<<20, 1<<20, 1),
		protocol.MaskRequest(-1, 3),
		protocol.MaskProductRequest(protocol.MaskRef{Rows: 2, Cols: 3}, protocol.MaskRef{Rows: 2, Cols: 3}),
	}
	for _, req := range bad {
		if err := req.Validate(); err == nil {
			t.Errorf("%+v validated", req)
		}
	}
	good := []protocol.Request{
		protocol.ElementwiseRequest([]int{3, 4}),
		protocol.TruncRequest([]int{5}, 16),
		protocol.AndRequest(7),
		protocol.MatrixRequest(2, 3, 4),
		protocol.MaskProductRequest(protocol.MaskRef{Rows: 2, Cols: 3, Trans: true}, protocol.MaskRef{Rows: 2, Cols: 3}),
	}
	for _, req := range good {
		if err := req.Validate(); err != nil {
			t.Errorf("%v: %v", req, err)
		}
	}
}
