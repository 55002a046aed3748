package network

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	lpnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// Connect establishes and checks the stream with every peer. Party i dials each
// party j > i, retrying with backoff while the peer is not up yet, and waits for
// each party j < i to dial it; either way the stream is admitted only after the
// handshake. Connect returns when all streams are admitted, on the first definite
// failure (a refused handshake), or when cfg.HandshakeTimeout or ctx expires.
//
// peers may be nil to use cfg.Peers; otherwise it must list the same peer IDs by
// index, and its addresses are added to those known for them. Connect may be
// called once. After an error, Close the transport.
func (t *Libp2pTransport) Connect(ctx context.Context, peers []PeerInfo) error {
	if peers != nil {
		if err := t.addPeerAddrs(peers); err != nil {
			return err
		}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return t.closedErr()
	}
	if t.connecting {
		t.mu.Unlock()
		return errors.New("libp2p: Connect called twice")
	}
	t.connecting = true
	t.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, t.cfg.HandshakeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var grace sync.Once
	errs := make([]error, len(t.slots)) // by peer index
	for j := range t.slots {
		if j == t.self {
			continue
		}
		wg.Go(func() {
			if j > t.self {
				errs[j] = t.dial(ctx, j)
			} else {
				errs[j] = t.await(ctx, j)
			}
			if errs[j] == nil {
				return
			}
			// One missing peer sinks the session: stop waiting for the rest. After a
			// refused handshake, the others still get handshakeGrace to handshake
			// with us and learn the reason, instead of finding us gone.
			if _, refused := errors.AsType[*HandshakeError](errs[j]); refused {
				grace.Do(func() { time.AfterFunc(handshakeGrace, cancel) })
				return
			}
			cancel()
		})
	}
	wg.Wait()
	return joinConnectErrors(errs)
}

// handshakeGrace is how long a node that refused (or was refused by) a peer keeps
// accepting the other peers' handshakes, so that they too see the mismatch.
const handshakeGrace = 3 * time.Second

// joinConnectErrors drops the errors that are mere consequences of Connect
// cancelling the other peers after a first failure.
func joinConnectErrors(errs []error) error {
	var primary, all []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		all = append(all, err)
		if !errors.Is(err, errConnectCancelled) {
			primary = append(primary, err)
		}
	}
	if len(primary) == 0 {
		primary = all
	}
	return errors.Join(primary...)
}

var errConnectCancelled = errors.New("connect cancelled")

func (t *Libp2pTransport) addPeerAddrs(peers []PeerInfo) error {
	if len(peers) != len(t.cfg.Peers) {
		return fmt.Errorf("libp2p: Connect got %d peers, the deployment has %d", len(peers), len(t.cfg.Peers))
	}
	for i, p := range peers {
		if p.Index != i || p.ID != t.cfg.Peers[i].ID {
			return fmt.Errorf("libp2p: Connect peers[%d] is party %d (%s), the deployment lists party %d as %s", i, p.Index, p.ID, i, t.cfg.Peers[i].ID)
		}
	}
	for i, p := range peers {
		addrs, err := dialAddrs(p)
		if err != nil {
			return fmt.Errorf("libp2p: Connect: %w", err)
		}
		if i != t.self && len(addrs) > 0 {
			t.host.Peerstore().AddAddrs(p.ID, addrs, peerstore.PermanentAddrTTL)
		}
	}
	return nil
}

// peerName renders party j for messages: "peer 2 (12D3KooW...)".
func (t *Libp2pTransport) peerName(j int) string {
	return fmt.Sprintf("peer %d (%s)", j, t.cfg.Peers[j].ID)
}

const (
	dialBackoffMin = 50 * time.Millisecond
	dialBackoffMax = 2 * time.Second
)

// dial connects to party j (j > self) until the handshake succeeds, fails
// definitely, or ctx ends.
func (t *Libp2pTransport) dial(ctx context.Context, j int) error {
	backoff := dialBackoffMin
	var last error
	attempts := 0
	for {
		attempts++
		err := t.dialOnce(ctx, j)
		if err == nil {
			return nil
		}
		var he *HandshakeError
		if errors.As(err, &he) && !(he.Remote && he.Reason == streamInUse(j, t.self)) {
			return err
		}
		// A peer that still holds our stream of an earlier session (we restarted,
		// or reopened after a lost peer, before it noticed) lets it go once it
		// notices; meanwhile, retry.
		if t.isClosed() {
			return t.closedErr()
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("%s: %w: %w", t.peerName(j), errConnectCancelled, ctx.Err())
			}
			return fmt.Errorf("%s: not connected within %v (%d attempts): %w", t.peerName(j), t.cfg.HandshakeTimeout, attempts, last)
		}
		backoff = min(2*backoff, dialBackoffMax)
	}
}

