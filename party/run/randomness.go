package run

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/tessera-mpc/tessera/sharing"
)

// Randomness chooses where a run's secret randomness comes from: crypto/rand, or
// (for reproducibility tests only) streams derived from a fixed seed, which makes
// every share predictable to anyone who knows the seed.
type Randomness struct {
	InsecureSeed *uint64
}

func (r Randomness) stream(label string, index int) io.Reader {
	if r.InsecureSeed == nil {
		return rand.Reader
	}
	h := sha256.Sum256(fmt.Appendf(nil, "tessera/insecure-test-seed/%d/%s", *r.InsecureSeed, label))
	var s sharing.Seed
	copy(s[:], h[:])
	return sharing.NewPRG(s, uint64(index))
}

// Dealer is the randomness of the dealer.
func (r Randomness) Dealer() io.Reader { return r.stream("dealer", 0) }

// Party is the randomness of party i's input sharing.
func (r Randomness) Party(i int) io.Reader { return r.stream("party", i) }

// protocolVersion is what a deployed node announces in its handshake. A node in
// the insecure test mode says so: its shares are predictable, so its peers'
// privacy would depend on a guessable seed, and a node whose version differs is
// refused. Only nodes that all run in that mode train together.
func (r Randomness) protocolVersion() string {
	if r.InsecureSeed != nil {
		return ProtocolVersion + "+insecure-test-seed"
	}
	return ProtocolVersion
}
