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
// transcript, messages under AES-GCM), three flights in all, once per pair per
// session: j is the base-OT sender, i the receiver choosing with the bits of a
// fresh 128-bit s. Every pair thus has one extension with i as OT sender and
// one with j as OT sender. Each flight is a step of baseOTs (baseot.go) from
// the peer's message body to the reply, with no transport, tested in one
// process; Setup only moves the bodies.
//
// Extension: SoftSpoken OT (Roy, CRYPTO 2022), semi-honest, with k = 4: the
// 128 columns of IKNP (Ishai, Kilian, Nissim, Petrank, CRYPTO 2003) are cut
// into 32 blocks of 4, and each block is a small-field VOLE from a punctured
// PRF (softspoken.go):
//   - Trees: for each block, j draws a GGM tree of depth 4 (node expansion:
//     AES-128-CTR under the node as key) with 16 leaves G_0..G_15, and sends as
//     the messages of the block's 4 base OTs the XOR of all left and of all
//     right nodes of each depth. i, choosing with bit s_l at depth l, learns the
//     sum of the side off its path and rebuilds every leaf except the one at
//     Delta_b, whose bits are NOT s_l (the standard GGM puncturing; no flight
//     beyond the base OTs).
//   - A batch of m = 64w random OTs with choice bits r: with G_x expanded by
//     AES-CTR to m bits (the batch number as stream index, so no key stream is
//     used twice), j sends u_b = r ^ XOR_x G_x for every block (32 bits per OT
//     instead of IKNP's 128) and keeps columns t_(b,c) = XOR_{x: bit c of x} G_x.
//     i computes q_(b,c) = XOR_{x != Delta_b: bit c of x^Delta_b} G_x ^
//     (bit c of Delta_b) u_b. Since XOR_x (x ^ Delta_b)_c G_x = t_(b,c) ^
//     (Delta_b)_c XOR_x G_x, this is q = t ^ r * Delta with Delta = NOT s: the
//     IKNP correlation, row by row (rows are transposed in 64 x 64 blocks).
//
// Outputs: x0_i = H(i, q_i), x1_i = H(i, q_i ^ Delta) at the sender,
// x_{r_i} = H(i, t_i) at the receiver, truncated to 64 bits or to one bit. H is
// fixed-key AES in the Matyas-Meyer-Oseas mode with the orthomorphism
// sigma(lo, hi) = (lo ^ hi, lo) of Guo, Kolesnikov, Wang, Yang (IEEE S&P 2020):
// H(i, x) = pi(sigma(x ^ i)) ^ sigma(x ^ i), pi = AES-128 under a fixed public
// key, circular correlation robust in the ideal-permutation model. Semi-honest
// IKNP/SoftSpoken needs correlation robustness for the one Delta of an ordered
// pair over rows t_i that are uniform (PRG outputs, never chosen by the
// adversary); the index i XORed in separates equal rows of different OTs.
// (Until this version H was their tweakable TMMO, pi(pi(x) ^ i) ^ pi(x), two
// AES calls: tweakable robustness is what a malicious receiver, choosing its
// rows, would need. One call halves the hashing, a third of the OT CPU.
// SHA-256 or SHAKE would be as good but 5-10x slower per OT.) The hash runs
// over a chunk of rows at once: sigma of every row into a buffer, one AES
// pass over it (aes_amd64.s: AES-NI on eight blocks at a time, whose rounds
// overlap in the AES unit; crypto/aes's cipher.Block waits out each block's
// latency), then the feed-forward: ~21 -> ~7 ns per hash on the shared
// machine; with VAES, sigma, AES and feed-forward on sixteen rows at a time
// in YMM registers (hashRowsVAES): ~4 ns; with AVX-512, 32 rows at a time in
// ZMM registers with the round keys and the sigma blocks held in registers
// (hashRowsVAES512): ~1.5 -> ~1.05 ns on a quiet Zen 4 core, against ~0.74
// for the AES units alone. The same outputs
// (TestCRHashMatchesMMOSigma checks them against crypto/aes). Fixed-key and
// public, so the key schedule is no secret.
//
// Making the rows: a batch is cut into chunks of 64 words (4,096 OTs) whose
// 128 columns stay in the cache; per chunk and block, the 16 leaf streams,
// their fold into the block's 4 columns and u_b, then the 64 x 64 bit
// transpositions of the chunk, and the rows are hashed before the next chunk
// (an extension keeps ~170 KiB of working memory, whatever the batch). The
// leaves are fixed for the session, so their AES key schedules are expanded
// once (leafctr.go); a chunk only encrypts its counters under them: with
// AVX-512, eight counters under eight leaves' keys at a time in ZMM
// registers, each round key broadcast once for eight blocks
// (ctr16KeysVAES512, ~0.77 ns per block on Zen 4, at the AES units' ~0.74;
// the YMM kernel, which loaded a round key per two blocks, ~0.87); else 32
// blocks in flight with VAES (sixteen leaves, two counters; aesctr_amd64.s),
// eight with AES-NI, and one cipher.Block per leaf on the portable path: the
// same streams as sharing.NewPRG(G_x, batch) (TestLeafCipherMatchesPRG). The
// sender adds u_b to its leaf at Delta_b before the fold, one pass instead of
// one per bit of Delta_b. The leaf sums and the transpositions use AVX2
// (fold_amd64.s, transpose_amd64.s); the sums load each leaf once (cols[0],
// the odd leaves, is the total minus the even ones: a third less CPU than
// loading the odd leaves twice); a transposition runs its six stages in
// two passes of three on eight rows in registers, the stages 32, 16 and 8 as
// shifts and blends (~15% less CPU than six passes of shift-xor-and).
// Until this version each batch opened a sharing.PRG per leaf: 512 key
// schedules, CTR objects and their allocations per extension and batch,
// which dominated the small batches of many parties.
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
// # daBit triples
//
// A daBit r with a uniform B = sum_i B_i (B_i private to party i) and C = r B,
// additively shared: the material of a shared bit times a shared value. The
// daBit fold carries C along from z = C = 0: at the step of L_t,
// z <- z + r_{L_t} - 2 z r_{L_t} and C <- C + r_{L_t} (B - 2C), which keeps
// C = z B. Every other party k shares (B_k - 2 C_k) r_{L_t} with L_t by one
// correlated OT of a 64-bit string (L_t choosing with r_{L_t}, as for z r_{L_t},
// which only the parties ahead of L_t send), and L_t adds its own part. Each
// party receives 2 * 64 OTs per 64 elements from every peer (its r twice as
// choices) and sends as many; N steps of corrections (daBitTripleBatch). A
// Gilboa triple costs 64 OTs per element and ordered pair; this costs one or
// two.
//
// # Truncation pairs
//
// 64 daBits b_0..b_63 per element, arithmetic shares only: R = sum_j 2^j b_j,
// RShifted = sum_{j=f}^{62} 2^(j-f) b_j, RMSB = b_63. All three are linear in
// the shares, so the pair is exact; R is uniform because the bits are. Since
// b_j is only used times 2^j (R) or 2^(j-f) (RShifted), its arithmetic share
// is needed modulo 2^(64-j) or 2^(64-j+f) only (all 64 bits for b_63): the
// fold runs in Z_2^64 as before (reduction mod 2^m is a ring homomorphism),
// and each correction travels with just that many low bits, packed end to end
// (2,895 bits instead of 4,096 per element at f = 16). The dropped high bits
// are never sent, so this reveals nothing the full corrections would not.
// The high part of a pair (protocol.KindTruncHigh, for the compact truncations
// that never open a share's low f bits) is the same fold over b_m..b_63 only,
// m = max(f, 58 - ceil(log2 N)) (localTruncBits), and its bits f..m-1 cost
// no interaction: each party adds its own uniform multiple T_i of 2^f below
// 2^m to its shares of R and, shifted by f, of RShifted. T = sum T_i is
// below N 2^m <= 2^58 as an integer, so the sum of the shares T_i >> f is
// T >> f exactly (no wrap), and the pair satisfies R = 2^f RShifted + 2^63
// RMSB with 2^f RShifted = T + (H mod 2^63), H = sum_{j>=m} 2^j b_j: up to
// 2^58 past R mod 2^63 (protocol.TruncHighSlackBits). The engine's compact
// truncation treats T as part of the value it truncates (y + T + H instead
// of y + R, with y + T still below 2^63 for |x| < 2^62 - N 2^f - 2^58) and
// subtracts T >> f with RShifted, so the result is unchanged. Leakage: R is
// still uniform among the multiples of 2^f to any N - 1 parties: given
// their T_j and daBit shares, R = T_h + (known) + H with T_h uniform below
// 2^m and H uniform among the multiples of 2^m, so R mod 2^m and R's bits
// above are uniform and independent, and an honest party's share of c = x +
// 2^62 + R, whose top 64 - f bits are all it sends, is uniform. Cost: 64 - m
// daBits per element (8 at N = 3, 9 at N = 8) instead of 64 - f (48 at
// f = 16), and no correction bits for the low part at all.
// A sign pair (protocol.KindTruncSign, for TruncateReLU without a dealer) is
// the fold over b_f..b_{f+32}: R below 2^(f+33), its MSB b_{f+32}, and, as a
// fourth part, the XOR shares of RShifted's bits, which are the low bits of
// the daBits' own shares (each party's low bit of z is its XOR share), so
// they cost nothing more: 33 daBits per element (1,616 correction bits at
// f = 16), against a full pair's 64.
//
// # Products (element-wise triples and square pairs)
//
// Party i draws a_i, b_i. c = sum_i a_i b_i + sum_{i != j} a_i b_j; the
// diagonal is local. For each ordered pair (i sender, j receiver) and element,
// 64 random OTs in which j chooses with the bits of b_j (the packed words of
// b_j are the choice vector). For the OT of bit k, i sends
// e = (a_i + x0 - x1) mod 2^(64-k) and keeps -x0 * 2^k; j keeps
// (x_{c} + c*e) * 2^k; their sum is c * a_i * 2^k mod 2^64, and summed over k
// it is a_i b_j (Gilboa, CRYPTO 1999). Bit k's correction needs only 64-k bits:
// 2,080 bits per element and pair, packed end to end. Square pairs use a = b
// and run only the pairs i < j with the correlation 2 a_i (A^2 = sum a_i^2 +
// 2 sum_{i<j} a_i a_j): half the OTs. Leakage: as for daBits, every correction
// is padded by x_{1-c} = H(i, t ^ Delta), which the receiver cannot tell from
// random; the u rows are padded as for every OT. Per element and party at
// N = 3: ~1.03 kB for a triple (HE: 3.97 kB), ~0.52 kB for a square pair.
//
// # Security (semi-honest, up to N-1 corrupted)
//
// What each message reveals:
//   - Base OTs: simot's A = [a]G and B = [b]G + c*A are uniform group elements
//     (B hides the choice bit perfectly); the ciphertext of the unchosen seed
//     is under a key derived from [a](B - A) or [a]B, which the receiver cannot
//     compute (CDH in the random-oracle model). So the extension receiver learns
//     nothing of Delta and the extension sender gets exactly one seed per column.
//   - Trees: the base-OT messages are XORs of GGM nodes; the sender gets one of
//     each pair (simot hides which from j) and with them every leaf but
//     G_{Delta_b}, which is a PRG output of a node on the path it never sees
//     (GGM puncturing, pseudorandom given the co-path).
//   - u_b = r ^ XOR_x G_x: G_{Delta_b}'s AES-CTR stream, unknown to the sender,
//     is a one-time pad on the choices r (TestSoftSpokenMessageHidesChoices).
//     The receiver learns nothing of Delta: it sends, never receives, in the
//     extension. Delta = NOT s is uniform over 128 bits (s is), so the
//     correlation robustness argument of IKNP carries over unchanged; with one
//     bit per block the semi-honest SoftSpoken security loss does not apply
//     (that is the malicious consistency check's).
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
//   - AND triples: (N-1)*33 bits per triple bit (a 32-bit u row to each peer
//     plus a correction bit), 2 flights.
//   - daBits: 6*(N-1) bytes per daBit on average (N(N-1)/2 OTs of a 4-byte u
//     row and an 8-byte correction each), balanced over batches by the
//     rotation, 1 + (N-1) flights.
//   - Truncation pairs: 64 daBits per element, corrections cut to the bits
//     that matter (2,895 of 4,096 bits at f = 16); their high parts
//     64 - max(f, 58 - ceil(log2 N)) (8 at N = 3, f = 16);
//     sign pairs 33.
//   - daBit triples: 2 OTs per element and ordered pair, a 4-byte u row each,
//     and about (3N-1)/2 correction words per element over the N steps.
//   - Element-wise triples: 64 OTs per element and ordered pair: (N-1) *
//     (256 + 260) bytes per element; square pairs half that.
//
// Measured on this project's 2-core machine, 3 parties in one process over
// network.Memory (bench_test.go; CPU is the process CPU divided by 3; the
// columns measured back to back under the same heavy load, wall time
// meaningless there): IKNP with the TMMO hash and a fixed daBit order first,
// then SoftSpoken with one-block-per-call hashing, and SoftSpoken with the
// batched AES-NI hash, rows made in cached chunks with a tree of leaf sums and
// AVX2 transpositions (a PRG per leaf and batch):
//
//	                             IKNP, TMMO                 one-block hash             batched hash
//	1,000,000 AND triple bits    ~0.41 s CPU, 32.25 MB      ~0.31 s CPU, 8.25 MB       ~0.12 s CPU, 8.25 MB per party
//	100,000 daBits               ~0.031 s CPU, 3.2 MB       ~0.021 s CPU, 1.2 MB       ~0.014 s CPU, 1.2 MB per party
//	10,000 truncation pairs      ~0.20 s CPU, 20.5 MB       ~0.127 s CPU, 6.2 MB       ~0.067 s CPU, 6.2 MB per party
//	                             (busiest party 25.6 MB)    (busiest 6.4 MB)           (busiest 6.4 MB)
//	10,000 element-wise triples  (HE: ~0.25 s CPU, 39.7 MB) ~0.22 s CPU, 10.3 MB       ~0.10 s CPU, 10.3 MB per party
//	10,000 square pairs                                     ~0.12 s CPU, 5.2 MB        ~0.053 s CPU, 5.2 MB per party
//
// Then the leaf key schedules once per extension with the VAES leaf
// streams, the VAES hash, the AVX2 leaf sums and row transposition, and the
// working memory kept between batches (this version). Medians of six runs
// of each binary, interleaved, one party per channel (a heavier load than
// the table above, so the "before" column is slower than its last column);
// bytes unchanged, allocations per request ~100x fewer:
//
//	                             before          now
//	1,000,000 AND triple bits    ~0.152 s CPU    ~0.057 s CPU per party
//	100,000 daBits               ~0.0136 s CPU   ~0.0064 s CPU
//	10,000 truncation pairs      ~0.078 s CPU    ~0.052 s CPU
//	10,000 element-wise triples  ~0.130 s CPU    ~0.072 s CPU
//	10,000 square pairs          ~0.066 s CPU    ~0.035 s CPU
//
// One end of an extension alone (BenchmarkExtend, one core, same runs): a
// batch of 64*8 OTs ~3,300 -> ~60 ns per OT at the receiver (the 512 PRGs
// per batch were all of it), 64*360 (a daBit batch of the N = 8 cancer
// run) ~135 -> ~53 ns, 64*4096 ~134 -> ~50 ns; on a quiet machine
// ~11-19 ns per OT at 64*360.
//
// Then (this version) the AVX-512 leaf and hash kernels, the two-pass
// transposition, the leaf sums' loads, the correction packer and the daBit receiver's unpacking in
// BMI2 assembly (packBMI2, unpackAddBMI2), the product corrections two
// elements at a time with constant shifts (corrpack.go), and messages sent
// through the mux without a copy (network.Channel.SendFrame) and their u
// matrices read in place. Medians of six interleaved runs on a loaded
// machine (two sets; "now" gives both where they differ), one party per
// channel, cpu-ms per party; bytes identical:
//
//	                                         before   now
//	BenchmarkTruncHighPairs360N8 (N = 8)     1.82     1.42-1.49
//	BenchmarkElementwiseTriples500N8         6.20     4.39-4.64
//	BenchmarkDaBits22kN8                     2.17     1.84-1.96
//	BenchmarkTruncPairs10k (N = 3)           23.6     18.4
//	BenchmarkElementwiseTriples10k           32.3     24.4
//
// and the cancer N = 8 bench's process CPU per step, dealer-free, ~10-17%
// less (0.396 -> 0.354 s and 0.485 -> 0.400 s, medians of two sets of
// interleaved runs under different loads), of which OT is now ~40%.
//
// Where the CPU goes now: in an extension (pprof of BenchmarkExtend), the
// leaf streams' AES ~42%, the hash ~24% (both AES rounds at the VAES
// units' rate: 4 leaf blocks and 1 or 2 hash blocks per OT), the
// transposition ~15%, the leaf sums ~5%. For truncation pairs
// (BenchmarkTruncPairs10k) the extensions are ~60% of the CPU and the daBit
// fold's own loops (packing and unpacking the corrections, the fold, the
// sums of bits) most of the rest.
//
// # Several channels
//
// One Party makes one batch at a time, and a batch is a chain of round trips
// (a daBit fold passes through the parties one after another), so a party
// alone leaves its cores idle while it waits. Parallel (SetupParallel) runs a
// Party on each of several channels and cuts every request of at least
// 2*minPiece elements into contiguous pieces, one per channel, made at once
// and joined in element order; smaller requests go whole to the channels in
// turn. Every party cuts alike, so each channel carries the same requests in
// the same order on every party. The channels start their daBit fold orders at
// different rotations, so that concurrent pieces do not all wait on one party.
// Leakage: the pieces come from independent extensions (base OTs per channel)
// and each is the material of one request of its size, so the view is that of
// those requests, which reveals the sizes only (public shapes). Bytes are
// those of the pieces: the same per element, plus a header per piece.
//
// # What is left
//
//   - CPU: what is left of an extension is AES at the AES units' rate (4
//     leaf blocks per OT at k = 4; in the cancer N = 8 profile the leaf
//     streams are ~2/5 of the OT CPU, the hash ~1/9, the transposition ~1/9,
//     the leaf sums ~1/15). The sender still encrypts its punctured leaf
//     (1/32 of the leaf AES). The daBit fold's scalar loops come next:
//     packing and unpacking-and-adding a correction take ~1.4 and ~1.6 ns
//     with BMI2 (~2 and ~2.6 in Go), ~7 per daBit per party at N = 8; the
//     transposition's stages 4, 2, 1 could take VPTERNLOGQ on AVX-512 (four
//     operations per swap instead of six). CPUs with VAES but no AVX-512 take
//     the AES-NI kernels (x/sys/cpu reports the VAES bit only with AVX-512).
//   - Communication is 32 bits per OT (SoftSpoken k = 4). k = 8 would halve the
//     u rows again for 8x the leaf expansions (16 blocks of 256 leaves): the
//     8-byte daBit corrections then dominate, so it would save ~17% of the
//     truncation bytes for ~4x the CPU; silent OT (Ferret) would remove u.
//   - Full truncation pairs (the fused truncations of Exp and Softmax, which
//     open c's low bits) spend 64 daBits per element. The parties' own low
//     parts (as in the high parts) would serve them too, but the low bits of
//     the T_i carry up to N - 1 into RShifted's sum, an error the held form
//     of those truncations does not budget. An edaBit construction (Escudero
//     et al., CRYPTO 2020) does not pay here: with semi-honest OT an AND gate
//     costs an OT per ordered pair, like a daBit's fold step, and the binary
//     adder of N private 64-bit inputs needs (N-1)*64 or more AND gates plus
//     the daBits that convert its carries; edaBits win where daBits need
//     malicious checks. (A note here used to say that fewer random bits
//     cannot work, since the values truncated take up to 62 bits: R must be
//     uniform, but its bits below 2^58/N need not be daBits; see the high
//     parts above.)
//   - daBits cost N flights; a tree fold would cut the flights to log2 N (at
//     the cost of full products of shared values, more OTs).
//   - Peers are served in parallel within a party (one goroutine per peer for
//     the extension's computation; messages in a fixed peer order). That shows
//     on a deployment where each party has its own cores, not in the
//     one-machine benchmarks, where the parties already share the cores.
//   - Base OTs are made once per pair per session (no persisted extension
//     state across sessions).
//   - Malicious security (KOS15 check, MAC'd triples) is out of scope.
package ot
