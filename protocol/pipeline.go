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

// Lanes is a Source made of independent sources, each serving some kinds of
// material over a channel of its own (dealer-free: the HE source and the OT
// source). A Pipeline over Lanes runs one producer per lane, so the lanes' round
// trips and computations overlap instead of taking turns; each lane still gets
// its own requests in plan order, which is all its peers' lanes need to agree.
// Used directly, Lanes serves like a Router.
type Lanes struct {
	sources []Source
	lane    map[Kind]int
}

// NewLanes returns an empty set of lanes.
func NewLanes() *Lanes { return &Lanes{lane: map[Kind]int{}} }

// Add makes src a lane serving kinds (a kind added again moves to the new lane)
// and returns l.
func (l *Lanes) Add(src Source, kinds ...Kind) *Lanes {
	for _, k := range kinds {
		l.lane[k] = len(l.sources)
	}
	l.sources = append(l.sources, src)
	return l
}

// Fetch asks the lane serving req's kind.
func (l *Lanes) Fetch(ctx context.Context, req Request) (Material, error) {
	i, ok := l.lane[req.Kind]
	if !ok {
		return Material{}, fmt.Errorf("protocol: %s: %w", req.Kind, ErrUnservedKind)
	}
	return l.sources[i].Fetch(ctx, req)
}

