// Package serve is encrypted prediction as a service: the N parties that hold
// a model (in the clear or secret-shared) answer a client's feature rows
// without any of them, nor any N-1 of them, seeing the rows or the
// predictions.
//
// A client fetches the parties' collective public key (protocol/he, a key
// setup dedicated to queries) from any party, encrypts its rows under it and
// posts them with its own public key. Party 0, the leader, sequences the
// queries: it sends each to the other parties, all turn the ciphertexts into
// additive shares over Z_2^64 (he.QueryParty), run the model with the secure
// engine, encrypt their output shares under the client's key, and the leader
// returns the sum. A query posted to another party is forwarded to the leader
// over the parties' own channel. Each party overlaps two stages (pipeline.go):
// the next query's decryption to shares runs while the engine computes the
// current one.
//
// The HTTP side (Server) bounds and validates every request before it
// allocates for it, queues at most a configured number of queries (beyond:
// 503 "busy"), checks optional bearer tokens, serves over TLS, and exports
// Prometheus metrics. After a failure among the parties (a party down, a
// message out of step) the service stops answering: the engines may be out of
// step, and no partial answer is ever sent. Package client is the client.
package serve
