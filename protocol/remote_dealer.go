package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tessera-mpc/tessera/sharing"
)

// A dealer can run as its own node. Its transport spans N+1 members: the computing
// parties 0..N-1 and the dealer at index N. The dealer sends each of parties
// 0..N-2 its seed once, then answers party N-1's requests, one message each way per
// request, in order.

// Message layout between party N-1 and the dealer: request index (8 bytes), kind
// (1), then M, K, N, Size, Bits (4 bytes each), then for mask products each mask's
// request index (8), rows and cols (4 each), transpose flag (1) and unfolding
// (convWireSize); an empty message ends the session.
const dealerRequestSize = 8 + 1 + 5*4 + 2*(8+4+4+1+convWireSize)

func encodeRequest(k uint64, r Request) []byte {
	buf := make([]byte, dealerRequestSize)
	binary.LittleEndian.PutUint64(buf, k)
	buf[8] = byte(r.Kind)
	for i, v := range []int{r.M, r.K, r.N, r.wireSize(), r.Bits} {
		binary.LittleEndian.PutUint32(buf[9+4*i:], uint32(v))
	}
	off := 29
	for _, m := range []MaskRef{r.X, r.Y} {
		binary.LittleEndian.PutUint64(buf[off:], m.ID)
		binary.LittleEndian.PutUint32(buf[off+8:], uint32(m.Rows))
		binary.LittleEndian.PutUint32(buf[off+12:], uint32(m.Cols))
		if m.Trans {
			buf[off+16] = 1
		}
		putConv(buf[off+17:], m.Unfold)
		off += 17 + convWireSize
	}
	return buf
}

// hasShape says whether a kind of request is sized by its Shape.
func (r Request) hasShape() bool {
	return r.Kind != KindMatrix && r.Kind != KindMask && r.Kind != KindMaskProduct
}

// wireSize is the Size field of the message: the element count of shaped kinds.
func (r Request) wireSize() int {
	if !r.hasShape() {
		return 0
	}
	return r.size()
}

// flat is the request with a one-dimensional Shape of the same size.
func (r Request) flat() Request {
	if r.hasShape() {
		r.Shape = []int{r.size()}
	}
	return r
}

func decodeRequest(msg []byte) (uint64, Request, error) {
	if len(msg) != dealerRequestSize {
		return 0, Request{}, fmt.Errorf("dealer request of %d bytes, want %d", len(msg), dealerRequestSize)
	}
	k := binary.LittleEndian.Uint64(msg)
	r := Request{Kind: Kind(msg[8])}
	dims := make([]int, 5)
	for i := range dims {
		v := binary.LittleEndian.Uint32(msg[9+4*i:])
		if v > MaxMessageElements {
			return 0, Request{}, fmt.Errorf("dealer request %d: dimension %d is out of range", k, v)
		}
		dims[i] = int(v)
	}
	r.M, r.K, r.N, r.Bits = dims[0], dims[1], dims[2], dims[4]
	if r.hasShape() {
		r.Shape = []int{dims[3]} // the dealer makes flat components
	}
	off := 29
	for _, m := range []*MaskRef{&r.X, &r.Y} {
		m.ID = binary.LittleEndian.Uint64(msg[off:])
		rows, cols := binary.LittleEndian.Uint32(msg[off+8:]), binary.LittleEndian.Uint32(msg[off+12:])
		if rows > MaxMessageElements || cols > MaxMessageElements || msg[off+16] > 1 {
			return 0, Request{}, fmt.Errorf("dealer request %d: malformed mask reference", k)
		}
		m.Rows, m.Cols, m.Trans = int(rows), int(cols), msg[off+16] == 1
		var err error
		if m.Unfold, err = getConv(msg[off+17:]); err != nil {
			return 0, Request{}, fmt.Errorf("dealer request %d: malformed mask reference: %w", k, err)
		}
		off += 17 + convWireSize
	}
	return k, r, nil
}

// ServeOption tunes a dealer's session.
type ServeOption func(*serveConfig)

type serveConfig struct{ resume bool }

// AcceptResumed lets the session start at any request, as a run resumed from a
// checkpoint does (the parties agree on where); without it, a session starts at
// request 0.
func AcceptResumed() ServeOption { return func(c *serveConfig) { c.resume = true } }

