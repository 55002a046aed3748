package protocol_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// computation uses every kind of material.
func computation(ctx context.Context, e *protocol.Engine, x, w sharing.Tensor) ([]sharing.Tensor, error) {
	z, err := e.MatMulFixed(ctx, x, w)
	if err != nil {
		return nil, err
	}
	ms, err := e.MaskMatrices(ctx, x, w)
	if err != nil {
		return nil, err
	}
	zm, err := e.MatMulMasked(ctx, ms[0], false, ms[1], false)
	if err != nil {
		return nil, err
	}
	y, _, err := e.ReLU(ctx, z)
	if err != nil {
		return nil, err
	}
	sq, err := e.SquareFixed(ctx, y)
	if err != nil {
		return nil, err
	}
	pr, err := e.MulFixed(ctx, sq, y)
	if err != nil {
		return nil, err
	}
	return []sharing.Tensor{z, zm, y, pr}, nil
}

// runWith runs the computation on n parties with each party's source made by mk.
func runWith(t *testing.T, n int, shares [][]sharing.Tensor, mk func(i int) protocol.Source, after func(i int) error) [][]sharing.Tensor {
	t.Helper()
	ts, _ := network.NewMemoryNetwork(n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := make([][]sharing.Tensor, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			e, err := protocol.NewEngine(ts[i], mk(i), protocol.Config{Codec: sharing.Codec{FracBits: 16}})
			if err == nil {
				out[i], err = computation(ctx, e, shares[i][0], shares[i][1])
			}
			if err == nil && after != nil {
				err = after(i)
			}
			if errs[i] = err; err != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return out
}

func TestPipelineReplaysRecordedPlan(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	for _, n := range []int{2, 3} {
		x, _ := randomFixed(codec, 2, 6, 5)
		w, _ := randomFixed(codec, 2, 5, 4)
		shares := splitAll(t, n, x, w)
		// Record on a dry run.
		d, _ := protocol.NewDealer(n, rand.Reader)
		recs := make([]*protocol.Recorder, n)
		want := runWith(t, n, shares, func(i int) protocol.Source {
			src, _ := d.Source(i)
			recs[i] = protocol.NewRecorder(src)
			return recs[i]
		}, nil)
		plan := recs[0].Plan()
		if plan.Len() == 0 {
			t.Fatal("nothing recorded")
		}
		for _, depth := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("parties=%d/depth=%d", n, depth), func(t *testing.T) {
				d2, _ := protocol.NewDealer(n, rand.Reader)
				pipes := make([]*protocol.Pipeline, n)
				got := runWith(t, n, shares, func(i int) protocol.Source {
					src, _ := d2.Source(i)
					pipes[i] = protocol.NewPipeline(context.Background(), src, plan, depth)
					if depth == 0 {
						if err := pipes[i].Wait(context.Background()); err != nil {
							t.Error(err)
						}
					}
					return pipes[i]
				}, func(i int) error { pipes[i].Close(); return nil })
				for j := range want[0] {
					var a, b []sharing.Tensor
					for i := 0; i < n; i++ {
						a, b = append(a, want[i][j]), append(b, got[i][j])
					}
					wa, gb := reconstruct(t, a), reconstruct(t, b)
					// Truncation is probabilistic: compare within a few ulp, more for the
					// cube, where one ulp of y^2 is multiplied by y.
					tol := int64(4)
					if j == 3 {
						tol = 400
					}
					for k := range wa.Data {
						if d := int64(wa.Data[k] - gb.Data[k]); d > tol || d < -tol {
							t.Fatalf("output %d element %d differs by %d units", j, k, d)
						}
					}
				}
			})
		}
		// A computation that departs from the plan is stopped with an error.
		d3, _ := protocol.NewDealer(n, rand.Reader)
		src, _ := d3.Source(0)
		p := protocol.NewPipeline(context.Background(), src, plan, 2)
		defer p.Close()
		if _, err := p.Fetch(context.Background(), protocol.SquareRequest([]int{3})); err == nil || !strings.Contains(err.Error(), "recorded plan") {
			t.Fatalf("a request off the plan: %v", err)
		}
	}
}

func TestPipelineReportsSourceErrors(t *testing.T) {
	d, _ := protocol.NewDealer(2, rand.Reader)
	src, _ := d.Source(0)
	rec := protocol.NewRecorder(src)
	ctx := context.Background()
	if _, err := rec.Fetch(ctx, protocol.MatrixRequest(2, 3, 4)); err != nil {
		t.Fatal(err)
	}
	failing := protocol.SourceFunc(func(context.Context, protocol.Request) (protocol.Material, error) {
		return protocol.Material{}, errBroken
	})
	p := protocol.NewPipeline(ctx, failing, rec.Plan(), 1)
	defer p.Close()
	if _, err := p.Fetch(ctx, protocol.MatrixRequest(2, 3, 4)); err == nil || !errors.Is(err, errBroken) {
		t.Fatalf("source failure not reported: %v", err)
	}
}

var errBroken = errors.New("broken source")

// TestPipelineLanesOverlap: a pipeline over Lanes fetches from its lanes at once
// (the first lane's request finishes only after the second lane's has started),
// each lane in plan order and never beyond the window, and serves in plan order.
func TestPipelineLanesOverlap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, _ := protocol.NewDealer(2, rand.Reader)
	dealt, _ := d.Source(0)
	rec := protocol.NewRecorder(dealt)
	reqs := []protocol.Request{protocol.MatrixRequest(2, 3, 4), protocol.SquareRequest([]int{3}),
		protocol.MatrixRequest(1, 2, 3), protocol.SquareRequest([]int{5}), protocol.SquareRequest([]int{7})}
	for _, r := range reqs {
		if _, err := rec.Fetch(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	const depth = 2
	secondStarted := make(chan struct{})
	var mu sync.Mutex
	var next int            // the consumer's next entry
	seen := map[int][]int{} // lane -> plan indices fetched, in order
	lane := func(k int, wait bool) protocol.Source {
		return protocol.SourceFunc(func(ctx context.Context, r protocol.Request) (protocol.Material, error) {
			mu.Lock()
			i := slices.IndexFunc(reqs, func(q protocol.Request) bool { return q.Equal(r) })
			seen[k] = append(seen[k], i)
			if i >= next+depth {
				t.Errorf("lane %d fetched entry %d with the consumer at %d, window %d", k, i, next, depth)
			}
			mu.Unlock()
			if wait && i == 0 {
				select {
				case <-secondStarted:
				case <-ctx.Done():
					return protocol.Material{}, ctx.Err()
				}
			}
			if !wait && i == 1 {
				close(secondStarted)
			}
			return dealt.Fetch(ctx, r)
		})
	}
	lanes := protocol.NewLanes().Add(lane(0, true), protocol.KindMatrix).Add(lane(1, false), protocol.KindSquare)
	p := protocol.NewPipeline(ctx, lanes, rec.Plan(), depth)
	defer p.Close()
	for i, r := range reqs {
		m, err := p.Fetch(ctx, r)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		want := r.Shape
		if r.Kind == protocol.KindMatrix {
			want = []int{r.M, r.K}
		}
		if len(m.Parts) == 0 || !slices.Equal(m.Parts[0].Shape, want) {
			t.Fatalf("entry %d (%s) served material of shape %v", i, r, m.Parts)
		}
		mu.Lock()
		next = i + 1
		mu.Unlock()
	}
	if want := map[int][]int{0: {0, 2}, 1: {1, 3, 4}}; !maps.EqualFunc(seen, want, slices.Equal) {
		t.Fatalf("lanes fetched %v, want %v", seen, want)
	}
}
