// Package run orchestrates nodes: it builds each party's node (node.go: the
// preprocessing source, pipelined and timed, and the engine; source.go: all that
// touches protocol.Source) and runs them in a simulation (every party in one
// process, beside the plaintext twin), in a deployment (one party or the dealer
// per process, over libp2p), in a benchmark, and for secure prediction.
package run