// ServeDealer plays the dealer over tr (tr.Self() must be d.Parties()). It returns
// nil when party N-1 ends the session, or the first error.
func ServeDealer(ctx context.Context, tr Transport, d *Dealer, opts ...ServeOption) error {
	var sc serveConfig
	for _, o := range opts {
		o(&sc)
	}
	n := d.Parties()
	if tr.Self() != n || tr.Parties() != n+1 {
		return fmt.Errorf("protocol: the dealer must be member %d of %d, is %d of %d", n, n+1, tr.Self(), tr.Parties())
	}
	for p := 0; p < n-1; p++ {
		if err := tr.Send(ctx, p, d.seeds[p][:]); err != nil {
			return fmt.Errorf("protocol: dealer: sending party %d its seed: %w", p, err)
		}
	}
	last := n - 1
	masks := map[uint64][2]int{} // shapes of the masks made so far, for mask products
	first := true
	for want := uint64(0); ; want++ {
		msg, err := tr.Recv(ctx, last)
		if err != nil {
			return fmt.Errorf("protocol: dealer: waiting for request %d from party %d: %w", want, last, err)
		}
		if len(msg) == 0 {
			return nil
		}
		k, req, err := decodeRequest(msg)
		if err != nil {
			return fmt.Errorf("protocol: dealer: party %d: %w", last, err)
		}
		if first && sc.resume {
			want = k // a resumed session: masks made before it are refused below
		}
		first = false
		if k != want {
			if want == 0 {
				return fmt.Errorf("protocol: dealer: party %d starts at request %d (a resumed run), but this dealer serves only new sessions: start it with --resume", last, k)
			}
			return fmt.Errorf("protocol: dealer: party %d sent request %d, want %d", last, k, want)
		}
		if err := req.Validate(); err != nil {
			return fmt.Errorf("protocol: dealer: party %d request %d: %w", last, k, err)
		}
		switch req.Kind {
		case KindMask:
			masks[k] = [2]int{req.M, req.K}
		case KindMaskProduct:
			for _, m := range []MaskRef{req.X, req.Y} {
				if shape, ok := masks[m.ID]; !ok || shape != [2]int{m.Rows, m.Cols} {
					return fmt.Errorf("protocol: dealer: party %d request %d: request %d made no %dx%d mask", last, k, m.ID, m.Rows, m.Cols)
				}
			}
		}
		var words []uint64
		for _, t := range d.corrected(k, req) {
			words = append(words, t.Data...)
		}
		if err := tr.Send(ctx, last, encodeMessage(k, opMaterial, words)); err != nil {
			return fmt.Errorf("protocol: dealer: answering request %d of party %d: %w", k, last, err)
		}
	}
}

// RemoteDealerSource is party tr.Self()'s source when the dealer is member
// `parties` of tr. Parties 0..N-2 wait for their seed; party N-1 asks the dealer for
// each request. Close ends the dealer's session (party N-1 only).
func RemoteDealerSource(ctx context.Context, tr Transport, parties int) (Source, func(context.Context) error, error) {
	return RemoteDealerSourceAt(ctx, tr, parties, 0)
}

// RemoteDealerSourceAt is RemoteDealerSource for a session that starts at request
// start (a run resumed from a checkpoint); the dealer must accept resumed sessions.
// Party N-1 asks for one request at a time, when the computation makes it: one
// round trip to the dealer per request.
func RemoteDealerSourceAt(ctx context.Context, tr Transport, parties int, start uint64) (Source, func(context.Context) error, error) {
	seeded, err := remoteSeeded(ctx, tr, parties, start)
	if seeded != nil || err != nil {
		return seeded, noEnd, err
	}
	dealer := parties
	src := &materialSource{requester{next: start, start: start, fetch: func(ctx context.Context, k uint64, req Request) ([]sharing.Tensor, error) {
		if err := tr.Send(ctx, dealer, encodeRequest(k, req)); err != nil {
			return nil, fmt.Errorf("asking the dealer: %w", err)
		}
		return receiveMaterial(ctx, tr, dealer, k, req)
	}}}
	return src, endSession(tr, dealer), nil
}

func noEnd(context.Context) error { return nil }

// remoteSeeded is the source of parties 0..N-2 (nil for party N-1): the seed the
// dealer sends once, expanded locally.
func remoteSeeded(ctx context.Context, tr Transport, parties int, start uint64) (Source, error) {
	self, dealer := tr.Self(), parties
	if tr.Parties() != parties+1 || self < 0 || self >= parties {
		return nil, fmt.Errorf("protocol: remote dealer: member %d of %d is not a computing party of %d", self, tr.Parties(), parties)
	}
	if self == parties-1 {
		return nil, nil
	}
	msg, err := tr.Recv(ctx, dealer)
	if err != nil {
		return nil, fmt.Errorf("protocol: waiting for the dealer's seed: %w", err)
	}
	if len(msg) != sharing.SeedSize {
		return nil, fmt.Errorf("protocol: the dealer sent a seed of %d bytes, want %d", len(msg), sharing.SeedSize)
	}
	var seed sharing.Seed
	copy(seed[:], msg)
	return newSeededSource(seed, start), nil
}

