// Package party is a node's life: its configuration, its data (loading,
// partitioning, scaling), the secure training run over a protocol.Engine, the
// plaintext reference, and the results it writes. It is the only layer below
// cmd/node that reads files.
package party
