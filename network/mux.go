package network

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tessera-mpc/tessera/protocol"
)

// Mux splits one transport into independent logical channels, so that protocols
// that run side by side (the online engine and a preprocessing source working
// ahead, say) each get ordered channels of their own over one connection per
// peer. Every message carries a one-byte channel number; one reader goroutine per
// peer delivers messages to the channel queues.
type Mux struct {
	tr       protocol.Transport
	channels []*Channel
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Channel is one logical channel of a Mux: a protocol.Transport.
type Channel struct {
	mux    *Mux
	id     byte
	queues []*queue // by peer
	count  *counter
}

// MaxChannels bounds the channels of one Mux.
const MaxChannels = 16

// NewMux starts demultiplexing tr into the given number of channels. tr must not
// be used directly afterwards; Close stops the readers (not tr).
func NewMux(tr protocol.Transport, channels int) (*Mux, error) {
	if channels < 1 || channels > MaxChannels {
		return nil, fmt.Errorf("network: %d channels, want 1 to %d", channels, MaxChannels)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mux{tr: tr, cancel: cancel}
	n := tr.Parties()
	for c := 0; c < channels; c++ {
		ch := &Channel{mux: m, id: byte(c), queues: make([]*queue, n), count: newCounter(n)}
		for p := range ch.queues {
			ch.queues[p] = newQueue()
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

// read delivers peer p's messages to their channels until the transport fails.
func (m *Mux) read(ctx context.Context, p int) {
	defer m.wg.Done()
	for {
		msg, err := m.tr.Recv(ctx, p)
		if err == nil && (len(msg) == 0 || int(msg[0]) >= len(m.channels)) {
			err = fmt.Errorf("network: party %d sent a message for channel %v of %d", p, firstByte(msg), len(m.channels))
		}
		if err != nil {
			for _, ch := range m.channels {
				ch.queues[p].closeWith(err)
			}
			return
		}
		ch := m.channels[msg[0]]
		if ch.queues[p].push(msg[1:]) != nil {
			return
		}
	}
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

// Parties implements protocol.Transport.
func (c *Channel) Parties() int { return c.mux.tr.Parties() }

// Send implements protocol.Transport.
func (c *Channel) Send(ctx context.Context, to int, msg []byte) error {
	framed := make([]byte, 1+len(msg))
	framed[0] = c.id
	copy(framed[1:], msg)
	if err := c.mux.tr.Send(ctx, to, framed); err != nil {
		return err
	}
	c.count.sent(to, len(msg))
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