// receiveMaterial waits for the dealer's answer to request k (flat) and checks
// its round, operation and length before using it.
func receiveMaterial(ctx context.Context, tr Transport, dealer int, k uint64, req Request) ([]sharing.Tensor, error) {
	msg, err := tr.Recv(ctx, dealer)
	if err != nil {
		return nil, fmt.Errorf("waiting for the dealer: %w", err)
	}
	shapes := req.shapes()
	words, err := decodeMessage(msg, dealer, k, opMaterial, answerWords(req))
	if err != nil {
		return nil, err
	}
	out := make([]sharing.Tensor, len(shapes))
	off := 0
	for i, s := range shapes {
		size := sharing.Size(s)
		out[i] = sharing.Tensor{Shape: s, Data: words[off : off+size : off+size]}
		off += size
	}
	return out, nil
}

// answerWords is the size, in words, of the dealer's answer to a request.
func answerWords(req Request) int {
	total := 0
	for _, s := range req.shapes() {
		total += sharing.Size(s)
	}
	return total
}

// endSession is party N-1's end of the dealer's session: an empty message.
func endSession(tr Transport, dealer int) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := tr.Send(ctx, dealer, nil); err != nil {
			return errors.Join(errors.New("protocol: ending the dealer session"), err)
		}
		return nil
	}
}

// DealerWindow bounds how far ahead of the computation party N-1 asks the dealer:
// the requests asked for and not yet received, and the material they make. One
// request is always asked for, whatever its size.
type DealerWindow struct {
	Requests int
	Bytes    int64
}

// RemoteDealerSourceAhead is RemoteDealerSourceAt for a computation whose requests
// were recorded in plan (mask IDs are plan indices, as a Recorder makes them):
// party N-1 sends the plan's requests, from start on, without waiting for the
// answers, as far ahead as window allows. The round trips to the dealer then
// overlap one another, and under a Pipeline the online phase too, instead of
// costing one each. The dealer's side is ServeDealer unchanged: it answers the
// requests in order. Every request made of the source must be the plan's next.
func RemoteDealerSourceAhead(ctx context.Context, tr Transport, parties int, plan *Plan, start uint64, window DealerWindow) (Source, func(context.Context) error, error) {
	if window.Requests < 1 || window.Bytes < 1 {
		return nil, nil, fmt.Errorf("protocol: remote dealer: window of %d requests and %d bytes", window.Requests, window.Bytes)
	}
	if start > uint64(plan.Len()) {
		return nil, nil, fmt.Errorf("protocol: remote dealer: starting at request %d of a plan of %d", start, plan.Len())
	}
	seeded, err := remoteSeeded(ctx, tr, parties, start)
	if seeded != nil || err != nil {
		return seeded, noEnd, err
	}
	s := &dealerStream{tr: tr, dealer: parties, plan: plan, window: window, asked: start}
	return &materialSource{requester{next: start, start: start, fetch: s.fetch}}, endSession(tr, parties), nil
}

// dealerStream is party N-1's stream of requests to the dealer, ahead of the
// answers it has received.
type dealerStream struct {
	tr      Transport
	dealer  int
	plan    *Plan
	window  DealerWindow
	asked   uint64 // the next plan entry to ask for
	pending int64  // bytes of the answers asked for and not yet received
}

// fetch asks for the plan's next requests as far as the window allows (request
// k at least), then receives the answer to request k.
func (s *dealerStream) fetch(ctx context.Context, k uint64, req Request) ([]sharing.Tensor, error) {
	if k >= uint64(s.plan.Len()) {
		return nil, fmt.Errorf("asking the dealer: %w", errPlanExhausted)
	}
	if want := s.plan.entries[k].flat(); !want.Equal(req) {
		return nil, fmt.Errorf("asking the dealer ahead: the computation made %s where the recorded plan has %s", req, want)
	}
	for s.asked < uint64(s.plan.Len()) {
		next := s.plan.entries[s.asked].flat()
		size := 8 * int64(answerWords(next))
		if s.asked > k && (s.asked-k >= uint64(s.window.Requests) || s.pending+size > s.window.Bytes) {
			break
		}
		if err := s.tr.Send(ctx, s.dealer, encodeRequest(s.asked, next)); err != nil {
			return nil, fmt.Errorf("asking the dealer for request %d: %w", s.asked, err)
		}
		s.pending += size
		s.asked++
	}
	out, err := receiveMaterial(ctx, s.tr, s.dealer, k, req)
	if err != nil {
		return nil, err
	}
	s.pending -= 8 * int64(answerWords(req))
	return out, nil
}
