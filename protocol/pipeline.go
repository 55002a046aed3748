package protocol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tessera-mpc/tessera/sharing"
)

// A computation's preprocessing requests depend only on public shapes, never on
// data, so they can be recorded once (on a dry run with any data of the right
// shapes) and then fetched ahead of the online phase. Recorder records them;
// Pipeline serves a recorded plan from material a producer fetches ahead.

// Plan is the recorded sequence of a computation's preprocessing requests.
type Plan struct {
	entries []planEntry
}

type planEntry struct {
	req   request
	shape []int // element-wise kinds: the requested shape
}

// Len is the number of requests.
func (p *Plan) Len() int { return len(p.entries) }

func (e planEntry) String() string {
	switch e.req.Kind {
	case kindMatrix:
		return fmt.Sprintf("%s %dx%dx%d", e.req.Kind, e.req.M, e.req.K, e.req.N)
	case kindMask:
		return fmt.Sprintf("%s %dx%d", e.req.Kind, e.req.M, e.req.K)
	case kindMaskProduct:
		return fmt.Sprintf("%s of requests %d and %d", e.req.Kind, e.req.X.ID, e.req.Y.ID)
	case kindTrunc:
		return fmt.Sprintf("%s %v by %d bits", e.req.Kind, e.shape, e.req.Bits)
	}
	return fmt.Sprintf("%s %v", e.req.Kind, e.shape)
}

func (e planEntry) equal(o planEntry) bool {
	return e.req == o.req && slices.Equal(e.shape, o.shape)
}

// Recorder is a Source that records every request it passes on to another source.
// Mask IDs in the plan are plan indices, whatever the underlying source uses.
type Recorder struct {
	src  Source
	plan Plan
	ids  map[uint64]uint64 // the underlying source's mask ID -> plan index
}

// NewRecorder records the requests made of src.
func NewRecorder(src Source) *Recorder { return &Recorder{src: src, ids: map[uint64]uint64{}} }

// Plan returns the requests recorded so far.
func (r *Recorder) Plan() *Plan {
	return &Plan{entries: slices.Clone(r.plan.entries)}
}

func (r *Recorder) add(req request, shape []int) {
	r.plan.entries = append(r.plan.entries, planEntry{req: req, shape: slices.Clone(shape)})
}

func (r *Recorder) ElementwiseTriple(ctx context.Context, shape []int) (Triple, error) {
	r.add(request{Kind: kindElementwise, Size: sharing.Size(shape)}, shape)
	return r.src.ElementwiseTriple(ctx, shape)
}

func (r *Recorder) MatrixTriple(ctx context.Context, m, k, n int) (Triple, error) {
	r.add(request{Kind: kindMatrix, M: m, K: k, N: n}, nil)
	return r.src.MatrixTriple(ctx, m, k, n)
}

func (r *Recorder) SquarePair(ctx context.Context, shape []int) (SquarePair, error) {
	r.add(request{Kind: kindSquare, Size: sharing.Size(shape)}, shape)
	return r.src.SquarePair(ctx, shape)
}

func (r *Recorder) TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error) {
	r.add(request{Kind: kindTrunc, Size: sharing.Size(shape), Bits: fracBits}, shape)
	return r.src.TruncPair(ctx, shape, fracBits)
}

func (r *Recorder) AndTriple(ctx context.Context, words int) (BinaryTriple, error) {
	r.add(request{Kind: kindAnd, Size: words}, nil)
	return r.src.AndTriple(ctx, words)
}

func (r *Recorder) DaBits(ctx context.Context, n int) (DaBits, error) {
	r.add(request{Kind: kindDaBit, Size: n}, nil)
	return r.src.DaBits(ctx, n)
}

func (r *Recorder) Mask(ctx context.Context, rows, cols int) (MaskShare, error) {
	index := uint64(len(r.plan.entries))
	r.add(request{Kind: kindMask, M: rows, K: cols}, nil)
	m, err := r.src.Mask(ctx, rows, cols)
	if err == nil {
		r.ids[m.ID] = index
	}
	return m, err
}

func (r *Recorder) MaskProduct(ctx context.Context, x, y MaskRef) (sharing.Tensor, error) {
	px, okx := r.ids[x.ID]
	py, oky := r.ids[y.ID]
	if !okx || !oky {
		return sharing.Tensor{}, fmt.Errorf("protocol: recorder: mask product of masks %d and %d it did not record", x.ID, y.ID)
	}
	rx, ry := x, y
	rx.ID, ry.ID = px, py
	r.add(request{Kind: kindMaskProduct, X: rx, Y: ry}, nil)
	return r.src.MaskProduct(ctx, x, y)
}

// material is one fetched plan entry.
type material struct {
	triple  Triple
	square  SquarePair
	trunc   TruncPair
	and     BinaryTriple
	dabits  DaBits
	mask    MaskShare
	product sharing.Tensor
}

