package network

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tessera-mpc/tessera/protocol"
)

// Mux splits one transport into independent logical channels, so that protocols
// that run side by side (the online engine and a preprocessing source working
// ahead, say) each get ordered channels of their own over one connection per
// peer. Every message carries a one-byte channel number; one reader goroutine per
// peer delivers messages to the channel queues.
//
// That reader always waits in the transport's Recv, so the transport never
// applies backpressure to a muxed peer; the mux bounds what a peer can make it
// hold instead. The messages a peer has waiting, over all channels, may take at
// most a byte budget (the transport's InboxBudget if it has one, else
// DefaultMuxBudget), each counted with queueEntryBytes of overhead, except the
// first message waiting on each channel: that one is always admitted, so that
// any message the transport carries gets through on every channel, whatever the
// others hold. A peer thus holds at most the budget plus one message per
// channel. A peer over budget is cut off, not slowed down: its
// channels fail with an error naming it and wrapping ErrFlood. (Stopping the
// reader would hold back every channel of that peer, and a protocol waiting on
// one channel behind a full other could deadlock.)
//
// Liveness is the transport's business: the reader waits in Recv for as long
// as the peer is alive, so an idle channel, or a peer that computes for long,
// is no error (see Libp2pTransport.Recv).
type Mux struct {
	tr       protocol.Transport
	channels []*Channel
	budget   int64
	held     []atomic.Int64 // by peer: queuedCost of its waiting messages
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// DefaultMuxBudget bounds what one peer may have waiting in a Mux whose
// transport has no InboxBudget (the libp2p inbox budget for the default frame).
const DefaultMuxBudget int64 = 4 * DefaultMaxFrameBytes

// ErrFlood is wrapped by the error of a peer that sent a Mux more than its budget
// of messages nobody received yet.
var ErrFlood = errors.New("peer exceeded the receive budget")

// Channel is one logical channel of a Mux: a protocol.Transport.
type Channel struct {
	mux    *Mux
	id     byte
	room   int      // FrameRoom
	queues []*queue // by peer
	count  *counter
}

// MaxChannels bounds the channels of one Mux.
const MaxChannels = 16

// NewMux starts demultiplexing tr into the given number of channels. tr must not
// be used directly afterwards; Close stops the readers (not tr).
func NewMux(tr protocol.Transport, channels int) (*Mux, error) {
	budget := DefaultMuxBudget
	if b, ok := tr.(interface{ InboxBudget() int64 }); ok {
		budget = b.InboxBudget()
	}
	return newMux(tr, channels, budget)
}

func newMux(tr protocol.Transport, channels int, budget int64) (*Mux, error) {
	if channels < 1 || channels > MaxChannels {
		return nil, fmt.Errorf("network: %d channels, want 1 to %d", channels, MaxChannels)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := tr.Parties()
	m := &Mux{tr: tr, cancel: cancel, budget: budget, held: make([]atomic.Int64, n)}
	room := 1
	if under, ok := tr.(*Channel); ok {
		room += under.room
	}
	for c := 0; c < channels; c++ {
		ch := &Channel{mux: m, id: byte(c), room: room, queues: make([]*queue, n), count: newCounter(n)}
		for p := range ch.queues {
			ch.queues[p] = newQueue()
			ch.queues[p].held = &m.held[p]
		}
		m.channels = append(m.channels, ch)
	}
	for p := 0; p < n; p++ {
		if p == tr.Self() {
			continue
		}
		m.wg.Add(1)
		go m.read(ctx, p)
	}
	return m, nil
}

// Channel returns channel c.
func (m *Mux) Channel(c int) *Channel { return m.channels[c] }

// read delivers peer p's messages to their channels until the transport fails
// or the peer breaks the rules.
func (m *Mux) read(ctx context.Context, p int) {
	defer m.wg.Done()
	for {
		msg, err := m.tr.Recv(ctx, p)
		if err == nil {
			err = m.deliver(p, msg)
		}
		if err != nil {
			for _, ch := range m.channels {
				ch.queues[p].closeWith(err)
			}
			return
		}
	}
}

// deliver queues peer p's message on its channel, within p's budget.
func (m *Mux) deliver(p int, msg []byte) error {
	if len(msg) == 0 || int(msg[0]) >= len(m.channels) {
		return fmt.Errorf("network: party %d sent a message for channel %v of %d", p, firstByte(msg), len(m.channels))
	}
	c, payload := msg[0], msg[1:]
	if n, _ := m.channels[c].queues[p].head(); n == 0 {
		return m.channels[c].queues[p].push(payload)
	}
	// Beyond the first message of each channel, which is exempt. The heads are
	// read before the total: a Recv in between then makes waiting smaller, never
	// larger than what was waiting before it.
	var waiting int64
	for _, ch := range m.channels {
		_, first := ch.queues[p].head()
		waiting -= first
	}
	waiting += m.held[p].Load() + queuedCost(payload)
	if waiting > m.budget {
		err := fmt.Errorf("network: party %d has %d bytes waiting in the mux with a message for channel %d, over its budget of %d: %w",
			p, waiting, c, m.budget, ErrFlood)
		for _, ch := range m.channels {
			ch.queues[p].fail(err) // frees the memory at once
		}
		return err
	}
	return m.channels[c].queues[p].push(payload)
}

func firstByte(b []byte) any {
	if len(b) == 0 {
		return "(empty message)"
	}
	return b[0]
}

// Close stops the readers; channels return ErrClosed afterwards.
func (m *Mux) Close() error {
	m.cancel()
	for _, ch := range m.channels {
		for _, q := range ch.queues {
			q.close()
		}
	}
	m.wg.Wait()
	return nil
}

// Self implements protocol.Transport.
func (c *Channel) Self() int { return c.mux.tr.Self() }

// MaxMessageBytes is the largest message Send accepts, or 0 when the underlying
// transport has no bound.
func (c *Channel) MaxMessageBytes() int {
	if b, ok := c.mux.tr.(interface{ MaxMessageBytes() int }); ok {
		return b.MaxMessageBytes() - 1 // the channel byte
	}
	return 0
}

// Parties implements protocol.Transport.
func (c *Channel) Parties() int { return c.mux.tr.Parties() }

// Send implements protocol.Transport. It copies msg behind the channel
// numbers; SendFrame does not.
func (c *Channel) Send(ctx context.Context, to int, msg []byte) error {
	frame := make([]byte, c.room+len(msg))
	copy(frame[c.room:], msg)
	return c.SendFrame(ctx, to, frame)
}

// FrameRoom is how many bytes a frame for SendFrame keeps before its message:
// one for this channel's number, plus the room of the transport under the
// mux if that is a Channel too (a mux on a channel of another).
func (c *Channel) FrameRoom() int { return c.room }

// SendFrame is Send of frame[FrameRoom():] without copying it: this channel
// and those under it write their numbers into the room before the message,
// and frame goes to the transport as it is. The caller must not touch frame
// afterwards, as Send's must not touch msg. (Send used to copy every message
// behind its channel byte, once per mux level: ~2% of the CPU of a node
// making OT material, and the bodies arrived misaligned.)
func (c *Channel) SendFrame(ctx context.Context, to int, frame []byte) error {
	if len(frame) < c.room {
		return fmt.Errorf("network: channel %d: a frame of %d bytes has no room for %d header bytes", c.id, len(frame), c.room)
	}
	frame[c.room-1] = c.id
	var err error
	if under, ok := c.mux.tr.(*Channel); ok {
		err = under.SendFrame(ctx, to, frame) // its room is ours but the last byte
	} else {
		err = c.mux.tr.Send(ctx, to, frame[c.room-1:])
	}
	if err != nil {
		return err
	}
	c.count.sent(to, len(frame)-c.room)
	return nil
}

// Recv implements protocol.Transport.
func (c *Channel) Recv(ctx context.Context, from int) ([]byte, error) {
	if from < 0 || from >= len(c.queues) || from == c.Self() {
		return nil, fmt.Errorf("network: party %d has no peer %d", c.Self(), from)
	}
	msg, err := c.queues[from].pop(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("network: channel %d: receive from party %d: %w", c.id, from, err)
		}
		return nil, err
	}
	c.count.received(from, len(msg))
	return msg, nil
}

// Stats implements protocol.StatsReporter: this channel's traffic.
func (c *Channel) Stats() protocol.Stats { return c.count.snapshot() }
