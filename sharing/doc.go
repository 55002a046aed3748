// Package sharing holds the arithmetic of Tessera: the ring Z_2^64, tensors of ring
// elements, the fixed-point codec that maps reals into the ring, additive secret
// sharing (splitting and reconstruction) and pseudo-random share expansion from seeds.
//
// Everything here is pure computation: no I/O, no goroutines that outlive a call, no
// global state. Randomness always comes from a caller-supplied io.Reader (crypto/rand
// or a seeded AES-CTR stream from NewPRG), never from math/rand.
package sharing
