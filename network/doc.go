// Package network implements protocol.Transport: in memory, for tests and
// simulation, and over libp2p, for deployments. Both count bytes, messages and
// rounds per peer.
package network