func (t *Libp2pTransport) dialOnce(ctx context.Context, j int) error {
	id := t.cfg.Peers[j].ID
	// Peers start at different times: skip the swarm's dial backoff, which would
	// otherwise refuse to redial a peer for 5 s or more after a failed attempt.
	dctx := lpnet.WithForceDirectDial(ctx, "tessera: connect deployment peer")
	if err := t.host.Connect(dctx, peer.AddrInfo{ID: id}); err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	s, err := t.host.NewStream(dctx, id, Libp2pProtocolID)
	if err != nil {
		// The secured connection came up, so the peer's key is right; the usual
		// reason for the peer to drop it at once is its connection gater.
		return fmt.Errorf("open stream: %w (the connection was dropped after the security handshake: does peer %d's deployment list our peer ID %s?)", err, j, t.host.ID())
	}
	t.mu.Lock()
	slot := t.slots[j]
	if slot.busy {
		t.mu.Unlock()
		_ = s.Reset()
		return fmt.Errorf("internal: stream with %s already in use", t.peerName(j))
	}
	slot.busy = true
	t.mu.Unlock()
	err = t.establish(ctx, s, j)
	if err != nil {
		t.mu.Lock()
		slot.busy = false
		t.mu.Unlock()
		if _, ok := errors.AsType[*HandshakeError](err); !ok {
			return fmt.Errorf("%w (if this persists: does peer %d's deployment list our peer ID %s?)", err, j, t.host.ID())
		}
	}
	return err
}

// await waits for party j (j < self) to dial in and pass the handshake.
func (t *Libp2pTransport) await(ctx context.Context, j int) error {
	slot := t.slots[j]
	select {
	case <-slot.ready:
		return nil
	case <-slot.failed:
		t.mu.Lock()
		defer t.mu.Unlock()
		return slot.err
	case <-t.closing:
		return t.closedErr()
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%s: %w: %w", t.peerName(j), errConnectCancelled, ctx.Err())
		}
		t.mu.Lock()
		last := slot.err
		t.mu.Unlock()
		err := fmt.Errorf("%s: it did not connect to us within %v (is it running, with our address and peer ID %s in its deployment?): %w",
			t.peerName(j), t.cfg.HandshakeTimeout, t.host.ID(), ctx.Err())
		if last != nil {
			err = fmt.Errorf("%w; last failed attempt: %w", err, last)
		}
		return err
	}
}

// handleStream answers a peer that opened its stream to us.
func (t *Libp2pTransport) handleStream(s lpnet.Stream) {
	if !t.track() {
		_ = s.Reset()
		return
	}
	defer t.wg.Done()
	j, ok := t.index[s.Conn().RemotePeer()]
	if !ok || j == t.self {
		// The gater admits only the deployment's peers; never trust that alone.
		_ = s.Reset()
		return
	}
	if j > t.self {
		t.reject(s, fmt.Sprintf("party %d dialed party %d, but in this deployment the lower index dials", j, t.self))
		return
	}
	t.mu.Lock()
	slot := t.slots[j]
	busy := slot.busy
	slot.busy = true
	t.mu.Unlock()
	if busy {
		t.reject(s, streamInUse(t.self, j))
		return
	}
	err := t.establish(t.ctx, s, j)
	if err == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	slot.busy = false
	if _, definite := errors.AsType[*HandshakeError](err); definite {
		select {
		case <-slot.failed:
		default:
			slot.err = err
			close(slot.failed)
		}
		return
	}
	select {
	case <-slot.failed:
	default:
		slot.err = err
	}
}

// streamInUse is a listener's refusal of a second stream from a peer whose stream
// it holds.
func streamInUse(holder, peer int) string {
	return fmt.Sprintf("party %d already has a stream with party %d", holder, peer)
}

// reject runs the handshake only to tell the peer why its stream is refused.
func (t *Libp2pTransport) reject(s lpnet.Stream, reason string) {
	_ = s.SetDeadline(time.Now().Add(min(t.cfg.HandshakeTimeout, 10*time.Second)))
	_ = exchangeHandshake(s, t.hello, func(handshakeHello) string { return reason })
	_ = s.Close()
}
