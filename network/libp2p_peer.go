package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	lpnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PeerAbortError is returned by Recv (from any peer) and Send once a peer has
// aborted the session.
type PeerAbortError struct {
	Party  int    // the aborting party's index
	Reason string // its reason, sanitised for printing
}

func (e *PeerAbortError) Error() string {
	return fmt.Sprintf("party %d aborted: %s", e.Party, e.Reason)
}

// Received messages wait for Recv in a per-peer inbox of at most lpInboxLen
// messages and (unless the inbox is empty) inboxBytes(MaxFrameBytes) bytes. When
// it is full the reader stops reading and yamux flow control holds the sender
// back (and the watchdog pauses: see liveness.go). The bound is generous because
// parties send before they receive: a tight one could stall a round in which both
// sides send many messages first.
const (
	lpInboxLen      = 1024
	lpInboxMinBytes = 64 << 20
)

func inboxBytes(maxFrame int) int64 {
	return max(4*int64(maxFrame), lpInboxMinBytes)
}

// lpPeer is the admitted stream with one peer.
type lpPeer struct {
	index int
	id    peer.ID
	name  string // "peer 2 (12D3KooW...)"
	s     lpnet.Stream

	wsem      chan struct{} // one-slot write lock; a channel so waiting honours ctx
	writeErr  error         // guarded by wsem: set once a write failed (the stream may hold a partial frame)
	lastWrite atomic.Int64  // unix nanoseconds of the last frame written

	in      chan []byte   // messages, in order; closed by the reader when it stops
	queued  atomic.Int64  // payload bytes in in
	space   chan struct{} // 1-slot: Recv took a message out of in
	readErr error         // why the reader stopped; written before in is closed
	done    chan struct{} // closed when the reader has returned

	lastHeard atomic.Int64  // unix nanoseconds of the last byte read from the peer
	stalled   atomic.Bool   // the reader waits for room in in: the silence is ours
	dead      chan struct{} // closed when the watchdog declares the peer dead
	deadErr   error         // why; written before dead is closed
}

// establish runs the handshake on s with party j and, if both sides accept,
// installs the peer and starts its reader. On error s is closed.
func (t *Libp2pTransport) establish(ctx context.Context, s lpnet.Stream, j int) error {
	deadline := time.Now().Add(t.cfg.HandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.SetDeadline(deadline)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = s.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := exchangeHandshake(s, t.hello, func(h handshakeHello) string {
		return checkHello(t.hello, h, j)
	})
	if !stop() {
		<-fired
	}
	if err != nil {
		if he, ok := errors.AsType[*HandshakeError](err); ok {
			he.Party, he.Peer = j, t.cfg.Peers[j].ID
			// Close (FIN), not Reset: the verdicts were exchanged, and a reset
			// would discard ours before the peer reads it.
			_ = s.Close()
			return he
		}
		_ = s.Reset()
		if ctx.Err() != nil {
			return fmt.Errorf("%s: handshake: %w", t.peerName(j), ctx.Err())
		}
		return fmt.Errorf("%s: %w", t.peerName(j), err)
	}
	_ = s.SetDeadline(time.Time{})

	p := &lpPeer{
		index: j,
		id:    t.cfg.Peers[j].ID,
		name:  t.peerName(j),
		s:     s,
		wsem:  make(chan struct{}, 1),
		in:    make(chan []byte, lpInboxLen),
		space: make(chan struct{}, 1),
		done:  make(chan struct{}),
		dead:  make(chan struct{}),
	}
	p.heard()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = s.Reset()
		return t.closedErr()
	}
	t.wg.Add(3)
	slot := t.slots[j]
	slot.peer = p
	close(slot.ready)
	t.mu.Unlock()
	go t.readLoop(p)
	go t.watch(p)
	go t.heartbeats(p)
	return nil
}

