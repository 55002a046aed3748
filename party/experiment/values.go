package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-mpc/tessera/protocol"
)

// Preprocessing is where the parties' correlated randomness comes from.
type Preprocessing string

// The preprocessing kinds.
const (
	// PrepDealer: a trusted dealer (in simulation in-process, deployed as its own node).
	PrepDealer Preprocessing = "dealer"
	// PrepHE: dealer-free; threshold-CKKS keys make the arithmetic material,
	// pairwise OT the bits.
	PrepHE Preprocessing = "he"
)

// PrepMode is when dealer-free material is made, or a dealer's node asked for it.
type PrepMode string

// The preprocessing modes for dealer-free material.
const (
	// PrepOnDemand makes each piece of material when the online phase asks for it.
	PrepOnDemand PrepMode = "on-demand"
	// PrepPipelined fetches material ahead of the online phase, a bounded number
	// of requests ahead, so memory stays bounded.
	PrepPipelined PrepMode = "pipelined"
	// PrepOfflineFirst makes all the material of the run before training starts,
	// and reports that offline phase apart.
	PrepOfflineFirst PrepMode = "offline-first"
)

// Partition is how the training set is divided among the parties.
type Partition string

// The partitions.
const (
	// PartitionContiguous: party i holds the i-th contiguous slice of the rows.
	PartitionContiguous Partition = "contiguous"
	// PartitionVertical: party i holds the i-th block of feature columns of every row.
	PartitionVertical Partition = "vertical"
	// PartitionRandom: the training rows are dealt to the parties by a permutation
	// drawn from the public seed, then cut into contiguous slices.
	PartitionRandom Partition = "random"
)

// Scaling is how features are scaled before training.
type Scaling string

// The scalings.
const (
	// ScaleStandardize: global mean and standard deviation per feature, from a
	// secure sum of the parties' column sums.
	ScaleStandardize Scaling = "standardize"
	// ScaleNone uses the features as they are.
	ScaleNone Scaling = "none"
)

// OutputModel says who learns the trained model.
type OutputModel string

// The output modes.
const (
	// OutputReveal: every party learns the model (revealed after every epoch).
	OutputReveal OutputModel = "reveal"
	// OutputRevealTo: only the output party learns it.
	OutputRevealTo OutputModel = "reveal-to"
	// OutputShared: it stays secret-shared; each party keeps its share.
	OutputShared OutputModel = "shared"
)

// The known values of every enumerated setting, in the order error messages list
// them: the one place they are checked.
var (
	preprocessings = []Preprocessing{PrepDealer, PrepHE}
	prepModes      = []PrepMode{PrepPipelined, PrepOfflineFirst, PrepOnDemand}
	partitions     = []Partition{PartitionContiguous, PartitionVertical, PartitionRandom}
	scalings       = []Scaling{ScaleStandardize, ScaleNone}
	outputModels   = []OutputModel{OutputReveal, OutputRevealTo, OutputShared}
	openings       = []protocol.Opening{protocol.OpenAllToAll, protocol.OpenViaKing, OpenAuto}
)

// OpenAuto lets a run pick its opening pattern for its party count and network
// (ChooseOpening): the default. The engine never sees it.
const OpenAuto protocol.Opening = "auto"

// kingFromParties is the party count from which king opens faster than
// all-to-all when every party shares one machine and no network delays them.
// Measured (node bench --transport memory --network memory, 2 cores, seconds
// per step, all-to-all vs king): cancer 0.0034 vs 0.0052 with 5 parties and
// 0.0126 vs 0.0096 with 8; MNIST (batch 128) 0.71 vs 0.62 with 5 and 0.88 vs
// 0.57 with 8.
const kingFromParties = 6

// ChooseOpening is the opening pattern for parties over a network that delays
// messages (shaped: a latency or a bandwidth) or not. An opening of s bytes per
// party costs, on the critical path:
//
//   - all-to-all: one hop, L + s/B, every pair's link at once; N(N-1) messages;
//   - king: two hops, 2(L + s/B) (the king waits for every share, then sends
//     the sum); 2(N-1) messages, so (N-1)x fewer bytes in all.
//
// Over a network, each pair of parties has a link of its own, so the king's
// saving is in total bytes, not on any link of the critical path: all-to-all is
// faster for every N (measured on wan with N = 3, 5, 8: king takes 1.8x to 2.2x
// as long, cancer and MNIST; on lan 1.2x to 2.3x, except MNIST with 8 parties
// simulated on 2 cores, where handling the messages dominates and king is 30%
// faster). Without a network (a simulation in one process), the cost is
// handling the messages on shared cores, N(N-1) of them per opening against
// 2(N-1), where king wins from kingFromParties on.
func ChooseOpening(parties int, shaped bool) protocol.Opening {
	if !shaped && parties >= kingFromParties {
		return protocol.OpenViaKing
	}
	return protocol.OpenAllToAll
}

// OneOf checks an enumerated setting; the error names the field and the known
// values.
func OneOf[T ~string](field string, v T, known []T) error {
	if slices.Contains(known, v) {
		return nil
	}
	names := make([]string, len(known))
	for i, k := range known {
		names[i] = string(k)
	}
	return fmt.Errorf("%s: %q is not supported (known: %s)", field, v, strings.Join(names, ", "))
}

// optional is OneOf for a setting that may be left empty.
func optional[T ~string](field string, v T, known []T) error {
	if v == "" {
		return nil
	}
	return OneOf(field, v, known)
}
