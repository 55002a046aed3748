package protocol_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// recordMasks records a plan of two masks and their product, and returns it.
func recordMasks(t *testing.T) *protocol.Plan {
	t.Helper()
	d, _ := protocol.NewDealer(2, rand.Reader)
	src, _ := d.Source(0)
	rec := protocol.NewRecorder(src)
	ctx := context.Background()
	x, err := rec.Fetch(ctx, protocol.MaskRequest(2, 3))
	if err != nil {
		t.Fatal(err)
	}
	y, err := rec.Fetch(ctx, protocol.MaskRequest(3, 4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Fetch(ctx, protocol.MaskProductRequest(protocol.MaskRef{ID: x.ID, Rows: 2, Cols: 3}, protocol.MaskRef{ID: y.ID, Rows: 3, Cols: 4})); err != nil {
		t.Fatal(err)
	}
	return rec.Plan()
}

// TestPipelineResumesAtPosition: a pipeline resumed at a position serves the plan
// from there; a position whose later requests use masks made before it is refused.
func TestPipelineResumesAtPosition(t *testing.T) {
	plan := recordMasks(t)
	d, _ := protocol.NewDealer(2, rand.Reader)
	src, _ := d.Source(0)
	ctx := context.Background()
	if _, err := protocol.NewPipelineAt(ctx, src, plan, 0, 1); err == nil || !strings.Contains(err.Error(), "made before it") {
		t.Fatalf("resuming between a mask and its product: %v", err)
	}
	p, err := protocol.NewPipelineAt(ctx, src, plan, 0, 3) // after the whole plan
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Fetch(ctx, protocol.MaskRequest(2, 3)); err == nil || !strings.Contains(err.Error(), "more material than its recorded plan") {
		t.Fatalf("a pipeline resumed at the plan's end served a request: %v", err)
	}
}

// TestDealerPositions: a dealer's material is a function of the request's
// position: a source started at position k gives the material a source started
// at 0 gives its k-th request, and mask products may not refer to masks of
// before the session.
func TestDealerPositions(t *testing.T) {
	d, _ := protocol.NewDealer(3, rand.Reader)
	ctx := context.Background()
	for party := 0; party < 3; party++ {
		from0, _ := d.Source(party)
		var want protocol.Material
		for k := 0; k < 4; k++ {
			m, err := from0.Fetch(ctx, protocol.MaskRequest(2, 2))
			if err != nil {
				t.Fatal(err)
			}
			want = m
		}
		from3, _ := d.SourceAt(party, 3)
		got, err := from3.Fetch(ctx, protocol.MaskRequest(2, 2))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != 3 || !slices.Equal(got.Parts[0].Data, want.Parts[0].Data) {
			t.Fatalf("party %d: request 3 of a session started at 3 differs from request 3 of a session started at 0", party)
		}
		ref := protocol.MaskRef{ID: 2, Rows: 2, Cols: 2}
		if _, err := from3.Fetch(ctx, protocol.MaskProductRequest(ref, ref)); err == nil {
			t.Fatalf("party %d: a mask product of a mask made before the session was served", party)
		}
	}
}

// TestRemoteDealerResumedSession: a dealer node serves a session that starts at a
// later request only when told to accept resumed sessions, and then serves exact
// material.
func TestRemoteDealerResumedSession(t *testing.T) {
	for _, accept := range []bool{false, true} {
		const n = 2
		ts, _ := network.NewMemoryNetwork(n + 1)
		dealer, _ := protocol.NewDealer(n, rand.Reader)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var opts []protocol.ServeOption
		if accept {
			opts = append(opts, protocol.AcceptResumed())
		}
		dealerErr := make(chan error, 1)
		go func() {
			err := protocol.ServeDealer(ctx, ts[n], dealer, opts...)
			if err != nil {
				cancel() // the parties wait for its answer
			}
			dealerErr <- err
		}()
		x, y := randomRing(4, 5), randomRing(5, 3)
		shares := splitAll(t, n, x, y)
		out := make([]sharing.Tensor, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Go(func() {
				src, end, err := protocol.RemoteDealerSourceAt(ctx, ts[i], n, 7)
				if err == nil {
					var e *protocol.Engine
					if e, err = protocol.NewEngine(ts[i], src, protocol.Config{Codec: sharing.Codec{FracBits: 16}, Parties: n}); err == nil {
						if out[i], err = e.MatMul(ctx, shares[i][0], shares[i][1]); err == nil {
							err = end(ctx)
						}
					}
				}
				errs[i] = err
				if err != nil {
					cancel()
				}
			})
		}
		wg.Wait()
		derr := <-dealerErr
		cancel()
		if !accept {
			if derr == nil || !strings.Contains(derr.Error(), "start it with --resume") {
				t.Fatalf("a dealer for new sessions served a resumed one: %v", derr)
			}
			continue
		}
		if derr != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("resumed session: dealer %v, parties %v", derr, errs)
		}
		if got, want := sharing.Add(out[0], out[1]), sharing.MatMul(x, y); !slices.Equal(got.Data, want.Data) {
			t.Fatal("the product from a resumed session's material is wrong")
		}
	}
}