// Pipeline is a Source for a computation whose requests were recorded: a producer
// goroutine fetches the plan's material from the underlying source in order,
// keeping at most depth entries ready (so memory stays bounded), and every request
// is checked against the plan. Depth 0 fetches the whole plan (offline first: call
// Wait before the online phase). Mask IDs it hands out are plan indices.
type Pipeline struct {
	plan  *Plan
	ready chan material
	next  int // index of the next entry to serve

	mu   sync.Mutex
	err  error
	done chan struct{} // closed when the producer stops

	cancel context.CancelFunc
}

// NewPipeline starts fetching plan's material from src. src must not be used by
// anyone else while the pipeline runs.
func NewPipeline(ctx context.Context, src Source, plan *Plan, depth int) *Pipeline {
	capacity := depth
	if depth <= 0 {
		capacity = plan.Len()
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pipeline{plan: plan, ready: make(chan material, capacity), done: make(chan struct{}), cancel: cancel}
	go p.produce(ctx, src)
	return p
}

func (p *Pipeline) produce(ctx context.Context, src Source) {
	defer close(p.done)
	defer close(p.ready)
	underlying := make(map[uint64]uint64) // plan index of a mask -> the source's mask ID
	for i, e := range p.plan.entries {
		m, err := fetch(ctx, src, e, underlying)
		if err == nil && e.req.Kind == kindMask {
			underlying[uint64(i)] = m.mask.ID
			m.mask.ID = uint64(i)
		}
		if err != nil {
			p.mu.Lock()
			p.err = fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, e, err)
			p.mu.Unlock()
			return
		}
		select {
		case p.ready <- m:
		case <-ctx.Done():
			return
		}
	}
}

func fetch(ctx context.Context, src Source, e planEntry, underlying map[uint64]uint64) (material, error) {
	var m material
	var err error
	r := e.req
	switch r.Kind {
	case kindElementwise:
		m.triple, err = src.ElementwiseTriple(ctx, e.shape)
	case kindMatrix:
		m.triple, err = src.MatrixTriple(ctx, r.M, r.K, r.N)
	case kindSquare:
		m.square, err = src.SquarePair(ctx, e.shape)
	case kindTrunc:
		m.trunc, err = src.TruncPair(ctx, e.shape, r.Bits)
	case kindAnd:
		m.and, err = src.AndTriple(ctx, r.Size)
	case kindDaBit:
		m.dabits, err = src.DaBits(ctx, r.Size)
	case kindMask:
		m.mask, err = src.Mask(ctx, r.M, r.K)
	case kindMaskProduct:
		x, y := r.X, r.Y
		x.ID, y.ID = underlying[x.ID], underlying[y.ID]
		m.product, err = src.MaskProduct(ctx, x, y)
	default:
		err = fmt.Errorf("unknown kind %s", r.Kind)
	}
	return m, err
}

// Wait blocks until the whole plan is fetched (offline-first mode) or fetching
// failed.
func (p *Pipeline) Wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops the producer.
func (p *Pipeline) Close() {
	p.cancel()
	<-p.done
}

var errPlanExhausted = errors.New("the computation asked for more material than its recorded plan")

// take serves the next entry after checking the request matches the plan.
func (p *Pipeline) take(ctx context.Context, want planEntry) (material, error) {
	i := p.next
	if i >= p.plan.Len() {
		return material{}, fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, want, errPlanExhausted)
	}
	if e := p.plan.entries[i]; !e.equal(want) {
		return material{}, fmt.Errorf("protocol: preprocessing request %d is %s, the recorded plan has %s", i, want, e)
	}
	select {
	case m, ok := <-p.ready:
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.err != nil {
				return material{}, p.err
			}
			return material{}, fmt.Errorf("protocol: preprocessing request %d: the pipeline stopped", i)
		}
		p.next++
		return m, nil
	case <-ctx.Done():
		return material{}, ctx.Err()
	}
}

func (p *Pipeline) ElementwiseTriple(ctx context.Context, shape []int) (Triple, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindElementwise, Size: sharing.Size(shape)}, shape: shape})
	return m.triple, err
}

func (p *Pipeline) MatrixTriple(ctx context.Context, mm, k, n int) (Triple, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindMatrix, M: mm, K: k, N: n}})
	return m.triple, err
}

func (p *Pipeline) SquarePair(ctx context.Context, shape []int) (SquarePair, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindSquare, Size: sharing.Size(shape)}, shape: shape})
	return m.square, err
}

func (p *Pipeline) TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindTrunc, Size: sharing.Size(shape), Bits: fracBits}, shape: shape})
	return m.trunc, err
}

func (p *Pipeline) AndTriple(ctx context.Context, words int) (BinaryTriple, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindAnd, Size: words}})
	return m.and, err
}

func (p *Pipeline) DaBits(ctx context.Context, n int) (DaBits, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindDaBit, Size: n}})
	return m.dabits, err
}

func (p *Pipeline) Mask(ctx context.Context, rows, cols int) (MaskShare, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindMask, M: rows, K: cols}})
	return m.mask, err
}

func (p *Pipeline) MaskProduct(ctx context.Context, x, y MaskRef) (sharing.Tensor, error) {
	m, err := p.take(ctx, planEntry{req: request{Kind: kindMaskProduct, X: x, Y: y}})
	return m.product, err
}
