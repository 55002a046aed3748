package protocol

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchingSource serves batches one request at a time and logs the calls.
type batchingSource struct {
	Source
	mu  sync.Mutex
	log []string
}

func (b *batchingSource) Fetch(ctx context.Context, req Request) (Material, error) {
	b.mu.Lock()
	b.log = append(b.log, req.Kind.String())
	b.mu.Unlock()
	return b.Source.Fetch(ctx, req)
}

// Batchable: mask products (truncation pairs are fetched one at a time).
func (b *batchingSource) Batchable(req Request) bool { return req.Kind == KindMaskProduct }

func (b *batchingSource) FetchBatch(ctx context.Context, reqs []Request) ([]Material, error) {
	var kinds []string
	var out []Material
	for _, req := range reqs {
		if !b.Batchable(req) {
			return nil, fmt.Errorf("a %s in a batch", req.Kind)
		}
		kinds = append(kinds, req.Kind.String())
		m, err := b.Source.Fetch(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	b.mu.Lock()
	b.log = append(b.log, "batch["+strings.Join(kinds, ",")+"]")
	b.mu.Unlock()
	return out, nil
}

// batchPlan records 120 requests: steps of masks, mask products (one of masks
// of the step before) and truncation pairs.
func batchPlan(t *testing.T) *Plan {
	t.Helper()
	d, err := NewDealer(2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := d.Source(0)
	rec := NewRecorder(src)
	ctx := context.Background()
	var prev MaskRef
	for len(rec.plan.entries) < 120 {
		x, _ := rec.Fetch(ctx, MaskRequest(4, 3))
		y, _ := rec.Fetch(ctx, MaskRequest(3, 2))
		xr, yr := MaskRef{ID: x.ID, Rows: 4, Cols: 3}, MaskRef{ID: y.ID, Rows: 3, Cols: 2}
		for _, req := range []Request{
			MaskProductRequest(xr, yr), TruncRequest([]int{5}, 16), MaskProductRequest(xr, transposed(xr)),
		} {
			if _, err := rec.Fetch(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		if prev.Rows > 0 {
			if _, err := rec.Fetch(ctx, MaskProductRequest(prev, transposed(xr))); err != nil {
				t.Fatal(err)
			}
		}
		prev = transposed(yr)
	}
	return rec.Plan()
}

// TestPipelineBatchesAreAFunctionOfThePlan: a pipeline over a BatchSource cuts
// the same batches whether the computation runs ahead of the producer or
// behind it (the parties of a batch must agree on it), fetches each batch's
// masks first, and serves every entry of the plan.
func TestPipelineBatchesAreAFunctionOfThePlan(t *testing.T) {
	plan := batchPlan(t)
	run := func(delay time.Duration, depth int) []string {
		d, _ := NewDealer(2, rand.Reader)
		src, _ := d.Source(0)
		bs := &batchingSource{Source: src}
		ctx := context.Background()
		p := NewPipeline(ctx, bs, plan, depth)
		defer p.Close()
		for i, req := range plan.entries {
			time.Sleep(delay)
			if _, err := p.Fetch(ctx, req); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
		bs.mu.Lock()
		defer bs.mu.Unlock()
		return slices.Clone(bs.log)
	}
	for _, depth := range []int{8, 64} {
		fast, slow := run(0, depth), run(time.Millisecond, depth)
		if !slices.Equal(fast, slow) {
			t.Fatalf("depth %d: batches depend on timing:\n%v\n%v", depth, fast, slow)
		}
		batches, truncs := 0, 0
		for _, call := range fast {
			if strings.HasPrefix(call, "batch[") {
				batches++
			}
			if call == KindTrunc.String() {
				truncs++
			}
		}
		if batches == 0 || batches > len(plan.entries)/4 {
			t.Errorf("depth %d: %d batches for %d entries: %v", depth, batches, len(plan.entries), fast)
		}
		if want := countKind(plan, KindTrunc); truncs != want {
			t.Errorf("depth %d: %d truncation pairs fetched one at a time, want %d", depth, truncs, want)
		}
	}
}

func transposed(r MaskRef) MaskRef {
	r.Trans = !r.Trans
	return r
}

func countKind(p *Plan, k Kind) int {
	n := 0
	for _, e := range p.entries {
		if e.Kind == k {
			n++
		}
	}
	return n
}
