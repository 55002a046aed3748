// Package he is a dealer-free source of Beaver material (protocol.Source):
// n parties hold an n-out-of-n threshold key of the ring-LWE scheme under
// lattigo v2.4.1's CKKS/dCKKS (used here with exact, integer encoding) and
// generate matrix triples, element-wise triples, square pairs, matrix masks
// and mask products over Z_2^64. Security is semi-honest with a dishonest
// majority: no coalition of up to n-1 parties learns anything about another
// party's shares beyond what the shares' sum reveals, computationally (ring
// LWE, 128 bits) and statistically (2^-40 over a whole key setup).
//
// # Use
//
//	p, err := he.Setup(ctx, tr)           // tr: a protocol.Transport for preprocessing only
//	t, err := p.Fetch(ctx, protocol.MatrixRequest(m, k, n)) // p implements protocol.Source
//
// Every party calls Setup and then makes the same requests in the same order
// (as with every source). Asked for truncation pairs, AND triples or daBits it
// returns an error wrapping protocol.ErrUnservedKind: those come from protocol/ot
// (protocol.Router combines the two).
//
// # Parameters (at least 128-bit security)
//
// Ring R = Z[X]/(X^N+1), N = 2^14. Ciphertext modulus Q = q0*q1*q2*q3, four
// NTT-friendly 60-bit primes (log2 Q = 240.0), and two 60-bit special primes P
// (log2 QP = 360.0) that only the collective key generation uses (lattigo's
// CKG works in Z_QP; no key switching is ever done). The homomorphic
// encryption standard (Albrecht et al. 2018, table 1) allows log2 QP <= 438 at
// N = 2^14 for 128-bit classical security with ternary secrets: 360 <= 438.
// Secret-key shares are uniform ternary (lattigo GenSecretKey); errors are
// discrete Gaussians of standard deviation 3.2, truncated at 19 = 6 sigma
// (far below every prime, pitfall 3 below). TestParameterSecurity checks
// this.
//
// Exact encoding, plaintext modulus t = 2^64: a ciphertext (c0, c1) of m
// satisfies c0 + c1*s = m + 2^64*E (mod Q) with |m + 2^64*E| < Q/2, where m is
// any integer representative. The collective key is scaled to
// pk = 2^64*(CKG output) = (-a's + 2^64 e, a') (a' = 2^64 a is uniform: 2^64 is
// invertible mod Q), encryption noise is 2^64*e and re-randomisation adds
// 2^64*Enc_pk(0); so every noise term is a multiple of 2^64, and a share
// reduced mod 2^64 is exact: the tests reconstruct C = A*B with no error.
//
// Modulus switch (modswitch.go). Q needs four primes to hold a product, not
// to decrypt it: after the product every party divides its own share by the
// last prime q_L, BGV style with the correction delta = 2^64*[-c*2^-64]_{q_L}
// (delta = -c mod q_L and 0 mod 2^64), so c' = (c + delta)/q_L decrypts
// modulo Q' = Q/q_L (log2 Q' = 180.0) to x' = q_L^-1 m (mod 2^64); the
// output shares are multiplied by q_L mod 2^64. (lattigo's CKKS rescale,
// DivRoundByLastModulusNTT, has no 2^64 correction and breaks exactness.)
// Dropping two primes cannot work: the switch's rounding alone is
// n*2^63*(1 + n*N), about 2^80 for 3 parties, and masking it with 80
// statistical bits (plus 5 for the parties' sum and the CRT) needs about
// 165 bits, more than the 120 of the two primes that would remain.
//
// # Protocol
//
// Setup (4 exchanges): a coin toss (commit to a 32-byte crypto/rand value with
// SHA-256, then reveal; the common reference seed hashes all values), lattigo
// drlwe CKG (GenShare / AggregateShares / GenPublicKey) on a common reference
// polynomial from that seed, and a confirmation that all parties computed the
// same public key. The secret-key share never leaves its party.
//
// A request is cut into ciphertexts of an encrypted operand, plaintext
// polynomials of the other operand and output ciphertexts (see matLayout and
// elemPlan). Each ciphertext has an aggregator, rotating over the parties.
// Five exchanges, each one message per peer:
//
//  1. S2E up: party i sends h_i = NTT(A_i + 2^64 e_i) - a_g*s_i, a_g a fresh
//     common reference polynomial (counter g, never reused), to the
//     aggregator. (Shares-to-encryption with the smudging noise 2^64 e_i added
//     by us, not by lattigo's CKS: pitfall 1 below.)
//  2. S2E down: the aggregator sends c0 = sum h_i; (c0, a_g) encrypts
//     A = sum A_i with noise 2^64 sum e_i.
//  3. Products up: party j multiplies by its own plaintext b_j (NTT domain)
//     and re-randomises: (c0*b_j + 2^64(pk0 u + e0), a_g*b_j + 2^64(pk1 u + e1)),
//     u ternary, then switches both parts from Q to Q' (above). It sends c1'
//     in full, modulo Q', and keeps its c0 part (c0_j, switched at the
//     targets when it is used; e0 is added after the switch).
//  4. c1 down: the aggregator sends the summed c1' (mod Q') to everyone.
//  5. E2S up: party i sends (c1'*s_i + c0_i')[T] - M_i mod Q', M_i uniform
//     in [0, 2^b), at the target coefficients T only, and keeps q_L*M_i mod
//     2^64 as its share; the aggregator adds (c1'*s_agg + c0_agg')[T] and
//     the received values, recovers the integer x' - sum M_i (|.| < Q'/4)
//     from its residues by an RNS CRT (no big.Int, pitfall 6 below), and
//     keeps q_L times it mod 2^64. (c0_i joins the decryption share rather
//     than travelling in step 3 on its own, to the same aggregator: one
//     inverse NTT per output instead of two, and the message is the sum of
//     the two it replaces.) The switch adds no NTT: e1 rides on the NTT of
//     c1's correction, and c0's correction is added after the decryption's
//     inverse NTT, at the targets only.
//
// The sum of the shares is q_L*x' mod 2^64 = (sum_j A*b_j) mod 2^64 = C. Matrix
// triples include the diagonal products A_i*B_i inside the homomorphic
// product: computing them locally instead would need a different encryption
// per party (of A - A_j) and saves nothing.
//
// Packing. Matrices use Cheetah's coefficient packing (Huang et al. 2022):
// blocks Mw x Kw of the encrypted operand and Kw x Nw of the plaintext one,
// Mw*Kw*Nw <= N, a(X) = sum A[i,k] X^(i*Kw*Nw+k), b(X) = sum B[k,c]
// X^(c*Kw+Kw-1-k), outputs at i*Kw*Nw + c*Kw + Kw-1. The block shape and the
// orientation (encrypt A, or B for C^T = B^T A^T) minimise a cost model of
// NTTs plus a price per polynomial sent (WithCommWeight); the plaintext
// polynomials have degree < Kw*Nw and get a sparse NTT ((log2 Kw*Nw)/14 of a
// full one). Element-wise products put a_l and b_l at positions p_l of a
// 3-term-progression-free set below N/2 (integers whose base-3 digits are 0
// or 1: 384 positions), so a_l*b_l lands alone at 2p_l: 384 products per
// ciphertext, a poor fit for coefficient encoding (3.97 kB per triple and
// party at N = 3): the dealer-free wiring (party/run) takes element-wise
// triples and square pairs from protocol/ot's Gilboa products instead (1.03 kB).
// Square pairs are the same protocol with b_j = A_j (A * sum A_j = A^2). Mask products run the matrix
// protocol on the parties' mask shares.
//
// Shared ciphertexts. Small products (one block, m*k*n + k - 1 <= N) fill a
// corner of a ciphertext that costs every party as much as a full one.
// FetchBatch (protocol.BatchSource: a pipeline hands it a batch of its plan,
// cut from the plan alone so every party cuts the same) packs a batch's small
// mask products into shared ciphertexts: product j's a_j and b_j are shifted by
// X^(s_j) and X^(t_j), chosen (batch.go) so that every cross term a_i*b_j,
// i != j, lands outside every product's span [s_j + t_j, s_j + t_j + P_j) and
// nothing reaches X^N. The security argument below holds per shared ciphertext
// unchanged: one fresh a_g for it, one re-randomisation per output, only the
// products' targets decrypted (cross terms are never), and the smudging bound
// taken with K = max k_j and P = sum k_j*n_j (the encryption noise meets every
// plaintext coefficient of the ciphertext). For the five mask products of a
// cancer step (30-16-1, batch 32) this makes 3 ciphertexts instead of 5.
//
// # Code structure
//
// As in lattigo's multiparty packages (GenShare / AggregateShares /
// Finalize), every step is a function of a party's key material (keyShare)
// and of share types, with no transport, so each is tested in one process
// (steps_test.go). keygen.go holds the setup's steps: the coin-toss
// commitment and common reference seed, and CKG genShare, aggregate and
// publicKey. steps.go holds a request's: s2eShare and aggregatePoly;
// plainPoly, productShare and aggregateProducts; e2sShare,
// e2sAggregatorShare, aggregateMasked and switchedFinalize; modswitch.go
// the switch from Q to Q' (switchNTT for c1, addCorrectionAt for c0 at the
// targets). Setup and run
// (engine.go) are thin drivers: run keeps one chunk's shares in a chunkState,
// and its rounds (gather: up to each item's aggregator; scatter: down from
// it) only encode, move and decode them. A chunkState and its shares are
// dropped after the chunk, and a failed request poisons the Party instead
// of being retried, so no decryption share is ever made or sent twice.
//
// # Security, per message
//
//   - Coin-toss commitment: SHA-256 of a 256-bit random value (hiding in the
//     random-oracle model); the reveal is checked against it. The seed is
//     uniform if one party is honest.
//   - CKG share -a*s_i + e_i: a ring-LWE sample with a uniform a; pseudorandom.
//   - S2E share h_i: 2^-64*h_i is a ring-LWE sample (uniform 2^-64 a_g, secret
//     s_i, Gaussian error) plus A_i: pseudorandom, A_i hidden. A fresh a_g per
//     ciphertext: reusing one would reveal A_i - A'_i + 2^64(e - e').
//   - Aggregated c0, aggregated c1: sums of pseudorandom values; decrypting
//     needs every s_i.
//   - Product of party j: c1' = switch(c1), c1 = a_g*b_j + 2^64(pk1 u + e1),
//     and pk1 u + e1 is a ring-LWE sample with secret u, so c1 is
//     pseudorandom whatever b_j; c1' is a public, deterministic function of
//     c1, hence pseudorandom too (and a uniform c mod Q gives a uniform c'
//     mod Q': c' = (c mod Q' + delta) * q_L^-1 mod Q', and delta depends only
//     on c mod q_L, independent of c mod Q' by the CRT). The switch comes
//     after the re-randomisation. Its c0 part, c0*b_j + 2^64 pk0 u, is only
//     ever sent switched inside the masked decryption share, whose mask
//     covers it. The re-randomisation is mandatory: without it c1 = a_g*b_j
//     (b_j = c1/a_g), and switched, c1' = (a_g*b_j + 2^64 r)/q_L with |r| <
//     q_L/2, so a guess of B_j is confirmed by 2^-64(q_L c1' - a_g*b_j) being
//     small (TestMessagesIndependentOfB shows this distinguisher confirms the
//     true B_j in every coefficient of a bare switched product and in none
//     of the real messages).
//   - Masked decryption share of party h (mod Q'): the coalition can compute
//     x' - M_h from it and what it knows; with M_h = r_h + 2^64 R_h (q_L*r_h
//     the honest output share), x' - M_h given r_h is a shift by x' of a
//     uniform variable on 2^(b-64) points spaced 2^64 apart, within
//     statistical distance 2^-80 of a simulation from the outputs alone,
//     because |x'| <= 2^(b-80) (below). x' hides more than the output: its
//     high bits carry the integer (not mod 2^64) products of the packed
//     blocks divided by q_L, the noise 2^64*E*b_j/q_L, which depends on
//     secret keys and on B_j, and the switch's rounding (delta0 +
//     delta1*s)/q_L, which depends on every party's product share and on s;
//     masking all of b bits covers them all. Each output ciphertext is
//     decrypted once: a party that fails stops serving (no retry re-sends a
//     decryption share with fresh masks, as lattigo's SECURITY.md requires).
//     Only target coefficients are ever decrypted: the others hold cross
//     products A[i,k]B[k',c] (pitfall 5 below is the opposite problem:
//     lattigo's E2S masks only some coefficients).
//   - Output shares: the non-aggregators' are uniform mask words times q_L
//     (odd, so still uniform mod 2^64); the aggregator's completes the sum.
//
// Smudging bound. With n parties, b = floor(log2 Q') - 3 - ceil(log2 n) mask
// bits (174 for 3 parties) keep (n-1)*2^b <= Q'/8. Before the switch a
// target coefficient, summed over the parties, satisfies (logProductBound)
// |x| <= n^2 (2^126 K + 2^127*19*P) + n*2^64*19*2*2^14*n, with K the
// products summed into it and P the plaintext coefficients its ciphertext
// multiplies (G*Kw and G*Kw*Nw for matrices, 1 and 384 element-wise); after
// it (logXBound) |x'| <= |x|/q_L + n*2^63*(1 + n*2^14) + n*2^64*19 (the
// rounding of every party's c0 and c1, with ||s||_1 <= n*2^14, and e0). The
// source requires log2|x'| <= b - 80 (StatLambda) and, for matrices, sums at
// most G k-blocks per output ciphertext so that it holds (a 64x784x128
// product: |x| <= 2^146.1, |x'| <= 2^86.1 <= 2^94); Setup checks that
// q_L*2^(b-80) stays below Q/4, so the switch always divides the true
// integer. Distances add over masked coefficients:
// a key setup masks at most MaxMaskedCoefficients = 2^40, for a total of
// 2^-40 (lambda = 80 >= 40 + log2 2^40); past it the source refuses.
//
// # Costs (3 parties, 2-core build machine, per party)
//
// 64x784x128 matrix triple: ~0.4 s CPU, 43.6 MB sent (5.3 MB per 1,000
// outputs); 128x784x128: ~0.65 s, 54.4 MB (3.3 MB per 1,000); 1,000
// element-wise triples: ~25 ms, 4.0 MB; key setup: ~15 ms, 1.5 MB.
// These figures are at communication weight 2 and before the modulus switch;
// WithCommWeight(20) trades 10-14% more CPU for 38% fewer bytes on the first
// (27.2 MB). The default is now 10 (BenchmarkMNISTStepProducts: the 8
// products of an MNIST step, 177 -> 144 MB per party for ~10% more CPU; 140
// MB since the c0 parts travel inside the decryption shares; 118 MB since
// the modulus switch, 124 MB from the switch itself and the rest from the
// cost model pricing an output's polynomials at 3/4 of a full one, which
// packs more outputs and fewer encryptions; CPU unchanged within the noise,
// 2.24 s -> 2.27 s per party, benchstat over 6 interleaved runs). BenchmarkMatrixTriple and friends measure these. The
// trusted dealer makes the first in ~2 ms per party. The CPU figures above
// are from before the package's own kernels (next paragraph), which halve
// them: BenchmarkMNISTStepProducts (w=10) 2.03 s -> ~0.95 s per party. On
// an MNIST step ~25-40% of the CPU now goes to the coefficient-wise
// products (summed in 128 bits, sumProducts: eight lanes at a time, but
// bound by reading the operands from memory, so the kernel gained only
// ~12% there), ~30-40% to the plaintext operands' (sparse) NTTs, the rest
// to the encryptions, re-randomisations, decryption shares and message
// packing (before the kernels: ~45% NTTs, 10-20% sumProducts).
// No transform can be shared between two products: a mask is contracted
// along a different axis in each of its two products (X W, X^T dZ, dZ W^T),
// and the packing of an operand depends on its contraction axis.
//
// Kernels (ntt.go, montgomery.go, kernels_amd64.s). The package does not
// call lattigo's NTT: its own negacyclic transform uses lattigo's twiddle
// tables with Shoup's precomputed quotients (w*y mod q as w*y - hi(w'*y)*q)
// and Harvey's lazy butterflies (values below 4q forward, 2q inverse, one
// full reduction in the last stage, N^-1 folded into the inverse's last
// stage). Both transforms reduce fully, so its output is lattigo's bit for
// bit (TestNTTMatchesLattigo, every prime of Q and P). In scalar Go that
// alone does not win on the build machine (AMD EPYC: a 64x64->128 multiply
// costs what a 64-bit one does, and Montgomery and Shoup both take three);
// eight lanes of AVX-512 do: a 4-prime transform at N = 2^14 takes ~0.23 ms
// instead of lattigo's ~0.75 ms (BenchmarkNTT; 64x64 high products from four
// VPMULUDQ). The same kernels make the coefficient-wise Montgomery products
// (1.6-2.1x lattigo's), sumProducts' 128-bit sums, the Gaussian noise (4x),
// 2^64*e mod q (3.5x) and the 60-bit packing of residues (11x,
// AVX512-VBMI), all with the values and bytes of the Go code they replace,
// which stays for CPUs without AVX-512 (and for the tests, which run both).
// Tried and dropped, no faster: the last three forward stages fused in one
// pass, and a sparse transform's first stage reading every block from the
// low one instead of copying it. The cost model (layout.go) is still in
// units of a lattigo NTT: changing it would change the packing and the
// bytes sent.
//
// With 8 parties on the cancer config (node bench --parties 8 --steps 20
// --preprocessing he) the kernels cut the process CPU per step from ~0.41
// s to ~0.32 s, the HE workers' share of it from 2.9 s to 1.1 s per 20
// steps, with the same bytes of every kind.
//
// With 8 parties and small products (BenchmarkCancerStepProducts: the five
// mask products of a cancer step) per-ciphertext costs dominate: one at a
// time they cost ~38 ms CPU and 7.6 MB per party (8.6 MB before the switch),
// in one batch (3 shared ciphertexts) ~26 ms and 4.5 MB (5.2 MB); with the
// kernels ~14 ms and ~10 ms CPU (32.1 -> 14.4 ms and 22.7 -> 10.0 ms in the
// same run, bytes unchanged).
//
// # Binary material
//
// Truncation pairs and binary material (AND triples, daBits) are not made here:
// bits fit coefficient encoding poorly (one bit per 64-bit slot, 384 products per
// ciphertext). protocol/ot makes them from OT extension, and protocol.Router
// serves each kind from its source.
//
// # lattigo v2.4.1 pitfalls (measured; each breaks exactness or privacy silently)
//
//  1. drlwe.CKSProtocol.GenShare adds its smudging noise to P*c1*s and divides it
//     away by P: in effect no noise, so shares-to-encryption and
//     encryption-to-shares built on it would encrypt with none. We add the noise
//     ourselves and do not use CKS.
//  2. With one special prime P the key-switch result is off by -1 on some
//     coefficients (harmless for approximate CKKS, fatal for exact triples): we
//     use two special primes.
//  3. A Gaussian whose 6*sigma bound exceeds the smallest prime gives garbage:
//     ours is truncated at 19, far below every prime.
//  4. S2EProtocol.GetEncryption leaves ct.Value[1].IsNTT false on NTT data (we do
//     not use it).
//  5. lattigo's E2S masks only every (N/2)/2^logSlots-th coefficient unless given
//     MaxLogSlots(); we mask exactly the coefficients we decrypt.
//  6. big.Int E2S/S2E are slow: our RNS implementation on the ring API was 1.6x
//     faster overall.
//  7. lattigo objects are not goroutine-safe: one set per worker.
package he
