package ot

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/tessera-mpc/tessera/sharing"
)

// leafCipher expands the GGM leaves of one end of an extension: leaf x's
// stream for batch β is AES-128-CTR under key G_x from the counter β·2^64
// (sharing.NewPRG(G_x, β), bit for bit). The leaves are fixed for the
// session, so their key schedules are expanded once here; a batch then only
// encrypts counters, with many leaves' blocks in flight under their own keys,
// straight into the leaf buffers ssRows folds. Until this version every
// batch opened a sharing.PRG per leaf (a key schedule, a CTR object and
// their allocations, 512 per extension per batch), the largest per-batch
// fixed cost of small batches, and crypto/aes's CTR kept only one key's
// blocks in flight.
//
// Block b's leaves are stored in the order ssRows folds them: position y
// holds leaf y ^ perm[b] (the sender's g[x ^ Delta_b] = G_x; the receiver has
// perm 0).
type leafCipher struct {
	path    leafPath
	keysV   *[ssBlocks][11][ssLeaves][16]byte // pathVAES: round-major
	keys    *[ssBlocks][ssLeaves][11][16]byte // pathAESNI: key-major
	ciphers *[ssBlocks][ssLeaves]cipher.Block // pathPortable
}

// leafPath is how a leafCipher encrypts.
type leafPath int

const (
	pathPortable leafPath = iota // crypto/aes, one block per call
	pathAESNI                    // ctr8KeysAESNI: eight keys, one counter per pass
	pathVAES                     // ctr16KeysVAES: sixteen keys, two counters per pass
	pathVAES512                  // ctr16KeysVAES512: sixteen keys, eight counters per pass
)

// bestLeafPath is the fastest path this CPU has.
func bestLeafPath() leafPath {
	switch {
	case haveVAES512:
		return pathVAES512
	case haveVAES:
		return pathVAES
	case haveAESNI:
		return pathAESNI
	}
	return pathPortable
}

func newLeafCipher(leaves *[ssBlocks][ssLeaves]sharing.Seed, perm func(b int) int) leafCipher {
	return newLeafCipherPath(leaves, perm, bestLeafPath())
}

func newLeafCipherPath(leaves *[ssBlocks][ssLeaves]sharing.Seed, perm func(b int) int, path leafPath) leafCipher {
	lc := leafCipher{path: path}
	switch path {
	case pathVAES, pathVAES512:
		lc.keysV = new([ssBlocks][11][ssLeaves][16]byte)
	case pathAESNI:
		lc.keys = new([ssBlocks][ssLeaves][11][16]byte)
	default:
		lc.ciphers = new([ssBlocks][ssLeaves]cipher.Block)
	}
	var rk [11][16]byte
	for b := range ssBlocks {
		for y := range ssLeaves {
			key := leaves[b][y^perm(b)]
			switch path {
			case pathVAES, pathVAES512:
				expandKey128(key, &rk)
				for r := range rk {
					lc.keysV[b][r][y] = rk[r]
				}
			case pathAESNI:
				expandKey128(key, &lc.keys[b][y])
			default:
				blk, err := aes.NewCipher(key[:])
				if err != nil {
					panic(err) // unreachable: the key size is fixed
				}
				lc.ciphers[b][y] = blk
			}
		}
	}
	return lc
}

// counterBlocks is the counter blocks of one chunk, as the words of their
// bytes (little-endian): block j is the stream index (big-endian, high half)
// and the block number (big-endian, low half), as cipher.NewCTR counts them.
type counterBlocks [ssChunk / 2][2]uint64

// set fills the first nb counters of the given batch from block number first.
func (c *counterBlocks) set(batch, first uint64, nb int) {
	hi := bits.ReverseBytes64(batch)
	for j := range nb {
		c[j] = [2]uint64{hi, bits.ReverseBytes64(first + uint64(j))}
	}
}

// fill writes the nb stream blocks of ctrs into g[y][:2*nb] for every leaf
// position y of block b (16 bytes per block, read as two little-endian
// words, as sharing.PRG.Fill reads them). The VAES paths make an even number
// of blocks, or a multiple of eight: they may also write up to seven blocks
// past nb (there is room: nb <= 32, and counterBlocks holds 32).
func (lc *leafCipher) fill(b int, ctrs *counterBlocks, nb int, g *[ssLeaves][ssChunk]uint64) {
	if nb == 0 {
		return
	}
	out := (*byte)(unsafe.Pointer(&g[0][0]))
	switch lc.path {
	case pathVAES512:
		ctr16KeysVAES512(&lc.keysV[b], &ctrs[0][0], (nb+7)&^7, out)
		return
	case pathVAES:
		ctr16KeysVAES(&lc.keysV[b], &ctrs[0][0], (nb+1)&^1, out)
		return
	case pathAESNI:
		const stride = 8 * ssChunk // bytes from one leaf's buffer to the next
		for half := 0; half < ssLeaves; half += 8 {
			ctr8KeysAESNI((*[8][11][16]byte)(lc.keys[b][half:]), &ctrs[0][0], nb,
				(*byte)(unsafe.Pointer(&g[half][0])), stride)
		}
		return
	}
	var in, blk [16]byte
	for y := range ssLeaves {
		c := lc.ciphers[b][y]
		for j := range nb {
			binary.LittleEndian.PutUint64(in[:8], ctrs[j][0])
			binary.LittleEndian.PutUint64(in[8:], ctrs[j][1])
			c.Encrypt(blk[:], in[:])
			g[y][2*j], g[y][2*j+1] = binary.LittleEndian.Uint64(blk[:8]), binary.LittleEndian.Uint64(blk[8:])
		}
	}
}
