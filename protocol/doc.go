// Package protocol is one party's MPC engine: openings, local linear operations,
// Beaver multiplication (element-wise and matrix), squaring, wrap-safe truncation and
// polynomial evaluation on additive shares over Z_2^64, plus the preprocessing
// sources that supply the correlated randomness these need.
//
// Like etcd's raft core, the engine does no I/O of its own: it talks to peers only
// through the Transport interface defined here, which the application implements
// (package network has an in-memory and a libp2p implementation).
//
// Preprocessing material is asked for as a Request (a Kind and its shape) from a
// one-method Source, and arrives as Material: its components in the order the Kind
// documents. A dealer also makes lookup material for comparisons (KindCompare):
// with it, and Config.LookupComparisons, a sign on 16 or 32 bits opens the value
// masked by a uniform r and looks the borrow up in one-hot vectors of r, in two
// rounds instead of the binary adder's four to ten (compare.go); without it, a
// dealer-free engine opens the value masked by a sign pair's R' (KindTruncSign)
// and compares with the XOR-shared bits of R': 5 rounds on 16 bits and 6 on 32
// whatever N (truncsign.go), taken where the adder needs more (N >= 3).
// The engine keeps small typed views (Material.Triple, .TruncPair, ...)
// and checks every Material's shape before use. Sources compose: Router serves each
// kind from its own source (HE for arithmetic material, OT for binary material),
// Recorder records a run's requests as a Plan, Pipeline fetches a Plan's material
// ahead of the online phase and checks every request against it, and SourceFunc
// adapts a function (timing, fault injection). Adding a kind of material touches
// the Kind list and Request.shapes here, the source that makes it, and one engine
// call.
package protocol