// peerFor returns the admitted peer j, or an error naming the operation.
func (t *Libp2pTransport) peerFor(j int, op string) (*lpPeer, error) {
	if j < 0 || j >= len(t.slots) || j == t.self {
		return nil, fmt.Errorf("libp2p: %s party %d: no such peer (self %d, %d parties)", op, j, t.self, len(t.slots))
	}
	select {
	case <-t.slots[j].ready:
		return t.slots[j].peer, nil
	default:
		if err := t.failure(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("libp2p: %s %s: not connected (call Connect first)", op, t.peerName(j))
	}
}

// Send writes msg to party `to`: as one frame, or as several when it is larger
// than MaxFrameBytes (up to MaxMessageBytes). It returns once the frames are
// handed to the stream; yamux flow control may hold them while the peer's reader
// is behind, and Send waits as long as the peer is alive (see liveness.go). It
// fails when ctx ends, when the peer is declared dead, or when the session ends.
// Sends to one peer are serialised and delivered in order; Send may run
// concurrently with Recv and with Sends to other peers. A failed Send leaves the
// stream unusable: later Sends to that peer return the same error.
func (t *Libp2pTransport) Send(ctx context.Context, to int, msg []byte) error {
	p, err := t.peerFor(to, "send to")
	if err != nil {
		return err
	}
	if len(msg) > t.cfg.MaxMessageBytes {
		return fmt.Errorf("send to %s: message of %d bytes exceeds MaxMessageBytes %d: %w", p.name, len(msg), t.cfg.MaxMessageBytes, ErrFrameTooLarge)
	}
	if err := t.failure(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send to %s: %w", p.name, err)
	}
	select {
	case p.wsem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send to %s: %w", p.name, ctx.Err())
	case <-p.dead:
		return p.deadErr
	case <-t.closing:
		return t.closedErr()
	case <-t.aborted:
		return t.abortErr
	}
	defer func() { <-p.wsem }()
	if err := p.unresponsive(); err != nil {
		return err
	}
	if p.writeErr != nil {
		return p.writeErr
	}
	deadline, _ := ctx.Deadline() // zero without one: the watchdog bounds the wait instead
	if err := p.writeMessage(ctx, deadline, msg, t.cfg.MaxFrameBytes); err != nil {
		switch {
		case t.failure() != nil:
			err = t.failure()
		case p.unresponsive() != nil:
			err = p.unresponsive()
		case ctx.Err() != nil:
			err = fmt.Errorf("send to %s: %w", p.name, ctx.Err())
		default:
			err = lost(fmt.Errorf("send to %s: %w", p.name, err))
		}
		p.writeErr = err
		return err
	}
	t.stats.sent(to, len(msg))
	return nil
}

// writeMessage writes msg as frames of at most maxFrame payload bytes: frameMore
// frames, then a final frameData frame. The caller holds p.wsem.
func (p *lpPeer) writeMessage(ctx context.Context, deadline time.Time, msg []byte, maxFrame int) error {
	for len(msg) > maxFrame {
		if err := p.writeFrameBy(ctx, deadline, frameMore, msg[:maxFrame]); err != nil {
			return err
		}
		msg = msg[maxFrame:]
	}
	return p.writeFrameBy(ctx, deadline, frameData, msg)
}

// writeFrameBy writes one frame, giving up at deadline (none if zero) or when
// ctx ends. The caller holds p.wsem.
func (p *lpPeer) writeFrameBy(ctx context.Context, deadline time.Time, kind byte, payload []byte) error {
	_ = p.s.SetWriteDeadline(deadline)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = p.s.SetWriteDeadline(time.Unix(1, 0)) // a past deadline wakes a blocked write
		close(fired)
	})
	err := writeFrame(p.s, kind, payload)
	if !stop() {
		<-fired
	}
	if err == nil {
		p.lastWrite.Store(time.Now().UnixNano())
	}
	return err
}

// Recv returns the next message from party `from`. It waits as long as the peer
// is alive: however long the peer computes, Recv does not time out, but it fails
// with an error naming the peer and wrapping ErrPeerUnresponsive (and
// os.ErrDeadlineExceeded) once nothing, not even a heartbeat, has come from it for
// cfg.MessageTimeout. It fails with the peer's *PeerAbortError as soon as any peer
// aborts, with an error naming the peer when its stream ends or breaks (after the
// messages that arrived before), and with ctx's error when ctx ends.
func (t *Libp2pTransport) Recv(ctx context.Context, from int) ([]byte, error) {
	p, err := t.peerFor(from, "recv from")
	if err != nil {
		return nil, err
	}
	if err := t.failure(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recv from %s: %w", p.name, err)
	}
	select {
	case msg, ok := <-p.in:
		if !ok {
			if err := t.failure(); err != nil {
				return nil, err
			}
			return nil, p.readErr
		}
		p.queued.Add(-int64(len(msg)))
		select {
		case p.space <- struct{}{}:
		default:
		}
		t.stats.received(from, len(msg))
		return msg, nil
	case <-t.aborted:
		return nil, t.abortErr
	case <-t.closing:
		return nil, t.closedErr()
	case <-ctx.Done():
		return nil, fmt.Errorf("recv from %s: %w", p.name, ctx.Err())
	}
}

// lpReadBuffer is the reader's buffer: small frames cost one stream read per
// batch rather than two per frame; large bodies bypass it.
const lpReadBuffer = 64 << 10

