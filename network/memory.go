package network

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tessera-mpc/tessera/protocol"
)

// ErrClosed is returned by a closed transport (in memory or libp2p).
var ErrClosed = errors.New("network: transport closed")

// queue is a FIFO of messages for one directed pair of parties. It does not bound
// itself: between in-memory parties every party sends to all peers before it
// receives, and a bounded queue could deadlock a round. A Mux bounds its queues
// from outside, through held.
type queue struct {
	mu     sync.Mutex
	msgs   [][]byte
	notify chan struct{} // closed and replaced when a message arrives
	closed bool
	err    error         // returned once the queue is closed and drained
	held   *atomic.Int64 // if set, the queuedCost of the messages is added here while they wait
}

func newQueue() *queue { return &queue{notify: make(chan struct{})} }

// queueEntryBytes is what a queued message is counted for beyond its payload
// (its slice header and allocation), so that a flood of empty messages counts.
const queueEntryBytes = 64

func queuedCost(msg []byte) int64 { return int64(len(msg)) + queueEntryBytes }

func (q *queue) push(msg []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if q.held != nil {
		q.held.Add(queuedCost(msg))
	}
	q.msgs = append(q.msgs, msg)
	close(q.notify)
	q.notify = make(chan struct{})
	return nil
}

// maxSpins bounds how often pop yields before it blocks.
const maxSpins = 200

func (q *queue) pop(ctx context.Context) ([]byte, error) {
	for spins := 0; ; {
		q.mu.Lock()
		if len(q.msgs) > 0 {
			m := q.msgs[0]
			q.msgs[0] = nil
			q.msgs = q.msgs[1:]
			if q.held != nil {
				q.held.Add(-queuedCost(m))
			}
			q.mu.Unlock()
			return m, nil
		}
		if q.closed {
			err := q.err
			q.mu.Unlock()
			return nil, err
		}
		wait := q.notify
		q.mu.Unlock()
		if spins < maxSpins {
			// A peer's message usually arrives within microseconds; yielding a
			// few times avoids parking this goroutine, which on some VMs costs a
			// millisecond to wake an idle CPU.
			spins++
			runtime.Gosched()
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (q *queue) close() { q.closeWith(ErrClosed) }

// head returns the number of messages waiting and the queuedCost of the first.
func (q *queue) head() (n int, cost int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return 0, 0
	}
	return len(q.msgs), queuedCost(q.msgs[0])
}

// fail closes the queue and drops what it holds: pops return err at once.
func (q *queue) fail(err error) {
	q.mu.Lock()
	if q.held != nil {
		for _, m := range q.msgs {
			q.held.Add(-queuedCost(m))
		}
	}
	q.msgs = nil
	q.mu.Unlock()
	q.closeWith(err)
}

// closeWith closes the queue; pops return err once the queued messages are gone.
func (q *queue) closeWith(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed, q.err = true, err
		close(q.notify)
	}
}

// Memory is one party's end of an in-memory network: reliable, ordered, and
// instantaneous. Messages are handed over without copying: senders must not
// modify a message after Send, as protocol.Transport requires.
type Memory struct {
	self   int
	queues [][]*queue // queues[from][to], shared by all parties of the network
	count  *counter
}

// NewMemoryNetwork connects n parties in memory and returns their transports.
func NewMemoryNetwork(n int) ([]*Memory, error) {
	if n < 2 {
		return nil, fmt.Errorf("network: need at least 2 parties, got %d", n)
	}
	queues := make([][]*queue, n)
	for i := range queues {
		queues[i] = make([]*queue, n)
		for j := range queues[i] {
			queues[i][j] = newQueue()
		}
	}
	ts := make([]*Memory, n)
	for i := range ts {
		ts[i] = &Memory{self: i, queues: queues, count: newCounter(n)}
	}
	return ts, nil
}

// Self implements protocol.Transport.
func (m *Memory) Self() int { return m.self }

// Parties implements protocol.Transport.
func (m *Memory) Parties() int { return len(m.queues) }

func (m *Memory) checkPeer(p int) error {
	if p < 0 || p >= len(m.queues) || p == m.self {
		return fmt.Errorf("network: party %d has no peer %d", m.self, p)
	}
	return nil
}

// Send implements protocol.Transport.
func (m *Memory) Send(ctx context.Context, to int, msg []byte) error {
	if err := m.checkPeer(to); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// No copy: the Transport contract forbids the sender to modify msg afterwards.
	if err := m.queues[m.self][to].push(msg); err != nil {
		return fmt.Errorf("network: send to party %d: %w", to, err)
	}
	m.count.sent(to, len(msg))
	return nil
}

// Recv implements protocol.Transport.
func (m *Memory) Recv(ctx context.Context, from int) ([]byte, error) {
	if err := m.checkPeer(from); err != nil {
		return nil, err
	}
	msg, err := m.queues[from][m.self].pop(ctx)
	if err != nil {
		return nil, fmt.Errorf("network: receive from party %d: %w", from, err)
	}
	m.count.received(from, len(msg))
	return msg, nil
}

// Stats implements protocol.StatsReporter.
func (m *Memory) Stats() protocol.Stats { return m.count.snapshot() }

// Close closes every queue into and out of this party, so peers blocked on it fail
// instead of hanging.
func (m *Memory) Close() error {
	for p := range m.queues {
		m.queues[m.self][p].close()
		m.queues[p][m.self].close()
	}
	return nil
}
