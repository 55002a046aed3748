package network

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/tessera-mpc/tessera/protocol"
)

// Libp2pProtocolID names the one long-lived stream each pair of parties shares.
const Libp2pProtocolID libp2pprotocol.ID = "/tessera/mpc/1.0.0"

// Defaults for Libp2pConfig's zero fields.
const (
	DefaultProtocolVersion  = "tessera-mpc/1"
	DefaultMaxFrameBytes    = 256 << 20
	DefaultMaxMessageBytes  = 8*protocol.MaxMessageElements + maxMessageOverhead
	DefaultMessageTimeout   = 60 * time.Second
	DefaultHandshakeTimeout = 2 * time.Minute
	DefaultCloseTimeout     = 5 * time.Second
)

// maxMessageOverhead is the room a message has beyond protocol.MaxMessageElements
// words: the engine's header and the mux's channel byte, with a wide margin.
const maxMessageOverhead = 64 << 10

// PeerInfo locates one party of the deployment.
type PeerInfo struct {
	Index int     // the party's index, equal to its position in Libp2pConfig.Peers
	ID    peer.ID // derived from the party's node key (PeerIDFromKey)
	Addrs []ma.Multiaddr
}

// Libp2pConfig configures one party's libp2p transport.
type Libp2pConfig struct {
	// Self is this party's index in Peers.
	Self int
	// Key is this party's node key; its peer ID must equal Peers[Self].ID.
	Key crypto.PrivKey
	// ListenAddrs are multiaddrs to listen on, e.g. "/ip4/0.0.0.0/tcp/4001". Party 0
	// dials every peer and needs none; every other party must listen.
	ListenAddrs []string
	// Peers lists every party of the deployment, this one included, by index.
	// Only these peer IDs are admitted. Addresses are needed for the peers this
	// party dials (those with a higher index); they may also be supplied later,
	// to Connect.
	Peers []PeerInfo
	// MaxFrameBytes bounds one frame (default DefaultMaxFrameBytes). Larger
	// messages are sent as several frames. A peer that announces a larger frame
	// is disconnected before the frame is read.
	MaxFrameBytes int
	// MaxMessageBytes bounds one message, however many frames carry it (default
	// DefaultMaxMessageBytes, which carries any message the protocol engine may
	// send, or MaxFrameBytes if that is larger; at least MaxFrameBytes). Send
	// refuses a larger message; a peer that sends one is disconnected.
	MaxMessageBytes int
	// MessageTimeout is the liveness timeout (default DefaultMessageTimeout): a
	// peer from which nothing, not even a heartbeat, has arrived for this long is
	// declared dead, and every Send and Recv involving it fails. A peer that is
	// merely busy keeps sending heartbeats: Send and Recv wait for it however
	// long it computes (bound them with a context if needed). See liveness.go.
	MessageTimeout time.Duration
	// HandshakeTimeout bounds Connect: dialing with retries while peers start, and
	// the handshakes (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// CloseTimeout bounds how long Close waits for each peer to end its stream
	// before it tears the host down (default DefaultCloseTimeout); see Close.
	CloseTimeout time.Duration
	// Session identifies the experiment, typically a SHA-256 of its configuration
	// (1 to 64 bytes). Peers with a different Session are refused.
	Session []byte
	// ProtocolVersion is compared verbatim with the peers' (default
	// DefaultProtocolVersion; at most 64 bytes).
	ProtocolVersion string
}

func (c Libp2pConfig) normalize() (Libp2pConfig, error) {
	n := len(c.Peers)
	if n < 2 || n > maxParties {
		return c, fmt.Errorf("libp2p config: %d peers, want 2 to %d", n, maxParties)
	}
	if c.Self < 0 || c.Self >= n {
		return c, fmt.Errorf("libp2p config: Self %d out of range [0, %d)", c.Self, n)
	}
	selfID, err := PeerIDFromKey(c.Key)
	if err != nil {
		return c, fmt.Errorf("libp2p config: %w", err)
	}
	c.Peers = append([]PeerInfo(nil), c.Peers...)
	seen := make(map[peer.ID]int, n)
	for i, p := range c.Peers {
		if p.Index != i {
			return c, fmt.Errorf("libp2p config: Peers[%d] has Index %d", i, p.Index)
		}
		if err := p.ID.Validate(); err != nil {
			return c, fmt.Errorf("libp2p config: Peers[%d]: %w", i, err)
		}
		if j, dup := seen[p.ID]; dup {
			return c, fmt.Errorf("libp2p config: parties %d and %d share peer ID %s", j, i, p.ID)
		}
		seen[p.ID] = i
		if c.Peers[i].Addrs, err = dialAddrs(p); err != nil {
			return c, fmt.Errorf("libp2p config: %w", err)
		}
	}
	if c.Peers[c.Self].ID != selfID {
		return c, fmt.Errorf("libp2p config: the key's peer ID %s is not Peers[%d].ID %s", selfID, c.Self, c.Peers[c.Self].ID)
	}
	if len(c.Session) == 0 || len(c.Session) > maxSessionLen {
		return c, fmt.Errorf("libp2p config: Session has %d bytes, want 1 to %d", len(c.Session), maxSessionLen)
	}
	c.Session = append([]byte(nil), c.Session...)
	if c.ProtocolVersion == "" {
		c.ProtocolVersion = DefaultProtocolVersion
	}
	if len(c.ProtocolVersion) > maxVersionLen {
		return c, fmt.Errorf("libp2p config: ProtocolVersion longer than %d bytes", maxVersionLen)
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if uint64(c.MaxFrameBytes) >= maxFrameBody {
		return c, fmt.Errorf("libp2p config: MaxFrameBytes %d must be below %d", c.MaxFrameBytes, uint64(maxFrameBody))
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = max(DefaultMaxMessageBytes, c.MaxFrameBytes)
	}
	if c.MaxMessageBytes < c.MaxFrameBytes {
		return c, fmt.Errorf("libp2p config: MaxMessageBytes %d is below MaxFrameBytes %d", c.MaxMessageBytes, c.MaxFrameBytes)
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = DefaultMessageTimeout
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	c.ListenAddrs = append([]string(nil), c.ListenAddrs...)
	return c, nil
}

// dialAddrs returns a copy of p's addresses without their /p2p/<id> suffix,
// which must name p itself if present.
func dialAddrs(p PeerInfo) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		if len(a) == 0 { // Multiaddr is a slice since go-multiaddr v0.15
			continue
		}
		tr, id := peer.SplitAddr(a)
		if id != "" && id != p.ID {
			return nil, fmt.Errorf("party %d: address %s names peer %s, not %s", p.Index, a, id, p.ID)
		}
		if len(tr) == 0 {
			return nil, fmt.Errorf("party %d: address %s has no transport part", p.Index, a)
		}
		out = append(out, tr)
	}
	return out, nil
}
