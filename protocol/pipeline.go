package protocol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A computation's preprocessing requests depend only on public shapes, never on
// data, so they can be recorded once (on a dry run with any data of the right
// shapes) and then fetched ahead of the online phase. Recorder records them;
// Pipeline serves a recorded plan from material a producer fetches ahead.

// Plan is the recorded sequence of a computation's preprocessing requests.
type Plan struct {
	entries []Request
}

// Len is the number of requests.
func (p *Plan) Len() int { return len(p.entries) }

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

// Fetch records req, with mask references translated to plan indices, and passes
// it on.
func (r *Recorder) Fetch(ctx context.Context, req Request) (Material, error) {
	index := uint64(len(r.plan.entries))
	recorded := req
	recorded.Shape = slices.Clone(req.Shape)
	if req.Kind == KindMaskProduct {
		px, okx := r.ids[req.X.ID]
		py, oky := r.ids[req.Y.ID]
		if !okx || !oky {
			return Material{}, fmt.Errorf("protocol: recorder: mask product of masks %d and %d it did not record", req.X.ID, req.Y.ID)
		}
		recorded.X.ID, recorded.Y.ID = px, py
	}
	r.plan.entries = append(r.plan.entries, recorded)
	m, err := r.src.Fetch(ctx, req)
	if err == nil && req.Kind == KindMask {
		r.ids[m.ID] = index
	}
	return m, err
}

// Pipeline is a Source for a computation whose requests were recorded: a producer
// goroutine fetches the plan's material from the underlying source in order,
// keeping at most depth entries ready (so memory stays bounded), and every request
// is checked against the plan. Depth 0 fetches the whole plan (offline first: call
// Wait before the online phase). Mask IDs it hands out are plan indices.
type Pipeline struct {
	plan  *Plan
	ready chan Material
	next  int // index of the next entry to serve

	mu   sync.Mutex
	err  error
	done chan struct{} // closed when the producer stops

	cancel context.CancelFunc
}

// NewPipeline starts fetching plan's material from src. src must not be used by
// anyone else while the pipeline runs.
func NewPipeline(ctx context.Context, src Source, plan *Plan, depth int) *Pipeline {
	p, _ := NewPipelineAt(ctx, src, plan, depth, 0) // start 0 never fails
	return p
}

// NewPipelineAt is NewPipeline for a computation resumed after the plan's first
// start requests (a checkpoint's position): it serves the plan from there, with
// fresh material. A plan whose later requests refer to masks made before start
// cannot be resumed there.
func NewPipelineAt(ctx context.Context, src Source, plan *Plan, depth, start int) (*Pipeline, error) {
	if start < 0 || start > plan.Len() {
		return nil, fmt.Errorf("protocol: resuming at request %d of a plan of %d", start, plan.Len())
	}
	for i, req := range plan.entries[start:] {
		if req.Kind == KindMaskProduct && (req.X.ID < uint64(start) || req.Y.ID < uint64(start)) {
			return nil, fmt.Errorf("protocol: cannot resume at request %d: request %d uses masks %d and %d made before it", start, start+i, req.X.ID, req.Y.ID)
		}
	}
	capacity := depth
	if depth <= 0 {
		capacity = plan.Len() - start
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pipeline{plan: plan, next: start, ready: make(chan Material, capacity), done: make(chan struct{}), cancel: cancel}
	go p.produce(ctx, src, start)
	return p, nil
}

func (p *Pipeline) produce(ctx context.Context, src Source, start int) {
	defer close(p.done)
	defer close(p.ready)
	underlying := make(map[uint64]uint64) // plan index of a mask -> the source's mask ID
	for i := start; i < p.plan.Len(); i++ {
		req := p.plan.entries[i]
		if req.Kind == KindMaskProduct {
			req.X.ID, req.Y.ID = underlying[req.X.ID], underlying[req.Y.ID]
		}
		m, err := src.Fetch(ctx, req)
		if err != nil {
			p.mu.Lock()
			p.err = fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, p.plan.entries[i], err)
			p.mu.Unlock()
			return
		}
		if req.Kind == KindMask {
			underlying[uint64(i)] = m.ID
			m.ID = uint64(i)
		}
		select {
		case p.ready <- m:
		case <-ctx.Done():
			return
		}
	}
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

// Fetch serves the next entry of the plan after checking that req is the one the
// plan recorded.
func (p *Pipeline) Fetch(ctx context.Context, req Request) (Material, error) {
	i := p.next
	if i >= p.plan.Len() {
		return Material{}, fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, req, errPlanExhausted)
	}
	if e := p.plan.entries[i]; !e.Equal(req) {
		return Material{}, fmt.Errorf("protocol: preprocessing request %d is %s, the recorded plan has %s", i, req, e)
	}
	select {
	case m, ok := <-p.ready:
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.err != nil {
				return Material{}, p.err
			}
			return Material{}, fmt.Errorf("protocol: preprocessing request %d: the pipeline stopped", i)
		}
		p.next++
		return m, nil
	case <-ctx.Done():
		return Material{}, ctx.Err()
	}
}
