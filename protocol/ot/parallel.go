package ot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// One Party runs one batch at a time, and a batch is a chain of round trips
// between the parties (the daBit fold goes through them one after another): on
// its own it leaves a party's cores idle while it waits for its peers. Parallel
// runs several Parties, each on a channel of its own, and cuts every request
// into contiguous pieces that they make at once; all parties cut alike, so
// every channel carries the same requests in the same order on every party.
// The pieces are independent material from independent extensions, so the
// leakage is that of the pieces, which is none beyond the sizes.

// minPiece is the fewest elements (words for AND triples, bits for daBits) a
// piece of a cut request has: smaller requests go whole to one Party, in turn.
const minPiece = 256

// Parallel is a party's OT source over several channels; see above. Its
// methods must be called by all parties with the same requests in the same
// order; it serialises its own calls.
type Parallel struct {
	mu     sync.Mutex
	lanes  []*Party
	turn   uint64 // requests served whole: the next one goes to lanes[turn % len]
	failed error
}

var _ protocol.Source = (*Parallel)(nil)

// SetupParallel runs Setup on every channel in trs at once (each must carry only
// this package's messages) and returns the lanes. All parties call it at the
// same time with the same number of channels.
func SetupParallel(ctx context.Context, trs []protocol.Transport) (*Parallel, error) {
	if len(trs) == 0 {
		return nil, errors.New("ot: parallel setup with no channel")
	}
	p := &Parallel{lanes: make([]*Party, len(trs))}
	errs := make([]error, len(trs))
	var wg sync.WaitGroup
	for k, tr := range trs {
		wg.Go(func() { p.lanes[k], errs[k] = Setup(ctx, tr) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for k, l := range p.lanes {
		// Lanes start their daBit fold orders at different rotations, so that
		// pieces made at once do not all wait for the same party first.
		l.daBitBatches = uint64(k)
	}
	return p, nil
}

// Fetch implements protocol.Source for the kinds in Kinds.
func (p *Parallel) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	if !slices.Contains(Kinds, req.Kind) {
		return protocol.Material{}, fmt.Errorf("ot: %s: %w", req.Kind, protocol.ErrUnservedKind)
	}
	if err := req.Validate(); err != nil {
		return protocol.Material{}, err
	}
	size := sharing.Size(req.Shape)
	if (req.Kind == protocol.KindTrunc || req.Kind == protocol.KindTruncHigh || req.Kind == protocol.KindTruncSign) && size > protocol.MaxMessageElements/64 {
		return protocol.Material{}, fmt.Errorf("ot: truncation pair of shape %v is out of range", req.Shape) // 64 daBits per element
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return protocol.Material{}, fmt.Errorf("ot: source unusable after an earlier failure: %w", p.failed)
	}
	pieces := min(len(p.lanes), size/minPiece)
	if pieces <= 1 {
		lane := p.lanes[p.turn%uint64(len(p.lanes))]
		p.turn++
		m, err := lane.Fetch(ctx, req)
		if err != nil {
			p.failed = err
		}
		return m, err
	}
	m, err := p.cut(ctx, req, size, pieces)
	if err != nil {
		p.failed = err // the lanes may now disagree with their peers' on what comes next
	}
	return m, err
}

// cut makes req in pieces contiguous in its elements, one per lane, at once, and
// joins them.
func (p *Parallel) cut(ctx context.Context, req protocol.Request, size, pieces int) (protocol.Material, error) {
	got := make([]protocol.Material, pieces)
	errs := make([]error, pieces)
	var wg sync.WaitGroup
	for k := range pieces {
		part := req
		part.Shape = []int{pieceSize(size, pieces, k)}
		wg.Go(func() {
			if got[k], errs[k] = p.lanes[k].Fetch(ctx, part); errs[k] != nil {
				errs[k] = fmt.Errorf("piece %d of %d: %w", k, pieces, errs[k])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return protocol.Material{}, err
	}
	// Every part of these kinds' material has one entry per element, in
	// element order (AND triples: per word; daBits: per bit).
	out := protocol.Material{Parts: make([]sharing.Tensor, len(got[0].Parts))}
	for j := range out.Parts {
		data := make([]uint64, 0, size)
		for _, g := range got {
			if len(g.Parts) != len(out.Parts) {
				return protocol.Material{}, fmt.Errorf("ot: pieces of %s with %d and %d parts", req, len(g.Parts), len(out.Parts))
			}
			data = append(data, g.Parts[j].Data...)
		}
		if len(data) != size {
			return protocol.Material{}, fmt.Errorf("ot: pieces of %s joined to %d entries, want %d", req, len(data), size)
		}
		out.Parts[j] = sharing.Tensor{Shape: slices.Clone(req.Shape), Data: data}
	}
	return out, nil
}

// pieceSize is the size of piece k of size elements cut in pieces: the first
// size%pieces pieces have one more.
func pieceSize(size, pieces, k int) int {
	n := size / pieces
	if k < size%pieces {
		n++
	}
	return n
}
