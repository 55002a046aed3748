// Package network implements protocol.Transport: in memory, for tests and
// simulation, and over libp2p, for deployments. Both count bytes, messages and
// rounds per peer. A Mux splits one transport into independent channels.
//
// Liveness, not progress: over libp2p no Send or Recv times out because a peer
// is slow. A party may compute for minutes between two messages (recording a
// dealer-free plan, sharing its input), so every peer stream carries heartbeats
// written by a goroutine the computation never blocks, and a per-peer watchdog
// declares a peer dead only when nothing, not even a heartbeat, has arrived from
// it for MessageTimeout (detected at most 1.125 MessageTimeout after it froze or
// died). Then every Send and Recv involving it fails with an error naming it and
// wrapping ErrPeerUnresponsive. Bound a wait for progress with a context.
//
// Bounds: a frame carries at most MaxFrameBytes and a message, split into
// frames, at most MaxMessageBytes (by default any message the protocol engine
// may send); received messages wait in a per-peer inbox with a byte budget
// (backpressure through yamux flow control), and a Mux holds each peer to the
// same budget (a peer over it is cut off with ErrFlood). Nothing a peer claims
// is allocated before it arrives.
package network