// Pipeline is a Source for a computation whose requests were recorded: producer
// goroutines (one per lane of a Lanes source, else one) fetch the plan's material
// from the underlying source, each lane in plan order, never beyond depth entries
// past the one the computation asks for next (so memory stays bounded), and
// every request is checked against the plan. Depth 0 fetches the whole plan
// (offline first: call Wait before the online phase). Mask IDs it hands out are
// plan indices.
type Pipeline struct {
	plan   *Plan
	window int // entries [next, next+window) may be fetched

	mu      sync.Mutex
	next    int // index of the next entry to serve
	ready   map[int]Material
	err     error
	changed chan struct{} // closed (and replaced) whenever the state above changes

	done   chan struct{} // closed when every producer has stopped
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
	window := depth
	if depth <= 0 {
		window = plan.Len() - start
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pipeline{plan: plan, window: window, next: start, ready: map[int]Material{},
		changed: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	sources, lanes := []Source{src}, make([][]int, 1)
	l, laned := src.(*Lanes)
	if laned {
		sources, lanes = l.sources, make([][]int, len(l.sources))
	}
	for i := start; i < plan.Len(); i++ {
		lane := 0
		if laned {
			lane = l.lane[plan.entries[i].Kind] // an unserved kind fails in lane 0's Fetch
		}
		lanes[lane] = append(lanes[lane], i)
	}
	var wg sync.WaitGroup
	for k, entries := range lanes {
		wg.Go(func() {
			if err := p.produce(ctx, sources[k], entries); err != nil {
				p.fail(err)
			}
		})
	}
	go func() {
		wg.Wait()
		close(p.done)
	}()
	return p, nil
}

// BatchSource is a Source that serves some requests more cheaply together
// than one at a time (the HE source packs small products into shared
// ciphertexts). Batchable says which (a function of the request alone, the
// same for every party); a pipeline fetches the others one at a time, so that
// a large request's material is not held back until a whole batch is made.
// FetchBatch returns one Material per request, in order. A mask product in a
// batch names masks made by earlier calls, never one of the same batch; the
// parties must make the same batches, as they make the same requests.
type BatchSource interface {
	Source
	Batchable(req Request) bool
	FetchBatch(ctx context.Context, reqs []Request) ([]Material, error)
}

// Batches of a BatchSource lane: at most maxBatch requests, spanning fewer than
// maxBatchSpan plan entries (and fewer than the window), so that a batch is a
// function of the plan alone (every party cuts the same batches, whatever its
// timing) and its last entry is inside the window once the computation reaches
// its first.
const (
	maxBatch     = 32
	maxBatchSpan = 48
)

// batchLen is the length of the batch that starts with entries[0]: a run of
// masks and requests src finds batchable (1 if entries[0] is neither).
func (p *Pipeline) batchLen(src BatchSource, entries []int) int {
	inBatch := func(i int) bool {
		req := p.plan.entries[i]
		return req.Kind == KindMask || src.Batchable(req)
	}
	if !inBatch(entries[0]) {
		return 1
	}
	span := min(p.window, maxBatchSpan)
	n := 1
	for n < len(entries) && n < maxBatch && entries[n]-entries[0] < span && inBatch(entries[n]) {
		n++
	}
	return n
}

// produce fetches the plan entries of one lane, in order; a BatchSource lane
// fetches them in batches (batchLen), each batch's masks first.
func (p *Pipeline) produce(ctx context.Context, src Source, entries []int) error {
	underlying := make(map[uint64]uint64) // plan index of a mask -> the source's mask ID
	batcher, batched := src.(BatchSource)
	for pos := 0; pos < len(entries); {
		n := 1
		if batched {
			n = p.batchLen(batcher, entries[pos:])
		}
		last := entries[pos+n-1]
		if err := p.await(ctx, func() bool { return last < p.next+p.window }); err != nil {
			return err
		}
		var rest []int // the batch's entries other than masks, in order
		for _, i := range entries[pos : pos+n] {
			if n > 1 && p.plan.entries[i].Kind != KindMask {
				rest = append(rest, i)
				continue
			}
			req, err := p.sourceRequest(i, underlying)
			if err != nil {
				return err
			}
			m, err := src.Fetch(ctx, req)
			if err != nil {
				return fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, p.plan.entries[i], err)
			}
			p.deliver(i, m, underlying)
		}
		if len(rest) > 0 {
			if err := p.fetchBatch(ctx, batcher, rest, underlying); err != nil {
				return err
			}
		}
		pos += n
	}
	return nil
}

// sourceRequest is plan entry i with its mask references translated to the
// source's mask IDs.
func (p *Pipeline) sourceRequest(i int, underlying map[uint64]uint64) (Request, error) {
	req := p.plan.entries[i]
	if req.Kind == KindMaskProduct {
		x, okx := underlying[req.X.ID]
		y, oky := underlying[req.Y.ID]
		if !okx || !oky {
			return req, fmt.Errorf("protocol: preprocessing request %d (%s): its masks come from another source", i, req)
		}
		req.X.ID, req.Y.ID = x, y
	}
	return req, nil
}

// fetchBatch fetches plan entries idx (none a mask) in one batch.
func (p *Pipeline) fetchBatch(ctx context.Context, src BatchSource, idx []int, underlying map[uint64]uint64) error {
	reqs := make([]Request, len(idx))
	for k, i := range idx {
		var err error
		if reqs[k], err = p.sourceRequest(i, underlying); err != nil {
			return err
		}
	}
	ms, err := src.FetchBatch(ctx, reqs)
	if err == nil && len(ms) != len(idx) {
		err = fmt.Errorf("%d materials for %d requests", len(ms), len(idx))
	}
	if err != nil {
		return fmt.Errorf("protocol: preprocessing requests %d to %d (a batch of %d): %w", idx[0], idx[len(idx)-1], len(idx), err)
	}
	for k, i := range idx {
		p.deliver(i, ms[k], underlying)
	}
	return nil
}

// deliver makes entry i's material ready (a mask's ID becomes its plan index).
func (p *Pipeline) deliver(i int, m Material, underlying map[uint64]uint64) {
	if p.plan.entries[i].Kind == KindMask {
		underlying[uint64(i)] = m.ID
		m.ID = uint64(i)
	}
	p.mu.Lock()
	p.ready[i] = m
	p.notify()
	p.mu.Unlock()
}

// await blocks until cond (evaluated under p.mu) holds, the pipeline failed, or
// ctx ends.
func (p *Pipeline) await(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		ok, err, changed := cond(), p.err, p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes everyone waiting for a change; p.mu must be held.
func (p *Pipeline) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// fail records the first error and stops every producer.
func (p *Pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
		p.notify()
	}
	p.mu.Unlock()
	p.cancel()
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
	p.mu.Lock()
	i := p.next
	p.mu.Unlock()
	if i >= p.plan.Len() {
		return Material{}, fmt.Errorf("protocol: preprocessing request %d (%s): %w", i, req, errPlanExhausted)
	}
	if e := p.plan.entries[i]; !e.Equal(req) {
		return Material{}, fmt.Errorf("protocol: preprocessing request %d is %s, the recorded plan has %s", i, req, e)
	}
	var m Material
	served := func() bool {
		var ok bool
		if m, ok = p.ready[i]; ok {
			delete(p.ready, i)
			p.next++
			p.notify()
		}
		return ok
	}
	if err := p.await(ctx, served); err != nil {
		if ctx.Err() != nil {
			return Material{}, ctx.Err()
		}
		return Material{}, err
	}
	return m, nil
}
