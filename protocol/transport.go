package protocol

import "context"

// Transport moves opaque messages between the parties of one session. The engine
// sends at most one message to each peer per communication round and reads peers'
// messages in the order they were sent, so an implementation needs nothing more
// than ordered, reliable, authenticated point-to-point channels.
//
// Implementations live elsewhere (package network): in memory for tests and
// simulation, libp2p for deployments.
type Transport interface {
	// Self is this party's index in [0, Parties()).
	Self() int
	// Parties is the number of parties in the session.
	Parties() int
	// Send queues msg for party `to`. It may return before the peer reads it; the
	// caller must not modify msg afterwards.
	Send(ctx context.Context, to int, msg []byte) error
	// Recv returns the next message from party `from`, in order of sending.
	Recv(ctx context.Context, from int) ([]byte, error)
}

// PeerStats counts the traffic between this party and one peer.
type PeerStats struct {
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	MessagesSent  int64 `json:"messages_sent"`
	MessagesRecv  int64 `json:"messages_received"`
}

// Stats counts a party's traffic. A round is a maximal run of sends that follows a
// receive (or the start): the number of times this party had to wait for peers
// before it could speak again.
type Stats struct {
	BytesSent     int64       `json:"bytes_sent"`
	BytesReceived int64       `json:"bytes_received"`
	Rounds        int64       `json:"rounds"`
	Peers         []PeerStats `json:"peers"`
}

// StatsReporter is implemented by transports that count their traffic.
type StatsReporter interface {
	Stats() Stats
}
