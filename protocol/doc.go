// Package protocol is one party's MPC engine: openings, local linear operations,
// Beaver multiplication (element-wise and matrix), squaring, wrap-safe truncation and
// polynomial evaluation on additive shares over Z_2^64, plus the preprocessing
// sources that supply the correlated randomness these need.
//
// Like etcd's raft core, the engine does no I/O of its own: it talks to peers only
// through the Transport interface defined here, which the application implements
// (package network has an in-memory and a libp2p implementation).
package protocol