// readLoop moves messages from p's stream into p.in until the stream ends,
// breaks, carries an abort, or violates the protocol. It never logs payloads.
func (t *Libp2pTransport) readLoop(p *lpPeer) {
	defer t.wg.Done()
	defer close(p.done)
	r := bufio.NewReaderSize(livenessReader{r: p.s, p: p}, lpReadBuffer)
	budget := inboxBytes(t.cfg.MaxFrameBytes)
	var asm assembler
	for {
		body, err := readFrame(r, t.cfg.MaxFrameBytes+1)
		if err != nil {
			p.stop(t.readFailure(p, err))
			return
		}
		if len(body) == 0 {
			p.stop(fmt.Errorf("%s: protocol violation: empty frame", p.name))
			_ = p.s.Reset()
			return
		}
		switch body[0] {
		case frameHeartbeat:
			if len(body) != 1 {
				p.stop(fmt.Errorf("%s: protocol violation: heartbeat of %d bytes", p.name, len(body)))
				_ = p.s.Reset()
				return
			}
		case frameMore, frameData:
			msg, complete, err := asm.add(body, t.cfg.MaxMessageBytes)
			if err != nil {
				p.stop(fmt.Errorf("%s: %w", p.name, err))
				_ = p.s.Reset()
				return
			}
			if complete && !t.enqueue(p, msg, budget) {
				// Closing: nobody will Recv it; keep reading until the peer ends
				// its stream.
				continue
			}
		case frameAbort:
			e := &PeerAbortError{Party: p.index, Reason: sanitizeText(string(body[1:]), maxReasonLen)}
			if e.Reason == "" {
				e.Reason = "no reason given"
			}
			t.peerAborted(e)
			p.stop(e)
			// End our side too: the aborting party waits for it before it closes
			// its host (which would discard what we have not read yet).
			_ = p.s.CloseWrite()
			return
		default:
			p.stop(fmt.Errorf("%s: protocol violation: unexpected frame kind 0x%02x", p.name, body[0]))
			_ = p.s.Reset()
			return
		}
	}
}

// readFailure describes why reading p's stream failed.
func (t *Libp2pTransport) readFailure(p *lpPeer, err error) error {
	switch {
	case p.unresponsive() != nil:
		return p.unresponsive()
	case err == io.EOF:
		return lost(fmt.Errorf("%s closed its stream: %w", p.name, err))
	case errors.Is(err, ErrFrameTooLarge):
		_ = p.s.Reset()
		return fmt.Errorf("%s sent an oversize frame (MaxFrameBytes %d): %w", p.name, t.cfg.MaxFrameBytes, err)
	default:
		return lost(fmt.Errorf("%s: connection lost: %w", p.name, err))
	}
}

// assembler joins the frames of one message. A message is never larger than
// MaxMessageBytes, and its buffer grows only as its parts arrive, so a peer
// cannot make us allocate more than about what it actually sent.
type assembler struct {
	parts  []byte
	active bool // frameMore frames have begun a message
}

// add takes one frameMore or frameData body (kind byte included) and returns the
// message once complete.
func (a *assembler) add(body []byte, maxMessage int) (msg []byte, complete bool, err error) {
	kind, payload := body[0], body[1:]
	if len(a.parts)+len(payload) > maxMessage {
		return nil, false, fmt.Errorf("message of more than %d bytes (MaxMessageBytes %d): %w", len(a.parts)+len(payload), maxMessage, ErrFrameTooLarge)
	}
	if kind == frameMore {
		if len(payload) == 0 {
			return nil, false, errors.New("protocol violation: empty message part")
		}
		a.parts = append(a.parts, payload...)
		a.active = true
		return nil, false, nil
	}
	if !a.active {
		return payload, true, nil
	}
	msg = append(a.parts, payload...)
	a.parts, a.active = nil, false
	return msg, true, nil
}

// enqueue hands msg to Recv, waiting while the inbox is full (the watchdog is
// paused meanwhile: the peer is not to blame). It returns false, dropping msg,
// once the transport is closing.
func (t *Libp2pTransport) enqueue(p *lpPeer, msg []byte, budget int64) bool {
	defer p.resume()
	for len(p.in) > 0 && p.queued.Load()+int64(len(msg)) > budget {
		p.stall()
		select {
		case <-p.space:
		case <-t.closing:
			return false
		}
	}
	p.queued.Add(int64(len(msg)))
	select {
	case p.in <- msg:
		return true
	default:
	}
	p.stall()
	select {
	case p.in <- msg:
		return true
	case <-t.closing:
		return false
	}
}

// stop records why the reader ended and closes the inbox.
func (p *lpPeer) stop(err error) {
	p.readErr = err
	close(p.in)
}
