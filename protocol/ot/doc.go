// Package ot is a dealer-free source of the binary preprocessing material
// (protocol.Source): AND triples, daBits and truncation pairs, from oblivious
// transfer. N >= 2 parties, semi-honest adversary corrupting up to N-1 of them
// (dishonest majority). Asked for the arithmetic kinds (element-wise and matrix
// triples, square pairs, masks, mask products) it returns an error wrapping
// protocol.ErrUnservedKind: route those to protocol/he (protocol.Router).
//
// # Use
//
//	p, err := ot.Setup(ctx, tr)        // tr: a protocol.Transport for this package only
//	t, err := p.Fetch(ctx, protocol.AndRequest(words)) // 64*words XOR-shared triples, C = A AND B
//	d, err := p.Fetch(ctx, protocol.DaBitRequest(n))   // n bits, XOR- and additively shared
//	r, err := p.Fetch(ctx, protocol.TruncRequest(shape, f))
//
// All parties call Setup together and then make the same requests in the same
// order, as with every source. A *Party serialises its own calls.
//
// # Base OTs and extension
//
// Setup runs, for every ordered pair (i, j), 128 base OTs with circl v1.6.5
// ot/simot (Chou-Orlandi "simplest OT", ristretto255; keys from SHAKE128 of the
// transcript, messages under AES-GCM), three flights in all: j is the base-OT
// sender with 128 pairs of fresh 16-byte seeds (k0_l, k1_l), i the receiver
// choosing with the bits of a fresh 128-bit Delta_ij = s. Every pair thus has
// one extension with i as OT sender and one with j as OT sender. Each flight
// is a step of baseOTs (baseot.go) from the peer's message body to the reply,
// with no transport, tested in one process; Setup only moves the bodies.
//
// Extension: IKNP (Ishai, Kilian, Nissim, Petrank, CRYPTO 2003), semi-honest.
// A batch of m = 64w random OTs with choice bits r: the receiver expands
// t_l = G(k0_l) and sends u_l = t_l ^ G(k1_l) ^ r (128 columns of m bits); the
// sender computes q_l = G(k_{s_l}) ^ s_l*u_l, so that row q_i = t_i ^ r_i*s.
// G is AES-128-CTR (sharing.NewPRG) keyed by the seed, with the batch number
// as the stream index, so no key stream is used twice. The 128 x m matrices
// are transposed in 64 x 64 blocks. Outputs: x0_i = H(i, q_i),
// x1_i = H(i, q_i ^ s) at the sender, x_{r_i} = H(i, t_i) at the receiver,
// truncated to 64 bits or to one bit. H is fixed-key AES in the tweakable
// Matyas-Meyer-Oseas mode of Guo, Kolesnikov, Wang, Yang (IEEE S&P 2020):
// H(i, x) = pi(pi(x) ^ i) ^ pi(x), pi = AES-128 under a fixed public key,
// tweakable circular correlation robust in the ideal-permutation model; the
// tweak i counts every OT of the ordered pair, so it never repeats. (SHA-256 or
// SHAKE would be as good but 5-10x slower per OT; AES-NI makes this about
// 40 ns per hash here, BenchmarkTCCR.)
//
// # AND triples
//
// Party i draws a_i, b_i (AES-CTR under a crypto/rand seed). c = (XOR a_i) AND
// (XOR b_i) = XOR_i (a_i b_i) XOR XOR_{i != j} (a_i b_j). The diagonal is local.
// For each ordered pair (i sender, j receiver) and every bit, one random bit-OT
// in which j chooses with b_j: i gets (x0, x1), j gets x_{b_j} =
// x0 ^ b_j(x0 ^ x1). i sends e = a_i ^ x0 ^ x1; i keeps x0 and j keeps
// x_{b_j} ^ b_j e; their XOR is b_j (x0 ^ x1 ^ e) = a_i b_j. (With N = 2 one
// could take a_i = x0 ^ x1 and skip e; with N > 2 a_i must be the same towards
// every peer, so e derandomises it.) Two flights: u matrices, then corrections.
//
// # daBits
//
// Party i draws a private bit r_i; b = r_0 ^ ... ^ r_{N-1}. In each batch
// the parties take the positions of an order L_0..L_{N-1}, rotated by one
// party per batch (all parties count the batches alike). Start from the
// additive sharing z = r_{L_0} (L_0 holds it, the others 0) and fold
// z <- z ^ r_j = z + r_j - 2 z r_j for j = L_1..L_{N-1}, where z is additively
// shared and r_j is private to j. At j = L_t only L_0..L_{t-1} hold nonzero
// shares of z (j's own share is still 0), and z r_j = sum_k z_k r_j: for every
// k ahead of j one correlated OT of 64-bit strings (Gilboa's multiplication of
// a value by a bit) shares z_k r_j: k is the OT sender, j the receiver choosing
// with r_j; k sends e = z_k + x0 - x1 and keeps -x0, j keeps x_{r_j} + r_j e
// (for r_j = 0: x0; for r_j = 1: x1 + e = z_k + x0). The u matrices go out
// first (choices are known from the start); step t's corrections from k need
// only k's current share, so the fold costs N-1 sequential correction steps and
// N(N-1)/2 OTs per daBit (a fixed order with every party as a sender at every
// step cost (N-1)^2, and the first party sent 40% of the others' bytes at
// N = 3; the rotation balances the roles over batches). The binary share is
// the low bit of the additive share (the low bit of a sum is the XOR of the
// low bits and the sum is b in {0, 1}); senders only add 2*x0 and the receiver
// sets its share to r_j - 2*prod, so the low bit of party i's share is exactly
// r_i, a valid XOR sharing of b. Which party is where in the order is public
// and independent of every secret, so the rotation reveals nothing.
//
// # Truncation pairs
//
// 64 daBits b_0..b_63 per element, arithmetic shares only: R = sum_j 2^j b_j,
// RShifted = sum_{j=f}^{62} 2^(j-f) b_j, RMSB = b_63. All three are linear in
// the shares, so the pair is exact; R is uniform because the bits are.
//
// # Security (semi-honest, up to N-1 corrupted)
//
// What each message reveals:
//   - Base OTs: simot's A = [a]G and B = [b]G + c*A are uniform group elements
//     (B hides the choice bit perfectly); the ciphertext of the unchosen seed
//     is under a key derived from [a](B - A) or [a]B, which the receiver cannot
//     compute (CDH in the random-oracle model). So the extension receiver learns
//     nothing of Delta and the extension sender gets exactly one seed per column.
//   - u_l = G(k0_l) ^ G(k1_l) ^ r: the sender knows only k_{s_l}, and the other
//     key's AES-CTR stream is a one-time pad on the choices r.
//   - Corrections e (AND: one bit; daBit: 64 bits): padded by x_{1-c} =
//     H(i, t_i ^ s), which the receiver (knowing t_i, not s) cannot tell from
//     random by the correlation robustness of H. The receiver learns its output
//     share only.
//
// A coalition that misses party h sees h's choice bits (b_h, r_h) only under
// the pads of the u matrices and h's values (a_h, z_h) only under the pads of
// the corrections, each pad from an extension whose Delta or second seed h
// alone holds; shares that the coalition holds are sums of its own OT outputs
// and values. So its view is simulatable from its own inputs and outputs, and
// each triple, daBit or truncation mask is uniform given that view. As in the
// usual preprocessing functionalities, the corrupted parties' shares are a
// function of their view and the honest shares complete the sum. Computational
// security: 128-bit Delta and seeds, AES-128, ristretto255 (~126-bit group);
// no statistical parameter is involved (nothing is opened).
//
// Every peer message carries a 16-byte header (tag, batch number) and has an
// exact expected length, checked before use; group elements must decode; the
// base-OT ciphertexts must authenticate. Errors wrap ErrMalformed and name the
// party, the peer and the step; nothing a peer sends makes this package panic.
// Semi-honest security does not detect well-formed but wrong messages (that
// needs KOS15's consistency check and authenticated triples: not done).
//
// # Costs (N parties, bytes sent per party)
//
//   - Setup: 128 base OTs each way per pair, 3 flights: 19.5 kB per peer.
//   - AND triples: (N-1)*129 bits per triple bit (a 128-bit u row to each peer
//     plus a correction bit), 2 flights.
//   - daBits: 12*(N-1) bytes per daBit on average (N(N-1)/2 OTs of a 16-byte u
//     row and an 8-byte correction each), balanced over batches by the
//     rotation, 1 + (N-1) flights.
//   - Truncation pairs: 64 daBits per element.
//
// Measured on this project's 2-core machine, 3 parties in one process over
// network.Memory (bench_test.go; wall time is all 3 parties sharing the 2
// cores, CPU is the process CPU divided by 3):
//
//	Setup                        ~0.12 s wall,            39 kB per party
//	1,000,000 AND triple bits    ~0.6 s wall, ~0.40 s CPU per party, 32.25 MB per party
//	100,000 daBits               ~0.05 s wall, ~0.03 s CPU per party,  3.2 MB per party
//	10,000 truncation pairs      ~0.3 s wall, ~0.18 s CPU per party, 20.5 MB per party
//
// # What is left
//
//   - Communication is IKNP's 128 bits per OT. Silent OT (Ferret, SoftSpoken
//     with k = 4..8) would cut it 4-30x; SoftSpoken is the smallest step from
//     here.
//   - Truncation pairs spend 64 daBits per element; the f low bits need no
//     binary share, and an edaBit-style construction (Escudero et al. 2020)
//     would be cheaper.
//   - daBits cost N flights; a tree fold would cut the flights to log2 N (at
//     the cost of full products of shared values, more OTs).
//   - Peers are served one after the other within a party; per-peer
//     goroutines would use more cores on a real deployment.
//   - Base OTs are redone per session (no persisted extension state).
//   - Malicious security (KOS15 check, MAC'd triples) is out of scope.
package ot
