package network

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/tessera-mpc/tessera/protocol"
)

// Libp2pTransport is a protocol.Transport over libp2p (TCP, Noise, yamux) between
// the parties of one deployment. Each pair of parties shares one stream
// (Libp2pProtocolID), opened by the party with the lower index, and admitted only
// after a handshake that checks the peers agree on the protocol version, the
// party count, each other's index and the session hash.
//
// Usage: NewLibp2p(ctx, cfg) when every peer's address is known up front;
// otherwise NewLibp2pHost(cfg), publish Addrs(), then Connect(ctx, peers). Then
// Send and Recv; finally Close, or Abort to tell the peers why this party quits.
type Libp2pTransport struct {
	cfg   Libp2pConfig
	self  int
	host  host.Host
	gater *lpGater
	hello handshakeHello
	index map[peer.ID]int
	stats *counter

	ctx    context.Context // cancelled by Close: ends handshakes in progress
	cancel context.CancelFunc

	mu         sync.Mutex // guards slots' mutable fields, connecting, closed, localAbort
	slots      []*lpSlot
	connecting bool
	closed     bool
	localAbort string
	wg         sync.WaitGroup // stream handlers and peer readers

	closing   chan struct{} // closed when Close or Abort starts
	closeOnce sync.Once
	closeErr  error

	abortOnce sync.Once
	aborted   chan struct{} // closed when the first peer abort arrives
	abortErr  *PeerAbortError
}

// lpSlot tracks the stream with one peer.
type lpSlot struct {
	busy   bool          // a handshake is running, or the peer is ready
	ready  chan struct{} // closed once peer is set
	peer   *lpPeer
	failed chan struct{} // closed on the first definite handshake failure (inbound)
	err    error         // that failure, else the last transient inbound one
}

var (
	_ protocol.Transport     = (*Libp2pTransport)(nil)
	_ protocol.StatsReporter = (*Libp2pTransport)(nil)
)

// NewLibp2p starts the host and connects to every peer; see NewLibp2pHost and
// Connect. On error nothing is left running.
func NewLibp2p(ctx context.Context, cfg Libp2pConfig) (*Libp2pTransport, error) {
	t, err := NewLibp2pHost(cfg)
	if err != nil {
		return nil, err
	}
	if err := t.Connect(ctx, nil); err != nil {
		_ = t.Close()
		return nil, err
	}
	return t, nil
}

// NewLibp2pHost starts this party's libp2p host: it listens on cfg.ListenAddrs,
// admits only the peer IDs in cfg.Peers, and answers the handshake of peers that
// dial it. Call Addrs to learn the bound addresses (e.g. after listening on port
// 0), then Connect.
func NewLibp2pHost(cfg Libp2pConfig) (*Libp2pTransport, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	selfID := cfg.Peers[cfg.Self].ID
	gater := newLpGater(selfID, cfg.Peers)
	listen := libp2p.NoListenAddrs
	if len(cfg.ListenAddrs) > 0 {
		listen = libp2p.ListenAddrStrings(cfg.ListenAddrs...)
	}
	h, err := libp2p.New(
		libp2p.Identity(cfg.Key),
		listen,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(gater),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
	)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	t := newSession(cfg, h, gater)
	for _, p := range cfg.Peers {
		if p.ID != selfID {
			h.ConnManager().Protect(p.ID, "tessera-mpc")
			if len(p.Addrs) > 0 {
				h.Peerstore().AddAddrs(p.ID, p.Addrs, peerstore.PermanentAddrTTL)
			}
		}
	}
	h.SetStreamHandler(Libp2pProtocolID, t.handleStream)
	return t, nil
}

// newSession is a transport over host h with no peer admitted yet: a new host's,
// or the next session's after Reopen. The caller installs its stream handler.
func newSession(cfg Libp2pConfig, h host.Host, gater *lpGater) *Libp2pTransport {
	n := len(cfg.Peers)
	ctx, cancel := context.WithCancel(context.Background())
	t := &Libp2pTransport{
		cfg:   cfg,
		self:  cfg.Self,
		host:  h,
		gater: gater,
		hello: handshakeHello{
			Version: cfg.ProtocolVersion,
			Index:   cfg.Self,
			Parties: n,
			Session: cfg.Session,
		},
		index:   make(map[peer.ID]int, n),
		stats:   newCounter(n),
		ctx:     ctx,
		cancel:  cancel,
		slots:   make([]*lpSlot, n),
		closing: make(chan struct{}),
		aborted: make(chan struct{}),
	}
	for i, p := range cfg.Peers {
		t.index[p.ID] = i
		t.slots[i] = &lpSlot{ready: make(chan struct{}), failed: make(chan struct{})}
	}
	return t
}

// Self is this party's index.
func (t *Libp2pTransport) Self() int { return t.self }

