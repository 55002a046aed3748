package network

import (
	"sync"

	"github.com/tessera-mpc/tessera/protocol"
)

// counter accumulates protocol.Stats for one party; safe for concurrent use.
type counter struct {
	mu           sync.Mutex
	stats        protocol.Stats
	receivedLast bool // a receive happened since the last send: the next send opens a round
}

func newCounter(parties int) *counter {
	c := &counter{receivedLast: true}
	c.stats.Peers = make([]protocol.PeerStats, parties)
	return c
}

func (c *counter) sent(to, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.receivedLast {
		c.stats.Rounds++
		c.receivedLast = false
	}
	c.stats.BytesSent += int64(n)
	c.stats.Peers[to].BytesSent += int64(n)
	c.stats.Peers[to].MessagesSent++
}

func (c *counter) received(from, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receivedLast = true
	c.stats.BytesReceived += int64(n)
	c.stats.Peers[from].BytesReceived += int64(n)
	c.stats.Peers[from].MessagesRecv++
}

func (c *counter) snapshot() protocol.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Peers = append([]protocol.PeerStats(nil), c.stats.Peers...)
	return s
}
