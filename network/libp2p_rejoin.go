package network

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rejoin: a peer that crashed, was killed or lost its connection may come back
// (restarted with the same node key) and the session continue. The transport's
// part is small: it says which failures a peer may come back from (ErrPeerLost,
// as opposed to an abort or a protocol violation), and Reopen starts a new
// session over the same host, in which every peer, the returning one included,
// is admitted again by the same gater and handshake as at the start: only the
// peer ID listed for a seat gets it. Every stream of the new session is new, so
// nothing sent in the abandoned session (a message in flight between two
// surviving parties) can be read in the new one; the parties' own protocol then
// agrees where to continue (party/run rolls back to a common checkpoint).

// ErrPeerLost is matched (errors.Is) by the errors of a peer whose stream ended
// or broke without an abort: it crashed, was killed, lost its connection, or fell
// silent (ErrPeerUnresponsive). Such a peer may come back; one that aborted, or
// broke the protocol, will not.
var ErrPeerLost = errors.New("peer lost")

// lostError marks err as a lost peer's without changing its text.
type lostError struct{ error }

func (e lostError) Unwrap() error { return e.error }

func (lostError) Is(target error) bool { return target == ErrPeerLost }

func lost(err error) error { return lostError{err} }

// Reopen ends this session and returns the next one over the same host, not yet
// connected: call its Connect, which admits every peer again (within
// handshakeTimeout, or cfg.HandshakeTimeout if it is 0). This session's streams
// are reset, so its peers see this party lost (and a peer that still holds one of
// them when we dial again asks us to retry until it notices); its pending and
// later Send and Recv fail with ErrClosed. Reopen does not tell the peers why
// (unlike Abort): this party means to come back.
func (t *Libp2pTransport) Reopen(handshakeTimeout time.Duration) (*Libp2pTransport, error) {
	reopened := false
	t.closeOnce.Do(func() {
		reopened = true
		t.mu.Lock()
		t.closed = true
		peers := t.readyPeers()
		t.mu.Unlock()
		close(t.closing)
		t.cancel()
		for _, p := range peers {
			_ = p.s.Reset() // ends its reader; the peer reads a broken stream
		}
		t.wg.Wait()
	})
	if !reopened {
		return nil, fmt.Errorf("libp2p: Reopen: %w", t.closedErr())
	}
	cfg := t.cfg
	if handshakeTimeout > 0 {
		cfg.HandshakeTimeout = handshakeTimeout
	}
	next := newSession(cfg, t.host, t.gater)
	t.host.SetStreamHandler(Libp2pProtocolID, next.handleStream)
	return next, nil
}

// AbortWithin waits up to d (or until ctx ends) for a peer's abort in this
// session and returns it, or nil. After a lost peer, a node that means to wait
// for it first gives the others a moment to say that they give up instead.
func (t *Libp2pTransport) AbortWithin(ctx context.Context, d time.Duration) *PeerAbortError {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.aborted:
		return t.abortErr
	case <-timer.C:
	case <-ctx.Done():
	case <-t.closing:
	}
	select {
	case <-t.aborted:
		return t.abortErr
	default:
		return nil
	}
}