// Parties is the number of parties in the deployment.
func (t *Libp2pTransport) Parties() int { return len(t.slots) }

// ID is this party's peer ID.
func (t *Libp2pTransport) ID() peer.ID { return t.host.ID() }

// Addrs are the addresses the host listens on, with actual ports.
func (t *Libp2pTransport) Addrs() []ma.Multiaddr { return t.host.Addrs() }

// MaxMessageBytes is the largest message Send accepts (cfg.MaxMessageBytes).
func (t *Libp2pTransport) MaxMessageBytes() int { return t.cfg.MaxMessageBytes }

// InboxBudget is how many bytes of received messages may wait for Recv from one
// peer (at least one message is always admitted); a Mux over this transport
// holds each peer to the same budget.
func (t *Libp2pTransport) InboxBudget() int64 { return inboxBytes(t.cfg.MaxFrameBytes) }

// Stats returns the traffic counted so far (message payload bytes).
func (t *Libp2pTransport) Stats() protocol.Stats { return t.stats.snapshot() }

// track registers a background goroutine unless the transport is closed.
func (t *Libp2pTransport) track() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *Libp2pTransport) isClosed() bool {
	select {
	case <-t.closing:
		return true
	default:
		return false
	}
}

func (t *Libp2pTransport) closedErr() error {
	t.mu.Lock()
	reason := t.localAbort
	t.mu.Unlock()
	if reason != "" {
		return fmt.Errorf("%w (this party aborted: %s)", ErrClosed, reason)
	}
	return ErrClosed
}

// failure is the error every Send and Recv returns once the session is over: a
// peer's abort, or this transport's Close.
func (t *Libp2pTransport) failure() error {
	select {
	case <-t.aborted:
		return t.abortErr
	default:
	}
	if t.isClosed() {
		return t.closedErr()
	}
	return nil
}

func (t *Libp2pTransport) peerAborted(e *PeerAbortError) {
	t.abortOnce.Do(func() {
		t.abortErr = e
		close(t.aborted)
	})
}

// readyPeers returns the peers whose stream is admitted.
func (t *Libp2pTransport) readyPeers() []*lpPeer {
	var out []*lpPeer
	for j, slot := range t.slots {
		if j == t.self {
			continue
		}
		select {
		case <-slot.ready:
			out = append(out, slot.peer)
		default:
		}
	}
	return out
}

// Close ends the session. It half-closes every peer stream, waits up to
// cfg.CloseTimeout for each peer to end its own (so that both sides have read
// everything sent: libp2p's TCP transport closes connections with SO_LINGER 0,
// which discards unread data), then shuts the host down. Pending and later Send
// and Recv calls fail with an error wrapping ErrClosed. Close is idempotent.
func (t *Libp2pTransport) Close() error { return t.shutdown("") }

// abortWriteTimeout bounds the delivery of an abort frame to one peer.
const abortWriteTimeout = 5 * time.Second

// Abort tells every peer this party gives up, with reason (never include secret
// data: peers print it), then closes the transport. Delivery is best effort and
// bounded in time; a peer's Recv then fails with *PeerAbortError.
func (t *Libp2pTransport) Abort(reason string) error {
	if t.isClosed() {
		return nil
	}
	reason = sanitizeText(reason, maxReasonLen)
	if reason == "" {
		reason = "no reason given"
	}
	timeout := min(t.cfg.MessageTimeout, abortWriteTimeout)
	var wg sync.WaitGroup
	for _, p := range t.readyPeers() {
		wg.Go(func() {
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case p.wsem <- struct{}{}:
			case <-timer.C:
				return // a Send is stuck on this peer; Close will cut it
			}
			defer func() { <-p.wsem }()
			if p.writeErr != nil {
				return
			}
			if err := p.writeFrameBy(context.Background(), time.Now().Add(timeout), frameAbort, []byte(reason)); err != nil {
				p.writeErr = fmt.Errorf("send abort to %s: %w", p.name, err)
			}
		})
	}
	wg.Wait()
	return t.shutdown(reason)
}

func (t *Libp2pTransport) shutdown(abortReason string) error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.localAbort = abortReason
		peers := t.readyPeers()
		t.mu.Unlock()
		close(t.closing)
		t.cancel()
		t.host.RemoveStreamHandler(Libp2pProtocolID)
		for _, p := range peers {
			// FIN after everything written so far; wakes a Send blocked on flow control.
			_ = p.s.CloseWrite()
		}
		grace := time.NewTimer(t.cfg.CloseTimeout)
		defer grace.Stop()
	wait:
		for _, p := range peers {
			select {
			case <-p.done:
			case <-grace.C:
				break wait
			}
		}
		t.closeErr = t.host.Close()
		t.wg.Wait()
	})
	return t.closeErr
}
