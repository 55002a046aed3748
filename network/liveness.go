package network

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Liveness, not progress.
//
// A party may compute for minutes between two messages (recording a dealer-free
// plan, sharing its input rows), and a peer waiting for it must not give up: a
// busy peer is not a dead one. So no Send or Recv has a time limit of its own;
// instead every peer stream carries heartbeats, written by a goroutine that the
// computation never blocks, and a watchdog per peer declares the peer dead once
// nothing at all (no message byte, no heartbeat) has arrived from it for
// MessageTimeout. The peer is then disconnected, and every pending and later
// Send and Recv involving it fails with an error naming it and wrapping
// ErrPeerUnresponsive.
//
// Timing: a peer writes a heartbeat whenever it has written nothing for
// heartbeatInterval (MessageTimeout/4), and the watchdog looks every
// watchInterval (MessageTimeout/8), so a live peer is never silent for much more
// than MessageTimeout/2, and a dead or frozen one (SIGSTOP, a cut cable) is
// detected between MessageTimeout and 1.125 MessageTimeout after the last bytes
// it sent.
//
// Flow control: when our reader waits for Recv to make room in a full inbox, it
// reads nothing, heartbeats included. That silence is ours, not the peer's, so
// the watchdog pauses while the reader is stalled and restarts its clock when
// the reader resumes. Conversely a heartbeat never interrupts a message: while a
// Send is writing, its bytes are the sign of life.

// ErrPeerUnresponsive is wrapped by the errors of a peer declared dead because
// nothing arrived from it, heartbeats included, for MessageTimeout.
var ErrPeerUnresponsive = errors.New("peer unresponsive")

func heartbeatInterval(timeout time.Duration) time.Duration {
	return max(timeout/4, time.Millisecond)
}

func watchInterval(timeout time.Duration) time.Duration {
	return max(timeout/8, time.Millisecond)
}

// heard records that bytes arrived from the peer.
func (p *lpPeer) heard() { p.lastHeard.Store(time.Now().UnixNano()) }

// stall and resume bracket the reader's waits for room in the inbox.
func (p *lpPeer) stall() { p.stalled.Store(true) }

func (p *lpPeer) resume() {
	if p.stalled.Load() {
		p.heard() // before clearing stalled: the watchdog must not see an old clock
		p.stalled.Store(false)
	}
}

// silence is how long the peer has been silent, as far as it can be blamed.
func (p *lpPeer) silence(now time.Time) time.Duration {
	if p.stalled.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, p.lastHeard.Load()))
}

// unresponsive returns the error of a peer declared dead, or nil.
func (p *lpPeer) unresponsive() error {
	select {
	case <-p.dead:
		return p.deadErr
	default:
		return nil
	}
}

// livenessReader notes every byte read from the peer's stream: a message large
// enough to take longer than MessageTimeout to arrive is progress all along.
type livenessReader struct {
	r io.Reader
	p *lpPeer
}

func (l livenessReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if n > 0 {
		l.p.heard()
	}
	return n, err
}

// watch declares p dead once it has been silent for MessageTimeout. It runs
// until p's reader ends (which the declaration causes), also while Close waits
// for the peers to end their streams, so that a frozen peer does not hold Close
// up for the whole CloseTimeout.
func (t *Libp2pTransport) watch(p *lpPeer) {
	defer t.wg.Done()
	timeout := t.cfg.MessageTimeout
	tick := time.NewTicker(watchInterval(timeout))
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			if silent := p.silence(now); silent > timeout {
				p.deadErr = lost(fmt.Errorf("%s: nothing received for %v, not even a heartbeat (timeout %v): %w: %w",
					p.name, silent.Round(time.Millisecond), timeout, ErrPeerUnresponsive, os.ErrDeadlineExceeded))
				close(p.dead)
				_ = p.s.Reset() // ends the reader and wakes a Send blocked on flow control
				return
			}
		}
	}
}

// heartbeats tells p that this party is alive, whatever its computation is
// doing, until the transport closes or p's stream ends.
func (t *Libp2pTransport) heartbeats(p *lpPeer) {
	defer t.wg.Done()
	interval := heartbeatInterval(t.cfg.MessageTimeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-t.closing:
			return
		case <-p.done:
			return
		case <-p.dead:
			return
		case now := <-tick.C:
			if now.Sub(time.Unix(0, p.lastWrite.Load())) < interval {
				continue // a message went out recently
			}
			select {
			case p.wsem <- struct{}{}:
			default:
				continue // a Send is writing: its bytes are the sign of life
			}
			if p.writeErr == nil && !t.isClosed() {
				// No deadline: a heartbeat blocked by flow control waits like a
				// Send would (the peer is stalled reading, and its watchdog paused);
				// a partial write would corrupt the stream.
				_ = p.s.SetWriteDeadline(time.Time{})
				if err := writeFrame(p.s, frameHeartbeat, nil); err != nil {
					p.writeErr = lost(fmt.Errorf("send to %s: connection lost: %w", p.name, err))
				} else {
					p.lastWrite.Store(time.Now().UnixNano())
				}
			}
			<-p.wsem
		}
	}
}
